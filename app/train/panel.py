"""The training dock: the setup form (what to train) beside the run (progress, buttons, result and curves)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QWidget

from app.train.offline_weights_dialog import ask_offline_weights_choice, is_offline_weights_message
from app.train.run_panel import RunPanel
from app.train.setup_form import SetupForm
from app.train.setup_settings import show_config
from ml.training.config import TrainConfig


class TrainingPanel(QWidget):
    """A view of training with ``fit``: the form says what to train, the run panel shows how it goes."""

    model_trained = Signal(dict)
    running_changed = Signal(bool)
    status_changed = Signal(str, int)  # a message for the window's status bar and how long to show it (ms)
    filters_trained = Signal(list, str)  # the conv kernels being trained (dicts) at an epoch's end, and whose they are

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = SetupForm(settings)
        self.run = RunPanel()
        self._offline_weights_message: str | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.form)
        layout.addWidget(self.run, 1)
        self.run.start_clicked.connect(self._on_start_clicked)
        self.run.running_changed.connect(self._on_running_changed)
        self.run.model_trained.connect(self.model_trained)
        self.run.failed.connect(self._on_failed)
        self.run.status_changed.connect(self.status_changed)
        self.run.log_folder_found.connect(self.form.options.set_log_folder)
        self.run.rescored.connect(self._on_rescored)
        self.form.epochs_spin.valueChanged.connect(self.run.show_planned_epochs)
        self.run.show_planned_epochs(self.form.epochs_spin.value())

    @property
    def is_running(self) -> bool:
        """True from Start until the training thread has ended."""
        return self.run.is_running

    def training_config(self) -> TrainConfig:
        """The :class:`TrainConfig` the form describes."""
        return self.form.training_config()

    def set_active_model(self, path: str | None, display_name: str) -> None:
        """The window's active model: what "Continue training" trains further and what a run is compared with."""
        self.form.set_active_model(path, display_name)

    @Slot(dict)
    def set_drawing(self, prediction: dict) -> None:
        """Keep the canvas's latest 28x28 (from a prediction result) for runs to re-score as they learn."""
        if prediction.get("error"):
            return
        blank = prediction.get("blank") or prediction.get("image") is None
        self.run.latest_drawing.set(None if blank else prediction["image"])

    @Slot(dict)
    def _on_rescored(self, report: dict) -> None:
        if report.get("filters") is not None:
            self.filters_trained.emit(report["filters"], f"The model being trained, after epoch {report['epoch']}")

    @Slot()
    def _on_start_clicked(self) -> None:
        """Start a run with the form's settings."""
        self.start_training()

    def start_training(self, config: TrainConfig | None = None) -> bool:
        """Start training ``config`` (default: the form's settings) in a worker thread; False if refused."""
        if self.run.is_running:
            return False
        try:
            resolved = (config or self.form.training_config()).resolved()
        except KeyError as error:
            self.run.show_message(str(error.args[0] if error.args else error), "error")
            return False
        if config is None:
            problem = self.form.options.problem()
            if problem:
                self.run.show_message(problem, "error")
                return False
            config = self.form.training_config()
        else:
            show_config(self.form, resolved)
        problem = self.form.problem(config)
        if problem:
            self.run.show_message(problem, "error")
            return False
        self.form.save_settings()
        self._offline_weights_message = None
        self.run.start(config, int(resolved.epochs), int(resolved.batch_size), self.form.active_model_path)
        return True

    def request_stop(self) -> None:
        """Stop after the current batch; the model trained so far is still tested and offered."""
        self.run.request_stop()

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """End any run (never terminate) without testing or saving, and the form's helpers; True when done."""
        self.form.shutdown(timeout_ms)
        return self.run.shutdown(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Closing the panel as a top-level window ends its run first."""
        self.shutdown()
        super().closeEvent(event)

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        """Lock the form while it is used; after a run refused for offline weights, offer the ways out."""
        self.form.set_locked(running)
        self.running_changed.emit(running)
        if not running and self._offline_weights_message:
            QTimer.singleShot(0, self._offer_ways_out_of_offline_weights)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        """Remember a failure that has ways out (ImageNet weights that could not be fetched)."""
        if is_offline_weights_message(message):
            self._offline_weights_message = message

    @Slot()
    def _offer_ways_out_of_offline_weights(self) -> None:
        """ImageNet weights out of reach: offer a local weights file or training from scratch, then restart."""
        message, self._offline_weights_message = self._offline_weights_message, None
        if not message or self.run.is_running or self.run.config is None:
            return
        choice = ask_offline_weights_choice(message, self)
        options = self.form.options
        if choice == "file" and not options.choose_weights_file():
            return
        if choice not in ("file", "scratch"):
            return
        if choice == "scratch":
            options.set_backbone_weights("none")
        weights = options.weights_file_edit.text().strip() if choice == "file" else "none"
        self.start_training(
            replace(self.run.config, backbone_weights=weights, freeze_backbone=options.freeze_check.isChecked())
        )
