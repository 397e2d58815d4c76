"""The training panel: choose a dataset, preset and hyperparameters, train in a worker thread, watch the curves."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QSettings, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QColor, QFont, QPalette, QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGraphicsItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.augmentation_preview import AugmentationPreviewDialog
from app.offline_weights_dialog import ask_offline_weights_choice, is_offline_weights_message
from app.parameter_counter import ParameterCounter, model_input
from app.training_options import TrainingOptions
from app.training_worker import TrainingWorker
from app.user_folders import user_cache_folder
from app.worker_thread import start_worker_thread
from ml.data.datasets import DATASET_NAMES, DEFAULT_VALIDATION_FRACTION, DEFAULT_VALIDATION_SIZE
from ml.models.presets import PRESETS, format_parameter_count
from ml.training.config import TrainConfig
from ml.training.reports import format_duration

# The datasets come from DATASET_NAMES (the one list); these are only their labels (the name when missing).
DATASET_LABELS: dict[str, str] = {
    "mnist": "MNIST digits (bundled)",
    "fashion-mnist": "Fashion-MNIST (your files)",
    "sklearn-digits": "scikit-learn 8x8 digits",
}
FOLDER_DATASET = "folder"  # the combo's entry for an image folder; the folder itself becomes TrainConfig.dataset
FILE_DATASETS = ("mnist", "fashion-mnist")  # datasets that read an optional/required file (TrainConfig.data_file)
LARGE_DATASETS = ("mnist", "fashion-mnist")  # 60 000 training images: validation is a count, else a percentage
DATA_PATH_HINTS: dict[str, str] = {
    "mnist": "bundled copy, or a .npz / IDX .gz file",
    "fashion-mnist": "choose the .npz or an IDX .gz file",
    FOLDER_DATASET: "choose a folder with one subfolder per class",
}
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd", "rmsprop")
SETTINGS_GROUP = "training"
FLUSH_INTERVAL_MS = 100  # progress text and bar: 10 updates a second read as live
CURVE_REFRESH_SECONDS = 0.5  # the curves: each redraw takes CPU from training on small machines; twice a second
LOSS_AXIS_HEADROOM = 1.15  # the loss axis grows to 15 % above the data, so that small rises do not move it
VALIDATION_UNITS = ("images", "%")
DEFAULT_VALIDATION_PERCENT = round(DEFAULT_VALIDATION_FRACTION * 100)
TRAINING_COLOR = "#1f77b4"
VALIDATION_COLOR = "#ff7f0e"
FALLBACK_PRESET_DEFAULTS: dict[str, Any] = {
    "epochs": 10,
    "batch_size": 128,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "augment": False,
}
SETUP_WIDTH = 450
LEARNING_RATE_LADDER: tuple[float, ...] = tuple(
    round(mantissa * 10.0**exponent, 12) for exponent in range(-6, 1) for mantissa in (1, 2, 5)
)


def trained_models_folder() -> Path:
    """The per-user cache folder where freshly trained models are saved before the user keeps one."""
    return user_cache_folder() / "trained"


def format_progress(report: dict[str, Any], batch_size: int) -> str:
    """``epoch i/N · batch j/M · ETA m:ss · n samples/s`` for one batch report."""
    epoch, epochs = int(report["epoch"]), int(report.get("epochs") or 0)
    batch, steps = int(report["batch"]), int(report.get("steps") or 0)
    speed = float(report.get("samples_per_second") or 0.0)
    remaining_batches = max(0, (epochs - epoch) * steps + (steps - batch))
    eta = remaining_batches * batch_size / speed if speed > 0 else 0.0
    return f"epoch {epoch}/{epochs} · batch {batch}/{steps} · ETA {format_duration(eta)} · {speed:,.0f} samples/s"


def preset_tooltip(name: str) -> str:
    """The preset's title, its name and the result its tutorial reports."""
    preset = PRESETS[name]
    lines = [f"{preset.title} ({name})"]
    if preset.tutorial_result:
        lines.append(f"Tutorial: {preset.tutorial_result}")
    return "\n".join(lines)


def preset_caption(name: str, parameters: int | None, counted: bool) -> str:
    """Two lines under the preset picker: the tutorial's reported figure, then the parameter count."""
    preset = PRESETS[name]
    tutorial = f"Tutorial: {preset.tutorial_result}" if preset.tutorial_result else "Digit Lab's own preset"
    if parameters is not None:
        count = f"{parameters:,} parameters"
    else:
        count = "counting parameters…" if not counted else "does not fit this dataset's input"
    return f"{tutorial}\n{count}"


