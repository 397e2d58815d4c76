"""The training panel's advanced choices: optimizer details, schedule, early stopping, checkpoint, TensorBoard,
folder images and transfer learning, on two pages ("Options" and "Images & transfer") that the panel shows as tabs.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.common.widgets import hint_label, path_row, select_data
from ml.models.presets import PRESETS
from ml.training.config import PLATEAU_PATIENCE, TrainConfig

SCHEDULES: tuple[tuple[str, str], ...] = (
    ("constant", "Constant"),
    ("plateau", "Reduce on plateau (÷10)"),
    ("cosine", "Cosine decay with warm-up"),
)
SCHEDULE_TIPS = {
    "constant": "The learning rate stays as set.",
    "plateau": f"Divide the learning rate by 10 when validation accuracy stalls for {PLATEAU_PATIENCE} epochs.",
    "cosine": "Warm up over the first epoch, then follow a cosine curve down to zero by the last epoch.",
}
BACKBONE_WEIGHTS: tuple[tuple[str, str], ...] = (
    ("imagenet", "ImageNet (downloaded once)"),
    ("file", "Local weights file…"),
    ("none", "From scratch (random)"),
)
COLOR_MODES: tuple[tuple[str, str], ...] = (("grayscale", "Grayscale"), ("rgb", "RGB"))
FOLDER_DATASET = "folder"
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")
DEFAULT_FOLDER_IMAGE_SIZE = 32
DEFAULT_PATIENCE = 3
WEIGHTS_FILTER = "Keras weights (*.h5 *.weights.h5 *.keras);;All files (*)"
CHECKPOINT_FILTER = "Keras model (*.keras)"


def transfer_presets() -> tuple[str, ...]:
    """The presets with a pretrained backbone (they take ``backbone_weights`` and ``freeze_backbone``)."""
    return tuple(name for name, preset in PRESETS.items() if "backbone_weights" in preset.factory_options)


def default_output_folder() -> Path:
    """Where checkpoints and logs go unless the user picks a place: Documents/Digit Lab."""
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents or Path.home()) / "Digit Lab"


def compact(layout: QGridLayout | QHBoxLayout) -> None:
    """Tight margins and rows inside a group box, so that each tab fits a 1024x700 window's dock."""
    layout.setContentsMargins(6, 2, 6, 4)
    layout.setSpacing(3)
    if isinstance(layout, QGridLayout):
        layout.setHorizontalSpacing(6)


