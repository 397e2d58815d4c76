"""What to train: dataset, preset, hyperparameters and the advanced options, remembered between sessions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.common.widgets import ElidedComboBox, ElidedLabel, LearningRateSpinBox, select_data
from app.train.augmentation_preview import AugmentationPreviewDialog
from app.train.options_form import FOLDER_DATASET, TrainingOptions
from app.train.parameter_counter import ParameterCounter, model_input
from app.train.preset_texts import command_name, preset_caption, preset_for_dataset, preset_tooltip
from app.train.setup_settings import restore_setup, save_setup
from ml.data.datasets import DATASET_NAMES, DEFAULT_VALIDATION_FRACTION, DEFAULT_VALIDATION_SIZE
from ml.data.sources import fashion_mnist_downloaded
from ml.models.presets import PRESETS, format_parameter_count
from ml.training.config import TrainConfig

# The datasets come from DATASET_NAMES (the one list); these are only their labels (the name when missing).
DATASET_LABELS: dict[str, str] = {
    "mnist": "MNIST digits (bundled)",
    "fashion-mnist": "Fashion-MNIST (your files)",
    "sklearn-digits": "scikit-learn 8x8 digits",
}
FILE_DATASETS = ("mnist", "fashion-mnist")  # datasets that read an optional/required file (TrainConfig.data_file)
LARGE_DATASETS = ("mnist", "fashion-mnist")  # 60 000 training images: validation is a count, else a percentage
DATA_PATH_HINTS: dict[str, str] = {
    "mnist": "bundled copy, or a .npz / IDX .gz file",
    "fashion-mnist": "downloaded once, or Browse… for your .npz or one of its 4 IDX .gz files",
    FOLDER_DATASET: "choose a folder with one subfolder per class",
}
FASHION_MNIST_NOT_HERE = "not on this computer yet: Start downloads it (30 MB), or Browse… for your files"
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd", "rmsprop")
DEFAULT_VALIDATION_PERCENT = round(DEFAULT_VALIDATION_FRACTION * 100)
FALLBACK_PRESET_DEFAULTS: dict[str, Any] = {
    "epochs": 10,
    "batch_size": 128,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "augment": False,
}
SETUP_WIDTH = 450


class SetupForm(QWidget):
    """A view of the :class:`TrainConfig` a run will get: the Setup, Options and Images & transfer tabs."""

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.active_model_path: str | None = None
        self._active_model_name = ""
        self._locked = False
        self.augmentation_preview: AugmentationPreviewDialog | None = None
        self.parameter_counter = ParameterCounter(self)
        self._parameter_counting_scheduled = False
        self._build_controls()
        self._build_layout()
        restore_setup(self)
        self._connect_controls()
        self.set_locked(False)

    # ------------------------------------------------------------------------------------------- building

    def _build_controls(self) -> None:
        """Create the setting widgets and the advanced options."""
        self.dataset_combo = QComboBox()
        for name in DATASET_NAMES:
            self.dataset_combo.addItem(DATASET_LABELS.get(name, name), name)
        self.dataset_combo.addItem("Image folder (a subfolder per class)", FOLDER_DATASET)
        self.data_path_edit = QLineEdit()
        self.data_path_edit.setClearButtonEnabled(True)
        self.browse_button = QPushButton("Browse…")
        self.preset_combo = ElidedComboBox()  # long titles end in "…" rather than being cut
        self.preset_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setMinimumContentsLength(24)
        for name, preset in PRESETS.items():
            self.preset_combo.addItem(preset.title, name)
            self.preset_combo.setItemData(
                self.preset_combo.count() - 1, preset_tooltip(name), Qt.ItemDataRole.ToolTipRole
            )
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 1000)
        self.batch_size_spin = QSpinBox()
        self.batch_size_spin.setRange(1, 8192)
        self.batch_size_spin.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.learning_rate_spin = LearningRateSpinBox()
        self.learning_rate_hint = ElidedLabel()  # what the field made of an out-of-range entry; hidden until then
        self.learning_rate_hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.learning_rate_hint.setVisible(False)
        self.optimizer_combo = QComboBox()
        for name in OPTIMIZERS:
            self.optimizer_combo.addItem(name, name)
        self.validation_spin = QSpinBox()
        self.validation_unit_combo = QComboBox()
        self.validation_unit_combo.addItem("images", "images")
        self.validation_unit_combo.addItem("% of training", "%")
        self.training_limit_spin = QSpinBox()
        self.training_limit_spin.setRange(0, 60000)
        self.training_limit_spin.setSingleStep(1000)
        self.training_limit_spin.setSpecialValueText("all images")
        self.training_limit_spin.setSuffix(" images")
        self.training_limit_spin.setToolTip("Train on the first N training images only, for a quick run.")
        self.augment_check = QCheckBox("Augment images")
        self.augment_check.setToolTip("Randomly rotate, shift, zoom and thicken training images (image datasets).")
        self.preview_button = QPushButton("Preview…")
        self.preview_button.setToolTip("See training images of the chosen dataset with random augmentations")
        self.preset_caption = ElidedLabel()  # no word wrap: it would make the dock scroll; lines end in "…" instead
        self.preset_caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        caption_font = self.preset_caption.font()
        caption_font.setPointSizeF(caption_font.pointSizeF() * 0.92)
        self.preset_caption.setFont(caption_font)
        self.preset_caption.setMinimumHeight(2 * self.preset_caption.fontMetrics().lineSpacing())
        self.fine_tune_check = QCheckBox("Continue training the active model")
        self.fine_tune_check.setToolTip(
            "Train the active model's own weights further (fine-tune) instead of a new model of the chosen preset; "
            "the preset still supplies the training defaults."
        )
        self.options = TrainingOptions(self)
        self.setting_widgets: list[QWidget] = [
            self.dataset_combo,
            self.data_path_edit,
            self.browse_button,
            self.preset_combo,
            self.epochs_spin,
            self.batch_size_spin,
            self.learning_rate_spin,
            self.optimizer_combo,
            self.validation_spin,
            self.validation_unit_combo,
            self.training_limit_spin,
            self.augment_check,
        ]  # the options lock their own widgets, and the fine-tune box needs an active model as well

    def _build_layout(self) -> None:
        """The settings in a compact grid on the Setup tab, beside the options' two tabs."""
        grid = QGridLayout()
        grid.setContentsMargins(6, 4, 6, 2)  # compact: the whole form fits a 1024x700 window's dock
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        data_row = QHBoxLayout()
        data_row.setSpacing(4)
        data_row.addWidget(self.data_path_edit, 1)
        data_row.addWidget(self.browse_button)
        validation_row = QHBoxLayout()
        validation_row.setSpacing(4)
        validation_row.addWidget(self.validation_spin, 1)
        validation_row.addWidget(self.validation_unit_combo, 1)
        augment_row = QHBoxLayout()
        augment_row.setSpacing(4)
        augment_row.addWidget(self.augment_check, 1)
        augment_row.addWidget(self.preview_button)
        rows: list[tuple[str, QWidget | QHBoxLayout, str, QWidget | QHBoxLayout | None]] = [
            ("Data&set", self.dataset_combo, "", None),  # mnemonics: Alt+letter, none shared with the menus
            ("D&ata", data_row, "", None),
            ("M&odel", self.preset_combo, "", None),
            ("", self.preset_caption, "", None),
            ("", self.fine_tune_check, "", None),
            ("E&pochs", self.epochs_spin, "&Batch size", self.batch_size_spin),
            ("Optimi&zer", self.optimizer_combo, "&Learning rate", self.learning_rate_spin),
            ("", self.learning_rate_hint, "", None),
            ("Valida&tion", validation_row, "", None),
            ("T&rain on", self.training_limit_spin, "", augment_row),
        ]
        buddies = {"D&ata": self.data_path_edit, "Valida&tion": self.validation_spin}
        for row, (label, field, second_label, second_field) in enumerate(rows):
            if label:  # none for a row without one: the hidden hint's row then takes no height
                label_widget = QLabel(label)
                label_widget.setBuddy(buddies.get(label, field if isinstance(field, QWidget) else None))
                grid.addWidget(label_widget, row, 0)
            span = 1 if second_field is not None else 3
            if isinstance(field, QHBoxLayout):
                grid.addLayout(field, row, 1, 1, span)
            else:
                grid.addWidget(field, row, 1, 1, span)
            if second_label:
                second_label_widget = QLabel(second_label)
                second_label_widget.setBuddy(second_field)
                grid.addWidget(second_label_widget, row, 2)
                grid.addWidget(second_field, row, 3)
            elif isinstance(second_field, QHBoxLayout):
                grid.addLayout(second_field, row, 2, 1, 2)
            elif second_field is not None:
                grid.addWidget(second_field, row, 2, 1, 2)
        grid.setRowStretch(len(rows), 1)
        setup_page = QWidget()
        setup_page.setLayout(grid)
        self.setup_tabs = QTabWidget()
        self.setup_tabs.setDocumentMode(True)
        self.setup_tabs.addTab(setup_page, "Setup")
        self.setup_tabs.addTab(self.options.run_page, "Options")
        self.setup_tabs.addTab(self.options.images_page, "Images && transfer")
        self.setup_tabs.setFixedWidth(SETUP_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.setup_tabs)

    def _connect_controls(self) -> None:
        """Wire the choices, the preset picker and settings persistence."""
        self.preset_combo.currentIndexChanged.connect(self._on_preset_chosen)
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset_chosen)
        self.browse_button.clicked.connect(self._on_browse_clicked)
        self.data_path_edit.editingFinished.connect(self.save_settings)
        self.validation_unit_combo.currentIndexChanged.connect(self._on_validation_unit_changed)
        for spin in (self.epochs_spin, self.batch_size_spin, self.validation_spin, self.training_limit_spin):
            spin.valueChanged.connect(self.save_settings)
        self.learning_rate_spin.valueChanged.connect(self.save_settings)
        self.learning_rate_spin.corrected.connect(self._on_learning_rate_corrected)
        self.optimizer_combo.currentIndexChanged.connect(self._on_optimizer_chosen)
        self.augment_check.toggled.connect(self.save_settings)
        self.preview_button.clicked.connect(self._on_preview_clicked)
        self.fine_tune_check.toggled.connect(self._on_fine_tune_toggled)
        self.data_path_edit.editingFinished.connect(self.update_options_context)
        self.options.changed.connect(self.save_settings)
        self.options.changed.connect(self.update_options_context)
        self.parameter_counter.counted.connect(self._on_parameters_counted)

    # ------------------------------------------------------------------------------------------- choices

    def apply_preset_defaults(self, name: str) -> None:
        """Fill epochs, batch size, learning rate, optimizer and augmentation from the preset's defaults."""
        preset = PRESETS[name]
        defaults = {**FALLBACK_PRESET_DEFAULTS, **preset.defaults}
        self.epochs_spin.setValue(int(defaults["epochs"]))
        self.batch_size_spin.setValue(int(defaults["batch_size"]))
        self.learning_rate_spin.setValue(float(defaults["learning_rate"]))
        select_data(self.optimizer_combo, str(defaults["optimizer"]))
        self.augment_check.setChecked(bool(defaults["augment"]))
        self.preset_combo.setToolTip(preset_tooltip(name))
        self.options.apply_preset_defaults(name)
        self.update_options_context()

    def set_validation_unit(self, unit: str) -> None:
        """Switch the validation field between a number of images and a percentage."""
        if unit == "%":
            self.validation_spin.setRange(0, 50)
            self.validation_spin.setSingleStep(5)
            self.validation_spin.setSuffix(" %")
        else:
            self.validation_spin.setRange(0, 50000)
            self.validation_spin.setSingleStep(500)
            self.validation_spin.setSuffix("")

    @Slot(str)
    def _on_learning_rate_corrected(self, message: str) -> None:
        """Say under the learning-rate field what it made of an out-of-range entry (nothing once one goes through)."""
        self.learning_rate_hint.setText(message)
        self.learning_rate_hint.setVisible(bool(message))

    @Slot()
    def save_settings(self) -> None:
        """Remember the current training choices in QSettings."""
        save_setup(self)

    @Slot(int)
    def _on_preset_chosen(self, index: int) -> None:
        """A preset was picked: fill its defaults and remember the choice."""
        self.apply_preset_defaults(self.preset_combo.itemData(index))
        self.save_settings()

    @Slot(int)
    def _on_dataset_chosen(self, index: int) -> None:
        """A dataset was picked: show what its data field takes and use its default validation split."""
        choice = self.dataset_combo.itemData(index)
        self.data_path_edit.clear()
        self.update_data_row()
        fitting = preset_for_dataset(self.preset_combo.currentData(), choice)
        if fitting != self.preset_combo.currentData():
            select_data(self.preset_combo, fitting)  # applies its defaults
        large = choice in LARGE_DATASETS
        select_data(self.validation_unit_combo, "images" if large else "%")
        self.set_validation_unit("images" if large else "%")
        self.validation_spin.setValue(DEFAULT_VALIDATION_SIZE if large else DEFAULT_VALIDATION_PERCENT)
        self.update_options_context()
        self.save_settings()

    @Slot(int)
    def _on_optimizer_chosen(self, index: int) -> None:
        """An optimizer was picked: momentum and Nesterov apply to some only."""
        self.update_options_context()
        self.save_settings()

    @Slot()
    def update_options_context(self) -> None:
        """Tell the options what applies (preset, dataset, optimizer) and refresh the preset caption."""
        self.options.set_context(
            self.preset_combo.currentData(), self.dataset_combo.currentData(), self.optimizer_combo.currentData()
        )
        if self._parameter_counting_scheduled:
            self.count_parameters()
        for name in PRESETS:  # counts for another dataset's input would be stale: show this one's, or none yet
            self._show_preset_title(name)
        self._show_preset_caption()

    def update_data_row(self) -> None:
        """Enable the data field for datasets that read a file or folder, with a hint of what it takes."""
        choice = self.dataset_combo.currentData()
        hint = DATA_PATH_HINTS.get(choice, "built in: nothing to choose")
        if choice == "fashion-mnist" and not fashion_mnist_downloaded():
            hint = FASHION_MNIST_NOT_HERE  # Start still works online; offline, the run says to Browse…
        self.data_path_edit.setPlaceholderText(hint)
        self.data_path_edit.setToolTip(hint)
        uses_path = choice in DATA_PATH_HINTS
        self.data_path_edit.setEnabled(uses_path and not self._locked)
        self.browse_button.setEnabled(uses_path and not self._locked)

    @Slot()
    def _on_browse_clicked(self) -> None:
        """Ask for the dataset's file (MNIST-style datasets) or folder (image folders)."""
        start = self.data_path_edit.text().strip() or str(Path.home())
        if self.dataset_combo.currentData() == FOLDER_DATASET:
            path = QFileDialog.getExistingDirectory(self, "Image folder (one subfolder per class)", start)
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, "Dataset file", start, "MNIST-style data (*.npz *.gz);;All files (*)"
            )
        if path:
            self.data_path_edit.setText(path)
            self.update_options_context()
            self.save_settings()

    @Slot(int)
    def _on_validation_unit_changed(self, index: int) -> None:
        """Switch the validation amount between images and a percentage, starting from that unit's default."""
        unit = self.validation_unit_combo.itemData(index)
        self.set_validation_unit(unit)
        self.validation_spin.setValue(DEFAULT_VALIDATION_PERCENT if unit == "%" else DEFAULT_VALIDATION_SIZE)
        self.save_settings()

    def training_config(self) -> TrainConfig:
        """The :class:`TrainConfig` the controls describe (preset defaults fill what the panel does not show)."""
        amount = self.validation_spin.value()
        validation_size: int | float = amount / 100.0 if self.validation_unit_combo.currentData() == "%" else amount
        limit = self.training_limit_spin.value()
        choice = self.dataset_combo.currentData()
        path = self.data_path_edit.text().strip() or None
        config = TrainConfig(
            preset=self.preset_combo.currentData(),
            dataset=(path or "") if choice == FOLDER_DATASET else choice,
            data_file=path if choice in FILE_DATASETS else None,
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_size_spin.value(),
            learning_rate=self.learning_rate_spin.value(),
            optimizer=self.optimizer_combo.currentData(),
            validation_size=validation_size,
            augment=self.augment_check.isChecked(),
            max_train_samples=limit or None,
        )
        config = self.options.apply_to(config)
        if self.fine_tune_check.isChecked() and self.active_model_path:
            config = replace(config, fine_tune_from=self.active_model_path)
        return config

    def problem(self, config: TrainConfig) -> str | None:
        """Why ``config`` cannot start, in the form's words; None when it can."""
        if not config.dataset:
            return "Choose the image folder to train on (Browse…)."
        if config.fine_tune_from and not Path(config.fine_tune_from).is_file():
            return f"The active model's file {config.fine_tune_from} no longer exists."
        return None

    def set_locked(self, locked: bool) -> None:
        """Lock the choices while a run uses them (the preview stays available)."""
        self._locked = locked
        for widget in self.setting_widgets:
            widget.setEnabled(not locked)
        self.update_data_row()
        self.options.set_running(locked)
        self.fine_tune_check.setEnabled(bool(self.active_model_path) and not locked)

    def shutdown(self, timeout_ms: int) -> None:
        """Remember the choices and end the helper threads (parameter counts, augmentation preview)."""
        self.save_settings()
        self.parameter_counter.shutdown(timeout_ms)
        if self.augmentation_preview is not None:
            self.augmentation_preview.shutdown(timeout_ms)

    # ------------------------------------------------------------------------------------------- active model

    def set_active_model(self, path: str | None, display_name: str) -> None:
        """The window's active model and its file: what "Continue training the active model" trains further.

        The first call also starts counting the presets' parameters: TensorFlow has loaded by then.
        """
        self.active_model_path = path
        self._active_model_name = display_name
        self.fine_tune_check.setToolTip(  # the name can be long: the caption and the tooltip say it, not the box
            f"Train {display_name}'s own weights further (fine-tune) instead of a new model of the chosen preset; "
            "the preset still supplies the training defaults."
            if display_name
            else "Train the active model's own weights further instead of a new model of the chosen preset."
        )
        if not path:
            self.fine_tune_check.setChecked(False)
        self.fine_tune_check.setEnabled(bool(path) and not self._locked)
        if not self._parameter_counting_scheduled:
            self.count_parameters()
        self._show_preset_caption()  # names the model a checked "Continue training" now continues

    @Slot(bool)
    def _on_fine_tune_toggled(self, checked: bool) -> None:
        """Fine-tuning keeps the active model's architecture; the preset then only supplies training defaults."""
        self._show_preset_caption()
        self.save_settings()

    # ------------------------------------------------------------------------------------------- presets

    @Slot()
    def count_parameters(self) -> None:
        """Count every preset's parameters for the chosen dataset's input, the chosen preset first (in a worker).

        Each count builds a Keras model, so this never runs at start-up: the window asks once its first model has
        loaded (``set_active_model``); from then on a changed dataset or preset counts what is missing.
        """
        self._parameter_counting_scheduled = True
        chosen = self.preset_combo.currentData()
        names = [chosen, *(name for name in PRESETS if name != chosen)]
        self.parameter_counter.request([self._count_key(name) for name in names])
        self._show_preset_caption()

    def _count_key(self, name: str) -> tuple[str, tuple[int, ...], int]:
        """The preset, input shape and class count that the current dataset choice gives."""
        shape, classes = model_input(
            name,
            self.dataset_combo.currentData(),
            self.data_path_edit.text().strip() or None,
            self.options.image_size_spin.value(),
            self.options.color_combo.currentData(),
        )
        return name, shape, classes

    @Slot(str)
    def _on_parameters_counted(self, name: str) -> None:
        """Show a newly counted preset's parameters in the picker and, if chosen, under it."""
        self._show_preset_title(name)
        self._show_preset_caption()

    def _show_preset_title(self, name: str) -> None:
        """The preset's title in the picker, with its parameter count for the current dataset once counted."""
        index = self.preset_combo.findData(name)
        if index < 0:
            return
        key = self._count_key(name)
        count = self.parameter_counter.parameters(key) if self.parameter_counter.is_known(key) else None
        suffix = f"  ·  {format_parameter_count(count)}" if count is not None else ""
        self.preset_combo.setItemText(index, PRESETS[name].title + suffix)

    def _show_preset_caption(self) -> None:
        """The chosen preset's tutorial figure and parameter count (or that the active model is continued)."""
        name = self.preset_combo.currentData()
        if name is None:
            return
        if self.fine_tune_check.isChecked() and self.active_model_path:
            self._set_caption(
                f"Continues {self._active_model_name} (its own layers and weights)\n"
                "The preset above lends epochs, batch size and learning rate"
            )
            return
        key = self._count_key(name)
        if not self._parameter_counting_scheduled:  # TensorFlow is not up yet: nothing is counted
            self._set_caption(f"{preset_caption(name, None, True).splitlines()[0]}\n{command_name(name)}")
            return
        self._set_caption(
            preset_caption(name, self.parameter_counter.parameters(key), self.parameter_counter.is_known(key))
        )

    def _set_caption(self, text: str) -> None:
        """Show ``text`` under the preset picker; each line is elided to the column (the full text as tooltip)."""
        self.preset_caption.setText(text)

    # ------------------------------------------------------------------------------------------- augmentation

    def augmentation_source(self) -> dict[str, Any]:
        """The dataset the augmentation preview shows: the chosen one (MNIST while no folder is chosen)."""
        config = self.training_config()
        if not config.dataset:
            return {"dataset": "mnist", "data_file": None, "image_size": None, "color_mode": "grayscale"}
        return {
            "dataset": config.dataset,
            "data_file": config.data_file,
            "image_size": config.image_size,
            "color_mode": config.color_mode,
        }

    @Slot()
    def _on_preview_clicked(self) -> None:
        """Show what augmentation does to the chosen dataset's training images."""
        if self.augmentation_preview is None:
            self.augmentation_preview = AugmentationPreviewDialog(self.augmentation_source(), self)
        else:
            self.augmentation_preview.set_source(self.augmentation_source())
        if self.augmentation_preview.isVisible():
            self.augmentation_preview.raise_()  # already open behind the window: bring it forward
        else:
            self.augmentation_preview.show()