class LearningRateSpinBox(QDoubleSpinBox):
    """A learning-rate field that shows ``3e-05`` style numbers and steps along 1-2-5 decades."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(10)
        self.setRange(1e-7, 10.0)
        self.setKeyboardTracking(False)
        self.setAccelerated(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        """``0.003`` → ``0.003``; ``3e-05`` → ``3e-05``."""
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt override
        """Parse what the user typed (``1e-3``, ``0.001``)."""
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, position: int) -> object:
        """Accept anything that parses as a number in range; allow partial input such as ``1e-``."""
        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, position
        in_range = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if in_range else QValidator.State.Intermediate), text, position

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        """Move to the next (or previous) value on the 1-2-5 ladder."""
        value = self.value()
        if steps > 0:
            above = [rate for rate in LEARNING_RATE_LADDER if rate > value * (1 + 1e-9)]
            target = above[min(steps, len(above)) - 1] if above else value
        else:
            below = [rate for rate in LEARNING_RATE_LADDER if rate < value * (1 - 1e-9)]
            target = below[-min(-steps, len(below))] if below else value
        self.setValue(target)


def cache_rendering(item: QGraphicsItem) -> None:
    """Keep a pixmap of ``item`` so that repainting what lies under it (a curve) does not redraw it."""
    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class CurveBuffer:
    """Growing float columns appended one row at a time, without reallocating on every append."""

    def __init__(self, columns: int, capacity: int = 1024) -> None:
        self._columns = np.empty((columns, capacity), dtype=np.float64)
        self.size = 0

    def append(self, *values: float) -> None:
        """Add one row (one value per column), doubling the storage when full."""
        if self.size == self._columns.shape[1]:
            self._columns = np.concatenate([self._columns, np.empty_like(self._columns)], axis=1)
        self._columns[:, self.size] = values
        self.size += 1

    def clear(self) -> None:
        """Forget every row (keeps the storage)."""
        self.size = 0

    def columns(self) -> tuple[np.ndarray, ...]:
        """Views of the filled part, one array per column."""
        return tuple(self._columns[:, : self.size])


class TrainingSeries:
    """Per-batch training loss/accuracy recovered from Keras's running epoch means, and their moving average.

    Keras reports, after each batch, the mean over the epoch so far; plotted as is that is a saw-tooth that restarts
    every epoch. Un-averaging it gives each batch's own value; an exponential moving average (TensorBoard-style,
    bias-corrected) gives a readable trend across epochs.
    """

    SMOOTHING = 0.9

    def __init__(self, batch_size: int) -> None:
        self.batch_size = max(1, int(batch_size))
        self.points = CurveBuffer(5)  # x, loss, accuracy, smoothed loss, smoothed accuracy
        self._epoch = -1
        self._seen = 0
        self._loss_sum = 0.0
        self._accuracy_sum = 0.0
        self._average = [0.0, 0.0]
        self._average_weight = 0.0

    def add(self, report: dict[str, Any]) -> None:
        """Add one batch report (``epoch``, ``batch``, ``steps``, running ``loss`` and ``accuracy``)."""
        epoch, batch = int(report["epoch"]), int(report["batch"])
        if epoch != self._epoch:
            self._epoch, self._seen, self._loss_sum, self._accuracy_sum = epoch, 0, 0.0, 0.0
        seen = batch * self.batch_size  # the last batch may be smaller: its value is then a little off
        size = max(1, seen - self._seen)
        loss_sum, accuracy_sum = report["loss"] * seen, report["accuracy"] * seen
        batch_loss = (loss_sum - self._loss_sum) / size
        batch_accuracy = min(1.0, max(0.0, (accuracy_sum - self._accuracy_sum) / size))
        self._seen, self._loss_sum, self._accuracy_sum = seen, loss_sum, accuracy_sum
        keep = self.SMOOTHING
        self._average = [
            keep * self._average[0] + (1 - keep) * batch_loss,
            keep * self._average[1] + (1 - keep) * batch_accuracy,
        ]
        self._average_weight = keep * self._average_weight + (1 - keep)
        steps = report.get("steps") or 1
        self.points.append(
            epoch - 1 + batch / steps,
            batch_loss,
            batch_accuracy,
            self._average[0] / self._average_weight,
            self._average[1] / self._average_weight,
        )


class LossAccuracyCurves(QWidget):
    """A view of a run's history: training loss/accuracy per batch (lines), validation per epoch (markers)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        foreground = palette.color(QPalette.ColorRole.Text)
        self.loss_plot = self._make_plot("Loss", "loss", background, foreground)
        self.accuracy_plot = self._make_plot("Accuracy", "accuracy", background, foreground)
        legend_background = QColor(background)
        legend_background.setAlpha(210)
        self.loss_plot.addLegend(offset=(-10, 10), labelTextColor=foreground, brush=legend_background)
        self.accuracy_plot.addLegend(offset=(-10, -10), labelTextColor=foreground, brush=legend_background)
        for plot in (self.loss_plot, self.accuracy_plot):
            cache_rendering(plot.getPlotItem().legend)
        self._loss_top = 0.0  # the top of the loss axis while it follows the data (0: nothing shown yet)
        self._loss_follows_data = True
        self.loss_plot.getViewBox().sigRangeChangedManually.connect(self._on_loss_zoomed)
        self.training_loss = self._make_per_batch_item(self.loss_plot)
        self.smoothed_training_loss = self._make_smoothed_item(self.loss_plot)
        self.validation_loss = self._make_validation_item(self.loss_plot)
        self.training_accuracy = self._make_per_batch_item(self.accuracy_plot)
        self.smoothed_training_accuracy = self._make_smoothed_item(self.accuracy_plot)
        self.validation_accuracy = self._make_validation_item(self.accuracy_plot)
        self.items = (
            self.training_loss,
            self.smoothed_training_loss,
            self.validation_loss,
            self.training_accuracy,
            self.smoothed_training_accuracy,
            self.validation_accuracy,
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.accuracy_plot)

    @staticmethod
    def _make_plot(title: str, y_label: str, background: QColor, foreground: QColor) -> pg.PlotWidget:
        """A plot with labelled axes, a light grid, clip-to-view and peak downsampling for long series."""
        plot = pg.PlotWidget(background=background)
        plot.setMinimumSize(260, 150)
        plot.setTitle(title, color=foreground, size="11pt")
        item = plot.getPlotItem()
        for side, label in (("bottom", "epoch"), ("left", y_label)):
            axis = item.getAxis(side)
            axis.setLabel(label, color=foreground.name())
            axis.setTextPen(foreground)
            axis.setPen(pg.mkPen(foreground.darker(110) if foreground.lightness() > 128 else foreground.lighter(250)))
            cache_rendering(axis)  # with the grid, each axis spans the view: redrawn (text and all) on every refresh
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.setLimits(xMin=0)
        item.setMenuEnabled(False)
        item.hideButtons()
        return plot

    @staticmethod
    def _make_per_batch_item(plot: pg.PlotWidget) -> pg.PlotDataItem:
        """The per-batch training values: a faint, thin line."""
        color = QColor(TRAINING_COLOR)
        color.setAlpha(70)
        return plot.plot(name="training, per batch", pen=pg.mkPen(color, width=1), skipFiniteCheck=True)

    @staticmethod
    def _make_smoothed_item(plot: pg.PlotWidget) -> pg.PlotDataItem:
        """The moving average of the training values: the main line."""
        # Not antialiased: a wide antialiased polyline costs tens of milliseconds per repaint once it is long.
        return plot.plot(name="training, smoothed", pen=pg.mkPen(TRAINING_COLOR, width=2), skipFiniteCheck=True)

    @staticmethod
    def _make_validation_item(plot: pg.PlotWidget) -> pg.PlotDataItem:
        """The per-epoch validation markers, joined by a thin dashed line."""
        return plot.plot(
            name="validation, per epoch",
            pen=pg.mkPen(VALIDATION_COLOR, width=1.2, style=Qt.PenStyle.DashLine),
            symbol="o",
            symbolSize=8,
            symbolBrush=VALIDATION_COLOR,
            symbolPen=pg.mkPen("w", width=1),
            antialias=True,
        )

    def reset(self, epochs: int) -> None:
        """Empty every series and show epochs 0..``epochs`` on the x axes."""
        for item in self.items:
            item.setData([], [])
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setXRange(0, max(1, epochs), padding=0.02)
        # Fixed y axes, moved only when needed, spare re-laying out their ticks on every refresh: accuracy lives in
        # [0, 1]; loss starts at 0 and its top grows with the data (see _follow_loss).
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.disableAutoRange(axis="y")
        self.accuracy_plot.setYRange(0.0, 1.0, padding=0.02)
        self._loss_top = 0.0
        self._loss_follows_data = True
        self.loss_plot.setYRange(0.0, 1.0, padding=0.02)

    def set_training(
        self,
        x: np.ndarray,
        loss: np.ndarray,
        accuracy: np.ndarray,
        smoothed_loss: np.ndarray,
        smoothed_accuracy: np.ndarray,
    ) -> None:
        """Replace the per-batch training series and their moving averages."""
        self.training_loss.setData(x, loss)
        self.training_accuracy.setData(x, accuracy)
        self.smoothed_training_loss.setData(x, smoothed_loss)
        self.smoothed_training_accuracy.setData(x, smoothed_accuracy)
        self._follow_loss(loss, smoothed_loss)

    def set_validation(self, x: np.ndarray, loss: np.ndarray, accuracy: np.ndarray) -> None:
        """Replace the per-epoch validation series."""
        self.validation_loss.setData(x, loss)
        self.validation_accuracy.setData(x, accuracy)
        self._follow_loss(loss)

    def _follow_loss(self, *series: np.ndarray) -> None:
        """Raise the loss axis's top (with headroom) when the data goes above it, unless the user has zoomed."""
        if not self._loss_follows_data:
            return
        values = np.concatenate([np.asarray(values, dtype=np.float64).ravel() for values in series])
        values = values[np.isfinite(values)]
        if not values.size or values.max() <= self._loss_top:
            return
        self._loss_top = float(values.max()) * LOSS_AXIS_HEADROOM
        self.loss_plot.setYRange(0.0, self._loss_top, padding=0.02)

    @Slot()
    def _on_loss_zoomed(self) -> None:
        """The user panned or zoomed the loss plot: leave its range alone until the next run."""
        self._loss_follows_data = False