class TrainingOptions(QObject):
    """A view of the TrainConfig fields beyond the basics; ``apply_to`` writes them into a config."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._preset = next(iter(PRESETS))
        self._dataset = "mnist"
        self._optimizer = "adam"
        self._running = False
        self._log_folder: str | None = None
        self._build_run_page()
        self._build_images_page()
        self._connect()
        self.update_enabled()

    # ------------------------------------------------------------------------------------------- building

    def _build_run_page(self) -> None:
        """Optimizer and schedule, early stopping, checkpoint and TensorBoard."""
        self.momentum_spin = QDoubleSpinBox()
        self.momentum_spin.setRange(0.0, 0.999)
        self.momentum_spin.setDecimals(3)
        self.momentum_spin.setSingleStep(0.05)
        self.momentum_spin.setToolTip("Momentum of SGD and RMSprop (Adam has its own).")
        self.nesterov_check = QCheckBox("Nesterov")
        self.nesterov_check.setToolTip("Nesterov momentum (SGD only), as the Fashion-MNIST tutorial uses.")
        self.schedule_combo = QComboBox()
        for name, title in SCHEDULES:
            self.schedule_combo.addItem(title, name)
            self.schedule_combo.setItemData(
                self.schedule_combo.count() - 1, SCHEDULE_TIPS[name], Qt.ItemDataRole.ToolTipRole
            )
        optimizer_grid = QGridLayout()
        compact(optimizer_grid)
        optimizer_grid.setColumnStretch(1, 1)
        optimizer_grid.addWidget(QLabel("Momentum"), 0, 0)
        optimizer_grid.addWidget(self.momentum_spin, 0, 1)
        optimizer_grid.addWidget(self.nesterov_check, 0, 2)
        optimizer_grid.addWidget(QLabel("Schedule"), 1, 0)
        optimizer_grid.addWidget(self.schedule_combo, 1, 1, 1, 2)
        self.mixed_precision_check = QCheckBox("Mixed precision (float16) on GPUs that support it")
        self.mixed_precision_check.setChecked(True)
        self.mixed_precision_check.setToolTip(
            "On GPUs of compute capability 7.0 or higher the model computes in float16 (weights and the final "
            "softmax stay float32), often twice as fast. CPUs and older GPUs train in float32 either way."
        )
        optimizer_grid.addWidget(self.mixed_precision_check, 2, 0, 1, 3)
        self.optimizer_box = QGroupBox("Optimizer and learning rate")
        self.optimizer_box.setLayout(optimizer_grid)

        self.early_stopping_box = QGroupBox("Stop early when validation loss stalls")
        self.early_stopping_box.setCheckable(True)
        self.patience_spin = QSpinBox()
        self.patience_spin.setRange(1, 100)
        self.patience_spin.setSuffix(" epochs")
        self.patience_spin.setToolTip("Stop after this many epochs without a lower validation loss.")
        self.restore_best_check = QCheckBox("Restore the best epoch's weights")
        self.restore_best_check.setChecked(True)
        early_row = QHBoxLayout(self.early_stopping_box)
        compact(early_row)
        early_row.addWidget(QLabel("Patience"))
        early_row.addWidget(self.patience_spin)
        early_row.addSpacing(8)
        early_row.addWidget(self.restore_best_check, 1)

        self.checkpoint_check = QCheckBox("Best model to")
        self.checkpoint_check.setToolTip(
            "After each epoch whose validation accuracy is the best so far, save the model."
        )
        self.checkpoint_edit = QLineEdit()
        self.checkpoint_edit.setPlaceholderText("a .keras file")
        self.checkpoint_edit.setClearButtonEnabled(True)
        self.checkpoint_browse = QPushButton("…")
        self.checkpoint_browse.setToolTip("Choose the checkpoint file")
        self.tensorboard_check = QCheckBox("TensorBoard logs in")
        self.tensorboard_check.setToolTip("Write each epoch's loss, accuracy and learning rate for TensorBoard.")
        self.tensorboard_edit = QLineEdit()
        self.tensorboard_edit.setPlaceholderText("a folder (one per run inside)")
        self.tensorboard_edit.setToolTip("A folder for the logs; each run writes its own subfolder in it.")
        self.tensorboard_edit.setClearButtonEnabled(True)
        self.tensorboard_browse = QPushButton("…")
        self.tensorboard_browse.setToolTip("Choose the log folder")
        self.open_log_button = QPushButton("Open log folder")
        self.open_log_button.setToolTip("Open the run's TensorBoard folder (view it with: tensorboard --logdir FOLDER)")
        for button in (self.checkpoint_browse, self.tensorboard_browse):
            button.setFixedWidth(32)
        output_grid = QGridLayout()
        compact(output_grid)
        output_grid.setColumnStretch(1, 1)
        output_grid.addWidget(self.checkpoint_check, 0, 0)
        output_grid.addLayout(path_row(self.checkpoint_edit, self.checkpoint_browse), 0, 1)
        output_grid.addWidget(self.tensorboard_check, 1, 0)
        output_grid.addLayout(path_row(self.tensorboard_edit, self.tensorboard_browse), 1, 1)
        output_grid.addWidget(self.open_log_button, 2, 1, Qt.AlignmentFlag.AlignRight)
        self.output_box = QGroupBox("Save and log")
        self.output_box.setLayout(output_grid)

        self.run_page = QWidget()
        layout = QVBoxLayout(self.run_page)
        layout.setContentsMargins(4, 4, 4, 2)
        layout.setSpacing(3)
        layout.addWidget(self.optimizer_box)
        layout.addWidget(self.early_stopping_box)
        layout.addWidget(self.output_box)
        layout.addStretch(1)

    def _build_images_page(self) -> None:
        """Folder image size and colour; transfer-learning backbone weights and freezing."""
        self.image_size_spin = QSpinBox()
        self.image_size_spin.setRange(8, 512)
        self.image_size_spin.setSuffix(" px")
        self.image_size_spin.setValue(DEFAULT_FOLDER_IMAGE_SIZE)
        self.image_size_spin.setToolTip("Folder images are resized to squares of this size.")
        self.color_combo = QComboBox()
        for name, title in COLOR_MODES:
            self.color_combo.addItem(title, name)
        folder_grid = QGridLayout()
        compact(folder_grid)
        folder_grid.setColumnStretch(1, 1)
        folder_grid.setColumnStretch(3, 1)
        folder_grid.addWidget(QLabel("Image size"), 0, 0)
        folder_grid.addWidget(self.image_size_spin, 0, 1)
        folder_grid.addWidget(QLabel("Colour"), 0, 2)
        folder_grid.addWidget(self.color_combo, 0, 3)
        self.folder_hint = hint_label("For image-folder datasets (Setup → Dataset → Image folder).")
        folder_grid.addWidget(self.folder_hint, 1, 0, 1, 4)
        self.folder_box = QGroupBox("Folder images")
        self.folder_box.setLayout(folder_grid)

        self.weights_combo = QComboBox()
        for name, title in BACKBONE_WEIGHTS:
            self.weights_combo.addItem(title, name)
        self.weights_file_edit = QLineEdit()
        self.weights_file_edit.setPlaceholderText("the backbone's 'notop' .h5 weights")
        self.weights_file_edit.setClearButtonEnabled(True)
        self.weights_browse = QPushButton("…")
        self.weights_browse.setFixedWidth(32)
        self.weights_browse.setToolTip("Choose a local weights file")
        self.freeze_check = QCheckBox("Freeze the backbone (train only the new head)")
        self.freeze_check.setChecked(True)
        transfer_grid = QGridLayout()
        compact(transfer_grid)
        transfer_grid.setColumnStretch(1, 1)
        transfer_grid.addWidget(QLabel("Weights"), 0, 0)
        transfer_grid.addWidget(self.weights_combo, 0, 1)
        transfer_grid.addWidget(QLabel("File"), 1, 0)
        transfer_grid.addLayout(path_row(self.weights_file_edit, self.weights_browse), 1, 1)
        transfer_grid.addWidget(self.freeze_check, 2, 0, 1, 2)
        self.transfer_hint = hint_label("For the VGG16 and MobileNetV2 presets (Setup → Model).")
        transfer_grid.addWidget(self.transfer_hint, 3, 0, 1, 2)
        self.transfer_box = QGroupBox("Transfer learning")
        self.transfer_box.setLayout(transfer_grid)

        self.images_page = QWidget()
        layout = QVBoxLayout(self.images_page)
        layout.setContentsMargins(4, 4, 4, 2)
        layout.setSpacing(3)
        layout.addWidget(self.folder_box)
        layout.addWidget(self.transfer_box)
        layout.addStretch(1)

    def _connect(self) -> None:
        """Every change is announced (the panel saves settings); some change what else is enabled."""
        self.momentum_spin.valueChanged.connect(self._on_changed)
        self.image_size_spin.valueChanged.connect(self._on_changed)
        self.patience_spin.valueChanged.connect(self._on_changed)
        for combo in (self.schedule_combo, self.color_combo):
            combo.currentIndexChanged.connect(self._on_changed)
        for check in (self.nesterov_check, self.restore_best_check, self.freeze_check, self.early_stopping_box):
            check.toggled.connect(self._on_changed)
        for edit in (self.checkpoint_edit, self.tensorboard_edit, self.weights_file_edit):
            edit.editingFinished.connect(self._on_changed)
        self.checkpoint_check.toggled.connect(self._on_checkpoint_toggled)
        self.tensorboard_check.toggled.connect(self._on_tensorboard_toggled)
        self.weights_combo.currentIndexChanged.connect(self._on_weights_changed)
        self.weights_combo.activated.connect(self._on_weights_chosen)  # the user's choice only
        self.checkpoint_browse.clicked.connect(self._on_checkpoint_browse_clicked)
        self.tensorboard_browse.clicked.connect(self._on_tensorboard_browse_clicked)
        self.weights_browse.clicked.connect(self._on_weights_browse_clicked)
        self.open_log_button.clicked.connect(self._on_open_log_folder_clicked)

    # ------------------------------------------------------------------------------------------- public API

    @property
    def is_transfer_preset(self) -> bool:
        """True when the chosen preset has a pretrained backbone."""
        return self._preset in transfer_presets()

    @property
    def log_folder(self) -> str | None:
        """The folder "Open log folder" opens (the run's TensorBoard folder), or None."""
        return self._log_folder

    def set_context(self, preset: str, dataset: str, optimizer: str) -> None:
        """The panel's current preset, dataset choice ("folder" for an image folder) and optimizer."""
        self._preset, self._dataset, self._optimizer = preset, dataset, optimizer
        self.update_enabled()

    def set_running(self, running: bool) -> None:
        """Lock the choices during a run ("Open log folder" stays usable)."""
        self._running = running
        self.update_enabled()

    def apply_preset_defaults(self, preset: str) -> None:
        """Show the preset's momentum, Nesterov, schedule and early stopping (what its tutorial used)."""
        defaults = PRESETS[preset].defaults
        self.momentum_spin.setValue(float(defaults.get("momentum", 0.0)))
        self.nesterov_check.setChecked(bool(defaults.get("nesterov", False)))
        select_data(self.schedule_combo, str(defaults.get("schedule", "constant")))
        patience = int(defaults.get("early_stopping_patience") or 0)
        self.early_stopping_box.setChecked(patience > 0)
        self.patience_spin.setValue(patience or DEFAULT_PATIENCE)

    def set_backbone_weights(self, weights: str) -> None:
        """Use ``"imagenet"``, ``"none"`` (from scratch) or a weights file for the next run."""
        if weights.lower() in ("imagenet", "none"):
            select_data(self.weights_combo, weights.lower())
        else:
            self.weights_file_edit.setText(weights)
            select_data(self.weights_combo, "file")
        self.freeze_check.setChecked(weights.lower() != "none")  # pretrained: frozen; random: trained
        self.changed.emit()

    def problem(self) -> str | None:
        """Why the options cannot start a run (a path left empty), or None."""
        if self.checkpoint_check.isChecked() and not self.checkpoint_edit.text().strip():
            return "Choose the checkpoint file (Options → Save and log), or untick it."
        if self.tensorboard_check.isChecked() and not self.tensorboard_edit.text().strip():
            return "Choose the TensorBoard log folder (Options → Save and log), or untick it."
        if self.is_transfer_preset and self.weights_combo.currentData() == "file":
            if not self.weights_file_edit.text().strip():
                return "Choose the backbone weights file (Images & transfer), or other weights."
        return None

    def apply_to(self, config: TrainConfig) -> TrainConfig:
        """``config`` with these options written into it (folder and transfer options only where they apply)."""
        folder = self._dataset == FOLDER_DATASET
        transfer = self.is_transfer_preset
        return replace(
            config,
            momentum=self.momentum_spin.value(),
            nesterov=self.nesterov_check.isChecked(),
            schedule=self.schedule_combo.currentData(),
            early_stopping_patience=self.patience_spin.value() if self.early_stopping_box.isChecked() else 0,
            restore_best_weights=self.restore_best_check.isChecked(),
            checkpoint_path=self._checked_path(self.checkpoint_check, self.checkpoint_edit),
            tensorboard_dir=self._checked_path(self.tensorboard_check, self.tensorboard_edit),
            image_size=self.image_size_spin.value() if folder else None,
            color_mode=self.color_combo.currentData() if folder else "grayscale",
            backbone_weights=self._backbone_weights() if transfer else None,
            freeze_backbone=self.freeze_check.isChecked() if transfer else None,
            mixed_precision=None if self.mixed_precision_check.isChecked() else False,
        )

    def show_config(self, config: TrainConfig) -> None:
        """Make the options show a (resolved) config that was started from code."""
        self.momentum_spin.setValue(float(config.momentum or 0.0))
        self.nesterov_check.setChecked(bool(config.nesterov))
        select_data(self.schedule_combo, str(config.schedule or "constant"))
        patience = int(config.early_stopping_patience or 0)
        self.early_stopping_box.setChecked(patience > 0)
        if patience:
            self.patience_spin.setValue(patience)
        self.restore_best_check.setChecked(bool(config.restore_best_weights))
        self._show_path(self.checkpoint_check, self.checkpoint_edit, config.checkpoint_path)
        self._show_path(self.tensorboard_check, self.tensorboard_edit, config.tensorboard_dir)
        if config.image_size:
            self.image_size_spin.setValue(int(config.image_size))
        select_data(self.color_combo, config.color_mode)
        if config.backbone_weights is not None:
            self.set_backbone_weights(config.backbone_weights)
        if config.freeze_backbone is not None:
            self.freeze_check.setChecked(bool(config.freeze_backbone))
        self.mixed_precision_check.setChecked(config.mixed_precision is not False)

    def set_log_folder(self, folder: str | None) -> None:
        """The folder "Open log folder" opens; the button is enabled while that folder exists."""
        self._log_folder = folder
        self.update_enabled()

    @property
    def setting_widgets(self) -> list[QWidget]:
        """The widgets a run locks."""
        return [
            self.momentum_spin,
            self.nesterov_check,
            self.schedule_combo,
            self.mixed_precision_check,
            self.early_stopping_box,
            self.checkpoint_check,
            self.checkpoint_edit,
            self.checkpoint_browse,
            self.tensorboard_check,
            self.tensorboard_edit,
            self.tensorboard_browse,
            self.image_size_spin,
            self.color_combo,
            self.weights_combo,
            self.weights_file_edit,
            self.weights_browse,
            self.freeze_check,
        ]

    # ------------------------------------------------------------------------------------------- helpers

    @staticmethod
    def _checked_path(check: QCheckBox, edit: QLineEdit) -> str | None:
        text = edit.text().strip()
        return text if check.isChecked() and text else None

    @staticmethod
    def _show_path(check: QCheckBox, edit: QLineEdit, path: str | None) -> None:
        check.setChecked(bool(path))
        if path:
            edit.setText(path)

    def _backbone_weights(self) -> str:
        choice = self.weights_combo.currentData()
        return self.weights_file_edit.text().strip() if choice == "file" else choice

    def update_enabled(self) -> None:
        """Enable what applies to the preset, dataset and optimizer; lock everything during a run."""
        idle = not self._running
        self.momentum_spin.setEnabled(idle and self._optimizer in MOMENTUM_OPTIMIZERS)
        self.nesterov_check.setEnabled(idle and self._optimizer == "sgd")
        self.schedule_combo.setEnabled(idle)
        self.mixed_precision_check.setEnabled(idle)
        self.early_stopping_box.setEnabled(idle)
        for check, edit, browse in (
            (self.checkpoint_check, self.checkpoint_edit, self.checkpoint_browse),
            (self.tensorboard_check, self.tensorboard_edit, self.tensorboard_browse),
        ):
            check.setEnabled(idle)
            edit.setEnabled(idle and check.isChecked())
            browse.setEnabled(idle and check.isChecked())
        folder = self._dataset == FOLDER_DATASET
        self.image_size_spin.setEnabled(idle and folder)
        self.color_combo.setEnabled(idle and folder)
        self.folder_hint.setVisible(not folder)
        transfer = self.is_transfer_preset
        self.weights_combo.setEnabled(idle and transfer)
        uses_file = transfer and self.weights_combo.currentData() == "file"
        self.weights_file_edit.setEnabled(idle and uses_file)
        self.weights_browse.setEnabled(idle and uses_file)
        self.freeze_check.setEnabled(idle and transfer)
        self.transfer_hint.setVisible(not transfer)
        self.open_log_button.setEnabled(bool(self._log_folder) and Path(self._log_folder).is_dir())

    # ------------------------------------------------------------------------------------------- handlers

    @Slot()
    def _on_changed(self) -> None:
        self.changed.emit()

    @Slot(bool)
    def _on_checkpoint_toggled(self, checked: bool) -> None:
        """Ticking the checkpoint suggests a file, so one click is enough."""
        if checked and not self.checkpoint_edit.text().strip():
            self.checkpoint_edit.setText(str(default_output_folder() / "best-checkpoint.keras"))
        self.update_enabled()
        self.changed.emit()

    @Slot(bool)
    def _on_tensorboard_toggled(self, checked: bool) -> None:
        """Ticking TensorBoard suggests a log folder, so one click is enough."""
        if checked and not self.tensorboard_edit.text().strip():
            self.tensorboard_edit.setText(str(default_output_folder() / "logs"))
        self.update_enabled()
        self.changed.emit()

    @Slot(int)
    def _on_weights_changed(self, index: int) -> None:
        self.update_enabled()
        self.changed.emit()

    @Slot(int)
    def _on_weights_chosen(self, index: int) -> None:
        """Pretrained weights are frozen by default; random ones train."""
        self.freeze_check.setChecked(self.weights_combo.itemData(index) != "none")

    @Slot()
    def _on_checkpoint_browse_clicked(self) -> None:
        start = self.checkpoint_edit.text().strip() or str(default_output_folder() / "best-checkpoint.keras")
        path, _ = QFileDialog.getSaveFileName(self.run_page, "Save the best model to", start, CHECKPOINT_FILTER)
        if path:
            self.checkpoint_edit.setText(path if path.endswith(".keras") else path + ".keras")
            self.changed.emit()

    @Slot()
    def _on_tensorboard_browse_clicked(self) -> None:
        start = self.tensorboard_edit.text().strip() or str(default_output_folder())
        folder = QFileDialog.getExistingDirectory(self.run_page, "TensorBoard log folder", start)
        if folder:
            self.tensorboard_edit.setText(folder)
            self.changed.emit()

    @Slot()
    def _on_weights_browse_clicked(self) -> None:
        self.choose_weights_file()

    def choose_weights_file(self) -> bool:
        """Ask for a local backbone weights file; True when one was chosen (and selected)."""
        start = self.weights_file_edit.text().strip() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self.images_page, "Backbone weights file", start, WEIGHTS_FILTER)
        if path:
            self.set_backbone_weights(path)
        return bool(path)

    @Slot()
    def _on_open_log_folder_clicked(self) -> None:
        """Open the run's log folder in the file manager."""
        if self._log_folder:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self._log_folder))