class TrainingPanel(QWidget):
    """A view of one training run of ``ml.training.fit.fit``: its settings, progress, curves and test accuracy."""

    model_trained = Signal(dict)
    running_changed = Signal(bool)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.models_folder = trained_models_folder()
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._run_config: TrainConfig | None = None
        self._result: dict[str, Any] | None = None
        self._training_series = TrainingSeries(128)
        self._validation_points = CurveBuffer(3, 64)
        self._drawn_training = 0
        self._drawn_validation = 0
        self._latest_batch: dict[str, Any] | None = None
        self._shown_batch: dict[str, Any] | None = None
        self._curves_drawn_at = 0.0
        self._started_at = 0.0
        self._stop_requested = False
        self._phase = "idle"
        self.samples_per_second_by_epoch: dict[int, float] = {}
        self._active_model_path: str | None = None
        self._active_model_name = ""
        self._offline_weights_message: str | None = None
        self.augmentation_preview: AugmentationPreviewDialog | None = None
        self.parameter_counter = ParameterCounter(self)
        self._parameter_counting_scheduled = False
        self._build_controls()
        self._build_layout()
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._flush_reports)
        self._restore_settings()
        self._connect_controls()
        self._show_message("")
        self._show_result_text("", "")
        self._set_idle_state()

    # ------------------------------------------------------------------------------------------- building

    def _build_controls(self) -> None:
        """Create the setting widgets, buttons, progress bar, labels and curves."""
        self.dataset_combo = QComboBox()
        for name in DATASET_NAMES:
            self.dataset_combo.addItem(DATASET_LABELS.get(name, name), name)
        self.dataset_combo.addItem("Image folder (a subfolder per class)", FOLDER_DATASET)
        self.data_path_edit = QLineEdit()
        self.data_path_edit.setClearButtonEnabled(True)
        self.browse_button = QPushButton("Browse…")
        self.preset_combo = QComboBox()
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
        self.preset_caption = QLabel()
        self.preset_caption.setTextFormat(Qt.TextFormat.PlainText)  # no word wrap: it would make the dock scroll
        self.preset_caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.preset_caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        caption_font = QFont(self.font())
        caption_font.setPointSizeF(caption_font.pointSizeF() * 0.92)
        self.preset_caption.setFont(caption_font)
        self.fine_tune_check = QCheckBox("Continue training the active model")
        self.fine_tune_check.setToolTip(
            "Train the active model's own weights further (fine-tune) instead of a new model of the chosen preset; "
            "the preset still supplies the training defaults."
        )
        self.options = TrainingOptions(self)
        self.start_button = QPushButton("Start training")
        self.start_button.setMinimumWidth(120)
        self.start_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setMinimumWidth(90)
        self.pause_button.setToolTip("Hold the run after the current batch; Resume continues the same run.")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setMinimumWidth(90)
        self.stop_button.setToolTip("Stop after the current batch; the model trained so far is tested and kept.")
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setMinimumHeight(26)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label = QLabel()
        result_font = QFont(self.font())
        result_font.setPointSizeF(result_font.pointSizeF() * 1.35)
        result_font.setBold(True)
        self.result_label.setFont(result_font)
        self.result_details_label = QLabel()
        self.result_details_label.setWordWrap(True)
        self.curves = LossAccuracyCurves()
        self.curves.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
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
        """Settings in a compact grid on the left; progress, buttons, result and curves on the right."""
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
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
            ("Dataset", self.dataset_combo, "", None),
            ("Data", data_row, "", None),
            ("Model", self.preset_combo, "", None),
            ("", self.preset_caption, "", None),
            ("", self.fine_tune_check, "", None),
            ("Epochs", self.epochs_spin, "Batch size", self.batch_size_spin),
            ("Optimizer", self.optimizer_combo, "Learning rate", self.learning_rate_spin),
            ("Validation", validation_row, "", None),
            ("Train on", self.training_limit_spin, "", augment_row),
        ]
        for row, (label, field, second_label, second_field) in enumerate(rows):
            grid.addWidget(QLabel(label), row, 0)
            span = 1 if second_field is not None else 3
            if isinstance(field, QHBoxLayout):
                grid.addLayout(field, row, 1, 1, span)
            else:
                grid.addWidget(field, row, 1, 1, span)
            if second_label:
                grid.addWidget(QLabel(second_label), row, 2)
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
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.setup_tabs)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.start_button)
        progress_row.addWidget(self.pause_button)
        progress_row.addWidget(self.stop_button)
        result_row = QHBoxLayout()
        result_row.addWidget(self.result_label)
        result_row.addWidget(self.result_details_label, 1)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addLayout(progress_row)
        right.addWidget(self.message_label)
        right.addLayout(result_row)
        right.addWidget(self.curves, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(left)
        layout.addLayout(right, 1)

    def _connect_controls(self) -> None:
        """Wire buttons, the preset picker and settings persistence."""
        self.start_button.clicked.connect(self._on_start_clicked)
        self.stop_button.clicked.connect(self.request_stop)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.preset_combo.currentIndexChanged.connect(self._on_preset_chosen)
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset_chosen)
        self.browse_button.clicked.connect(self._on_browse_clicked)
        self.data_path_edit.editingFinished.connect(self._save_settings)
        self.validation_unit_combo.currentIndexChanged.connect(self._on_validation_unit_changed)
        for spin in (self.epochs_spin, self.batch_size_spin, self.validation_spin, self.training_limit_spin):
            spin.valueChanged.connect(self._save_settings)
        self.learning_rate_spin.valueChanged.connect(self._save_settings)
        self.optimizer_combo.currentIndexChanged.connect(self._on_optimizer_chosen)
        self.augment_check.toggled.connect(self._save_settings)
        self.preview_button.clicked.connect(self._on_preview_clicked)
        self.fine_tune_check.toggled.connect(self._on_fine_tune_toggled)
        self.data_path_edit.editingFinished.connect(self._update_options_context)
        self.options.changed.connect(self._save_settings)
        self.options.changed.connect(self._update_options_context)
        self.parameter_counter.counted.connect(self._on_parameters_counted)

    # ------------------------------------------------------------------------------------------- settings

    def _apply_preset_defaults(self, name: str) -> None:
        """Fill epochs, batch size, learning rate, optimizer and augmentation from the preset's defaults."""
        preset = PRESETS[name]
        defaults = {**FALLBACK_PRESET_DEFAULTS, **preset.defaults}
        self.epochs_spin.setValue(int(defaults["epochs"]))
        self.batch_size_spin.setValue(int(defaults["batch_size"]))
        self.learning_rate_spin.setValue(float(defaults["learning_rate"]))
        self._select_data(self.optimizer_combo, str(defaults["optimizer"]))
        self.augment_check.setChecked(bool(defaults["augment"]))
        self.preset_combo.setToolTip(preset_tooltip(name))
        self.options.apply_preset_defaults(name)
        self._update_options_context()

    @staticmethod
    def _select_data(combo: QComboBox, value: str) -> bool:
        """Select the item whose data is ``value``; False when there is none."""
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)
        return index >= 0

    def _set_validation_unit(self, unit: str) -> None:
        """Switch the validation field between a number of images and a percentage."""
        if unit == "%":
            self.validation_spin.setRange(0, 50)
            self.validation_spin.setSingleStep(5)
            self.validation_spin.setSuffix(" %")
        else:
            self.validation_spin.setRange(0, 50000)
            self.validation_spin.setSingleStep(500)
            self.validation_spin.setSuffix("")

    def _restore_settings(self) -> None:
        """Load the last training choices (group "training"); the preset's defaults fill what is missing."""
        settings = self.settings
        settings.beginGroup(SETTINGS_GROUP)
        try:
            self._select_data(self.dataset_combo, str(settings.value("dataset", "mnist")))
            self.data_path_edit.setText(str(settings.value("data_path", "")))
            self._update_data_row()
            preset = str(settings.value("preset", "cnn3x3"))
            if not self._select_data(self.preset_combo, preset):
                self.preset_combo.setCurrentIndex(0)
            self._apply_preset_defaults(self.preset_combo.currentData())
            if settings.contains("epochs"):
                self.epochs_spin.setValue(int(settings.value("epochs", type=int)))
            if settings.contains("batch_size"):
                self.batch_size_spin.setValue(int(settings.value("batch_size", type=int)))
            if settings.contains("learning_rate"):
                self.learning_rate_spin.setValue(float(settings.value("learning_rate", type=float)))
            if settings.contains("optimizer"):
                self._select_data(self.optimizer_combo, str(settings.value("optimizer")))
            if settings.contains("augment"):
                self.augment_check.setChecked(bool(settings.value("augment", type=bool)))
            unit = str(settings.value("validation_unit", "images"))
            self._select_data(self.validation_unit_combo, unit if unit in VALIDATION_UNITS else "images")
            self._set_validation_unit(self.validation_unit_combo.currentData())
            self.validation_spin.setValue(int(settings.value("validation_amount", DEFAULT_VALIDATION_SIZE, type=int)))
            self.training_limit_spin.setValue(int(settings.value("training_images", 0, type=int)))
        finally:
            settings.endGroup()
        self.options.restore_settings(settings)
        self._update_options_context()

    @Slot()
    def _save_settings(self) -> None:
        """Remember the current training choices in QSettings (group "training")."""
        settings = self.settings
        settings.beginGroup(SETTINGS_GROUP)
        try:
            settings.setValue("dataset", self.dataset_combo.currentData())
            settings.setValue("data_path", self.data_path_edit.text().strip())
            settings.setValue("preset", self.preset_combo.currentData())
            settings.setValue("epochs", self.epochs_spin.value())
            settings.setValue("batch_size", self.batch_size_spin.value())
            settings.setValue("learning_rate", self.learning_rate_spin.value())
            settings.setValue("optimizer", self.optimizer_combo.currentData())
            settings.setValue("validation_amount", self.validation_spin.value())
            settings.setValue("validation_unit", self.validation_unit_combo.currentData())
            settings.setValue("training_images", self.training_limit_spin.value())
            settings.setValue("augment", self.augment_check.isChecked())
        finally:
            settings.endGroup()
        self.options.save_settings(settings)

    @Slot(int)
    def _on_preset_chosen(self, index: int) -> None:
        """A preset was picked: fill its defaults and remember the choice."""
        self._apply_preset_defaults(self.preset_combo.itemData(index))
        self._save_settings()

    @Slot(int)
    def _on_dataset_chosen(self, index: int) -> None:
        """A dataset was picked: show what its data field takes and use its default validation split."""
        choice = self.dataset_combo.itemData(index)
        self.data_path_edit.clear()
        self._update_data_row()
        large = choice in LARGE_DATASETS
        self._select_data(self.validation_unit_combo, "images" if large else "%")
        self._set_validation_unit("images" if large else "%")
        self.validation_spin.setValue(DEFAULT_VALIDATION_SIZE if large else DEFAULT_VALIDATION_PERCENT)
        self._update_options_context()
        self._save_settings()

    @Slot(int)
    def _on_optimizer_chosen(self, index: int) -> None:
        """An optimizer was picked: momentum and Nesterov apply to some only."""
        self._update_options_context()
        self._save_settings()

    @Slot()
    def _update_options_context(self) -> None:
        """Tell the options what applies (preset, dataset, optimizer) and refresh the preset caption."""
        self.options.set_context(
            self.preset_combo.currentData(), self.dataset_combo.currentData(), self.optimizer_combo.currentData()
        )
        if self._parameter_counting_scheduled:
            self.count_parameters()
        self._show_preset_caption()

    def _update_data_row(self) -> None:
        """Enable the data field for datasets that read a file or folder, with a hint of what it takes."""
        choice = self.dataset_combo.currentData()
        hint = DATA_PATH_HINTS.get(choice, "built in: nothing to choose")
        self.data_path_edit.setPlaceholderText(hint)
        self.data_path_edit.setToolTip(hint)
        uses_path = choice in DATA_PATH_HINTS
        self.data_path_edit.setEnabled(uses_path and not self.is_running)
        self.browse_button.setEnabled(uses_path and not self.is_running)

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
            self._update_options_context()
            self._save_settings()

    @Slot(int)
    def _on_validation_unit_changed(self, index: int) -> None:
        """Switch the validation amount between images and a percentage, starting from that unit's default."""
        unit = self.validation_unit_combo.itemData(index)
        self._set_validation_unit(unit)
        self.validation_spin.setValue(DEFAULT_VALIDATION_PERCENT if unit == "%" else DEFAULT_VALIDATION_SIZE)
        self._save_settings()

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
        if self.fine_tune_check.isChecked() and self._active_model_path:
            config = replace(config, fine_tune_from=self._active_model_path)
        return config

    # ------------------------------------------------------------------------------------------- running

    @property
    def is_running(self) -> bool:
        """True from Start until the training thread has ended."""
        return self._thread is not None

    @property
    def phase(self) -> str:
        """Where the run is: ``idle``, ``starting``, ``training``, ``validating``, ``testing`` or ``saving``."""
        return self._phase if self._thread is not None else "idle"

    @Slot()
    def _on_start_clicked(self) -> None:
        """Start a run with the controls' settings."""
        self.start_training()

    def start_training(self, config: TrainConfig | None = None) -> bool:
        """Start training ``config`` (default: the controls' settings) in a worker thread; False if refused."""
        if self.is_running:
            return False
        try:
            resolved = (config or self.training_config()).resolved()
        except KeyError as error:
            self._show_message(str(error.args[0] if error.args else error), "error")
            return False
        if config is None:
            problem = self.options.problem()
            if problem:
                self._show_message(problem, "error")
                return False
            config = self.training_config()
        else:
            self._show_config(resolved)
        if not config.dataset:
            self._show_message("Choose the image folder to train on (Browse…).", "error")
            return False
        if config.fine_tune_from and not Path(config.fine_tune_from).is_file():
            self._show_message(f"The active model's file {config.fine_tune_from} no longer exists.", "error")
            return False
        self._save_settings()
        self._reset_run_state(config, int(resolved.epochs), int(resolved.batch_size))
        worker = TrainingWorker(config, self.models_folder, reference_model=self._active_model_path)
        worker.batch_finished.connect(self._on_batch_finished)
        worker.epoch_finished.connect(self._on_epoch_finished)
        worker.fit_ended.connect(self._on_fit_ended)
        worker.trained.connect(self._on_trained)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self._thread = start_worker_thread(worker, "TrainingThread", self._on_thread_finished)
        self._set_running_state()
        self._flush_timer.start()
        self.running_changed.emit(True)
        return True

    def _show_config(self, config: TrainConfig) -> None:
        """Make the controls show a (resolved) config that was started from code, not from the controls."""
        if self._select_data(self.dataset_combo, str(config.dataset)):
            self.data_path_edit.setText(config.data_file or "")
        else:
            self._select_data(self.dataset_combo, FOLDER_DATASET)
            self.data_path_edit.setText(str(config.dataset))
        self._select_data(self.preset_combo, config.preset)  # fills the preset's defaults first
        self.epochs_spin.setValue(int(config.epochs))
        self.batch_size_spin.setValue(int(config.batch_size))
        self.learning_rate_spin.setValue(float(config.learning_rate))
        self._select_data(self.optimizer_combo, str(config.optimizer))
        self.augment_check.setChecked(bool(config.augment))
        if config.validation_size is not None:  # None: the dataset's default, which choosing it has just shown
            unit = "%" if isinstance(config.validation_size, float) else "images"
            self._select_data(self.validation_unit_combo, unit)
            amount = config.validation_size * 100 if unit == "%" else config.validation_size
            self.validation_spin.setValue(round(amount))
        self.training_limit_spin.setValue(int(config.max_train_samples or 0))
        self.options.show_config(config)
        self.fine_tune_check.setChecked(
            bool(config.fine_tune_from) and config.fine_tune_from == self._active_model_path
        )

    def _reset_run_state(self, config: TrainConfig, epochs: int, batch_size: int) -> None:
        """Clear the previous run's curves, result and messages."""
        self._run_config = config
        self._run_epochs = epochs
        self._run_batch_size = batch_size
        self._result = None
        self._latest_batch = None
        self._shown_batch = None
        self._curves_drawn_at = 0.0
        self._stop_requested = False
        self._training_series = TrainingSeries(batch_size)
        self._validation_points.clear()
        self._drawn_training = self._drawn_validation = 0
        self.samples_per_second_by_epoch = {}
        self._started_at = time.perf_counter()
        self._phase = "starting"
        self._offline_weights_message = None
        if config.tensorboard_dir:
            self.options.set_log_folder(None)  # the run's own folder, once it is written
        self.curves.reset(epochs)
        self._show_result_text("", "")
        self._show_message("")
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat("Starting TensorFlow and preparing the data…")

    @Slot()
    def request_stop(self) -> None:
        """Stop after the current batch; the model trained so far is still tested and offered."""
        if self._worker is None or self._stop_requested:
            return
        self._stop_requested = True
        self._worker.request_stop()
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")
        self.pause_button.setEnabled(False)  # a paused run lets go once a stop is asked for

    @property
    def is_paused(self) -> bool:
        """True while a run is held between batches by Pause."""
        return self._worker is not None and self._worker.is_paused

    @Slot()
    def toggle_pause(self) -> None:
        """Pause the run after the current batch, or resume a paused run."""
        if self._worker is None or self._stop_requested:
            return
        if self._worker.is_paused:
            self._worker.resume()
            self.pause_button.setText("Pause")
            self._shown_batch = None  # redraw the progress text without "Paused"
            self._flush_reports()
        else:
            self._worker.pause()
            self.pause_button.setText("Resume")
            self.progress_bar.setFormat(f"Paused · {self.progress_bar.format()}")

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """End any run (stop, ``quit()``, ``wait()``; never terminate) without testing or saving; True when done."""
        self._save_settings()
        self.parameter_counter.shutdown(timeout_ms)
        if self.augmentation_preview is not None:
            self.augmentation_preview.shutdown(timeout_ms)
        thread, worker = self._thread, self._worker
        if thread is None or worker is None:
            return True
        worker.request_abandon()
        thread.quit()
        if not thread.wait(max(0, int(timeout_ms))):
            self._keep_until_finished(thread)  # still importing TensorFlow or testing: it ends on its own soon
            return False
        QCoreApplication.removePostedEvents(self, QEvent.Type.MetaCall)  # the ended run's queued reports
        self._result = None
        self._end_run()
        self.progress_bar.setFormat("Training cancelled")
        return True

    @staticmethod
    def _keep_until_finished(thread: QThread) -> None:
        """Hand a thread that outlived the shutdown timeout to the app's exit wait, so it is never destroyed running."""
        from app.model_worker import keep_until_finished

        try:
            thread.finished.disconnect(thread.deleteLater)  # the exit wait owns it now
        except (RuntimeError, TypeError):
            pass
        keep_until_finished(thread)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Closing the panel as a top-level window ends its run first."""
        self.shutdown()
        super().closeEvent(event)

    # ------------------------------------------------------------------------------------------- active model

    def set_active_model(self, path: str | None, display_name: str) -> None:
        """The window's active model and its file: what "Continue training the active model" trains further.

        The first call also starts counting the presets' parameters: TensorFlow has loaded by then.
        """
        self._active_model_path = path
        self._active_model_name = display_name
        self.fine_tune_check.setText(
            f"Continue training the active model ({display_name})"
            if display_name
            else "Continue training the active model"
        )
        if not path:
            self.fine_tune_check.setChecked(False)
        self.fine_tune_check.setEnabled(bool(path) and not self.is_running)
        if not self._parameter_counting_scheduled:
            self.count_parameters()
        self._show_preset_caption()  # names the model a checked "Continue training" now continues

    @Slot(bool)
    def _on_fine_tune_toggled(self, checked: bool) -> None:
        """Fine-tuning keeps the active model's architecture; the preset then only supplies training defaults."""
        self._show_preset_caption()
        self._save_settings()

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
        index = self.preset_combo.findData(name)
        key = self._count_key(name)
        if index >= 0 and self.parameter_counter.is_known(key):
            count = self.parameter_counter.parameters(key)
            suffix = f"  ·  {format_parameter_count(count)}" if count is not None else ""
            self.preset_combo.setItemText(index, PRESETS[name].title + suffix)
        self._show_preset_caption()

    def _show_preset_caption(self) -> None:
        """The chosen preset's tutorial figure and parameter count (or that the active model is continued)."""
        name = self.preset_combo.currentData()
        if name is None:
            return
        if self.fine_tune_check.isChecked() and self._active_model_path:
            self._set_caption(
                f"Continuing {self._active_model_name} (its own architecture and weights);\n"
                "the preset below supplies the training defaults."
            )
            return
        key = self._count_key(name)
        if not self._parameter_counting_scheduled:
            self._set_caption(preset_caption(name, None, True).splitlines()[0])
            return
        self._set_caption(
            preset_caption(name, self.parameter_counter.parameters(key), self.parameter_counter.is_known(key))
        )

    def _set_caption(self, text: str) -> None:
        """Show ``text`` under the preset picker, each line elided to the column (the full text as tooltip)."""
        metrics = self.preset_caption.fontMetrics()
        width = SETUP_WIDTH - 110
        lines = [metrics.elidedText(line, Qt.TextElideMode.ElideRight, width) for line in text.splitlines()]
        self.preset_caption.setText("\n".join(lines))
        self.preset_caption.setToolTip(text)

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

    # ------------------------------------------------------------------------------------------- offline weights

    @Slot()
    def _offer_ways_out_of_offline_weights(self) -> None:
        """ImageNet weights out of reach: offer a local weights file or training from scratch, then restart."""
        message, self._offline_weights_message = self._offline_weights_message, None
        if not message or self.is_running or self._run_config is None:
            return
        choice = ask_offline_weights_choice(message, self)
        if choice == "file" and not self.options.choose_weights_file():
            return
        if choice not in ("file", "scratch"):
            return
        if choice == "scratch":
            self.options.set_backbone_weights("none")
        weights = self.options.weights_file_edit.text().strip() if choice == "file" else "none"
        self.start_training(
            replace(self._run_config, backbone_weights=weights, freeze_backbone=self.options.freeze_check.isChecked())
        )

    # ------------------------------------------------------------------------------------------- reports

    @Slot(dict)
    def _on_batch_finished(self, report: dict) -> None:
        """Buffer one batch report; the flush timer draws it."""
        if self._worker is None:
            return
        self._training_series.add(report)
        self.samples_per_second_by_epoch[report["epoch"]] = report["samples_per_second"]
        self._latest_batch = report
        self._phase = "validating" if report["batch"] == report.get("steps") else "training"

    @Slot(dict)
    def _on_epoch_finished(self, report: dict) -> None:
        """Buffer one epoch's validation figures."""
        if self._worker is None:
            return
        if "val_loss" in report:
            self._validation_points.append(
                float(report["epoch"]), report["val_loss"], report.get("val_accuracy", math.nan)
            )
        self._phase = "training"
        if self._run_config is not None and self._run_config.tensorboard_dir and not self.options.log_folder:
            self.options.set_log_folder(self._run_config.tensorboard_dir)  # written now; the run's subfolder at the end
        if report["epoch"] >= (report.get("epochs") or 0) or self._stop_requested:
            self._phase = "testing"
            self.pause_button.setEnabled(False)  # no batches are left to pause between
            self._flush_reports(force=True)
            self.progress_bar.setFormat("Testing the model on the test set…")

    @Slot()
    def _on_fit_ended(self) -> None:
        """Training and testing are done; the worker now saves the model."""
        if self._worker is not None:
            self._phase = "saving"
            self.progress_bar.setFormat("Saving the model…")

    @Slot(dict)
    def _on_trained(self, summary: dict) -> None:
        """Keep the run's summary; it is shown and announced once the thread has ended."""
        if self._worker is not None:
            self._result = summary

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        """Show why the run failed."""
        if self._worker is None:
            return
        self._flush_reports(force=True)
        self._show_message(message, "error")
        if is_offline_weights_message(message):
            self._offline_weights_message = message
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Training failed")

    @Slot()
    def _on_thread_finished(self) -> None:
        """The worker thread has ended: show the result, re-enable the controls, announce the model."""
        thread = self._thread
        if thread is None:
            return
        if shiboken6.isValid(thread):
            thread.wait()  # returns at once: the thread has ended, this only lets it finish its clean-up
        self._end_run()

    @Slot()
    def _flush_reports(self, force: bool = False) -> None:
        """Show the reports that arrived since the last flush: progress every tick, curves a few times a second."""
        points = self._training_series.points
        report = self._latest_batch
        if report is not None and report is not self._shown_batch:
            self._shown_batch = report
            steps = int(report.get("steps") or 0)
            self.progress_bar.setRange(0, max(1, self._run_epochs * steps))
            self.progress_bar.setValue((int(report["epoch"]) - 1) * steps + int(report["batch"]))
            self.progress_bar.setFormat(format_progress(report, self._run_batch_size))
        now = time.perf_counter()
        if not force and now - self._curves_drawn_at < CURVE_REFRESH_SECONDS:
            return
        if points.size != self._drawn_training:
            self.curves.set_training(*points.columns())
            self._drawn_training = points.size
            self._curves_drawn_at = now
        if self._validation_points.size != self._drawn_validation:
            self.curves.set_validation(*self._validation_points.columns())
            self._drawn_validation = self._validation_points.size
            self._curves_drawn_at = now

    # ------------------------------------------------------------------------------------------- states

    def _end_run(self) -> None:
        """Drop the finished thread, show the outcome and give the controls back."""
        self._flush_timer.stop()
        self._flush_reports(force=True)
        self._thread = None
        self._worker = None
        result = self._result
        self._result = None
        if result is not None:
            self._show_result(result)
        self._set_idle_state()
        self.running_changed.emit(False)
        if result is not None and result.get("path"):
            self.model_trained.emit(result)
        if self._offline_weights_message:
            QTimer.singleShot(0, self._offer_ways_out_of_offline_weights)

    def _show_result(self, result: dict[str, Any]) -> None:
        """Show the test accuracy and how the run ended."""
        accuracy = result.get("test_accuracy")
        elapsed = format_duration(time.perf_counter() - self._started_at)
        epochs = int(result.get("epochs_completed") or 0)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        headline = f"Test accuracy {accuracy:.2%}" if accuracy is not None and math.isfinite(accuracy) else ""
        details = f"{result.get('preset')} · {epochs} epoch{'s' if epochs != 1 else ''} · {elapsed}"
        if result.get("device"):
            details += f" · {result['device']}"
        if result.get("checkpoint_path"):
            details += f" · best epoch ({result.get('checkpoint_epoch')}) saved to {result['checkpoint_path']}"
        self._show_result_text(headline, details)
        if result.get("tensorboard_run_dir"):
            self.options.set_log_folder(result["tensorboard_run_dir"])
        reason = result.get("stop_reason")
        if result.get("stopped_by_user"):
            self.progress_bar.setFormat(f"Stopped by you after {epochs} epoch{'s' if epochs != 1 else ''}")
        elif reason:
            self.progress_bar.setFormat("Training stopped early")
        else:
            self.progress_bar.setFormat("Training finished")
        if reason and not result.get("stopped_by_user"):
            self._show_message(reason, "warning")
        if not result.get("path"):
            self._show_message(
                (reason + " " if reason else "") + "No usable model was produced, so none is offered.", "warning"
            )

    def _show_result_text(self, headline: str, details: str) -> None:
        """Show (or hide) the result line: the test accuracy in large type, then how the run went."""
        self.result_label.setText(headline)
        self.result_details_label.setText(details)
        self.result_label.setVisible(bool(headline))
        self.result_details_label.setVisible(bool(details))

    def _show_message(self, text: str, kind: str = "info") -> None:
        """Show (or clear) a message line: ``error`` in red, ``warning`` in amber."""
        colors = {"error": "#c62828", "warning": "#b26a00"}
        self.message_label.setStyleSheet(f"color: {colors[kind]};" if kind in colors else "")
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _set_running_state(self) -> None:
        """Disable what would conflict with the run; enable Stop."""
        for widget in self.setting_widgets:
            widget.setEnabled(False)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.stop_button.setText("Stop")
        self.pause_button.setEnabled(True)
        self.pause_button.setText("Pause")
        self.options.set_running(True)
        self.fine_tune_check.setEnabled(False)

    def _set_idle_state(self) -> None:
        """Enable the settings and Start; disable Stop."""
        for widget in self.setting_widgets:
            widget.setEnabled(True)
        self._update_data_row()
        self.options.set_running(False)
        self.fine_tune_check.setEnabled(bool(self._active_model_path))
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stop")
        self.pause_button.setEnabled(False)
        self.pause_button.setText("Pause")
        if self._latest_batch is None and not self.result_label.text() and self.progress_bar.maximum() != 1:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat("Ready to train")
