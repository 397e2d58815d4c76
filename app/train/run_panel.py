"""The run: Start, Pause and Stop, progress, the result and the curves of one ``fit`` in its worker thread."""

from __future__ import annotations

import math
import time
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.common.curves import CurveBuffer, LossAccuracyCurves, TrainingSeries
from app.common.threads import keep_until_finished, start_worker_thread
from app.common.user_folders import trained_models_folder
from app.common.widgets import ElidedLabel
from app.train.failure_words import in_window_words
from app.train.rescore_chart import LatestDrawing, RescoreChart
from app.train.worker import TrainingWorker
from ml.plurals import plural
from ml.training.config import TrainConfig
from ml.training.reports import format_duration

FINISHING_LAST_EPOCH = "Finishing the last epoch…"  # its validation, then testing: nothing left to pause or stop
TESTING_AND_CALIBRATING = "Testing the model on the test set, then calibrating it…"
FLUSH_INTERVAL_MS = 100  # progress text and bar: 10 updates a second read as live
CURVE_REFRESH_SECONDS = 0.5  # the curves: each redraw takes CPU from training on small machines; twice a second


def format_progress(report: dict[str, Any], batch_size: int) -> str:
    """``epoch i/N · batch j/M · ETA m:ss · n samples/s`` for one batch report."""
    epoch, epochs = int(report["epoch"]), int(report.get("epochs") or 0)
    batch, steps = int(report["batch"]), int(report.get("steps") or 0)
    speed = float(report.get("samples_per_second") or 0.0)
    remaining_batches = max(0, (epochs - epoch) * steps + (steps - batch))
    eta = remaining_batches * batch_size / speed if speed > 0 else 0.0
    return f"epoch {epoch}/{epochs} · batch {batch}/{steps} · ETA {format_duration(eta)} · {speed:,.0f} samples/s"


def stopped_by_you(epochs_completed: int, last_batch: dict[str, Any] | None) -> str:
    """How a stopped run ended: at which batch of which epoch, or after how many whole epochs."""
    if last_batch is not None:
        batch, steps = int(last_batch["batch"]), int(last_batch.get("steps") or 0)
        if 0 < batch < steps:
            return f"Stopped by you at batch {batch}/{steps} of epoch {int(last_batch['epoch'])}"
    return f"Stopped by you after {plural(epochs_completed, 'epoch')}"


def epochs_trained(epochs_completed: int, last_batch: dict[str, Any] | None, stopped_by_user: bool) -> str:
    """How much a run trained: ``3 epochs``, or for a run stopped mid-epoch the fraction (``11.12 epochs``: a stop
    after batch 1/8 of the 12th epoch, which Keras counts as a twelfth)."""
    if stopped_by_user and last_batch is not None:
        epoch, batch, steps = int(last_batch["epoch"]), int(last_batch["batch"]), int(last_batch.get("steps") or 0)
        if 0 < batch < steps:
            return f"{epoch - 1 + batch / steps:.2f} epochs"
    return plural(epochs_completed, "epoch")


class RunPanel(QWidget):
    """A view of one run of ``fit`` in a worker thread: its progress, curves and test accuracy."""

    start_clicked = Signal()
    model_trained = Signal(dict)
    running_changed = Signal(bool)
    failed = Signal(str)
    log_folder_found = Signal(object)  # the run's TensorBoard folder (str), or None while it is not written yet
    status_changed = Signal(str, int)  # a message for the window's status bar and how long to show it (ms)
    rescored = Signal(dict)  # the canvas's drawing scored by the weights being trained (filters at epoch ends)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models_folder = trained_models_folder()
        self.latest_drawing = LatestDrawing()  # the window keeps it current; the run re-scores it
        self.config: TrainConfig | None = None
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
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
        self._batches_ended = False
        self._phase = "idle"
        self._log_folder_shown = False
        self.samples_per_second_by_epoch: dict[int, float] = {}
        self._build_controls()
        self._build_layout()
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._flush_reports)
        self.start_button.clicked.connect(self.start_clicked)
        self.stop_button.clicked.connect(self.request_stop)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.show_message("")
        self._show_result_text("", "")
        self._set_idle_state()

    # ------------------------------------------------------------------------------------------- building

    def _build_controls(self) -> None:
        """Create the buttons, progress bar, message and result lines, and the curves."""
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
        self.result_details_label = ElidedLabel()  # one line: a long checkpoint path must not push the curves down
        for label in (self.result_label, self.result_details_label):
            policy = label.sizePolicy()
            policy.setRetainSizeWhenHidden(True)  # the result row's height is kept, so the curves never jump
            label.setSizePolicy(policy)
        self.curves = LossAccuracyCurves()
        self.curves.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.rescore_chart = RescoreChart()
        self.rescore_chart.setVisible(False)  # shown for runs with a drawing on the canvas

    def _build_layout(self) -> None:
        """Progress and buttons on top, then the message and result lines, then the curves."""
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.start_button)
        progress_row.addWidget(self.pause_button)
        progress_row.addWidget(self.stop_button)
        result_row = QHBoxLayout()
        result_row.addWidget(self.result_label)
        result_row.addWidget(self.result_details_label, 1)
        right = QVBoxLayout(self)
        right.setContentsMargins(0, 0, 0, 0)
        right.addLayout(progress_row)
        right.addWidget(self.message_label)
        right.addLayout(result_row)
        charts = QHBoxLayout()
        charts.addWidget(self.curves, 3)
        charts.addWidget(self.rescore_chart, 1)
        right.addLayout(charts, 1)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        """False: the dock's scroll area would otherwise size the panel to the wrapped message's preferred height.

        A scroll area gives a height-for-width widget its *preferred* height, so a wrapped message made the dock
        scroll and hid the charts' x axes; without it the panel takes the dock's height and the charts shrink.
        """
        return False

    # ------------------------------------------------------------------------------------------- running

    @property
    def is_running(self) -> bool:
        """True from Start until the training thread has ended."""
        return self._thread is not None

    @property
    def phase(self) -> str:
        """Where the run is: ``idle``, ``starting``, ``training``, ``validating``, ``testing`` or ``saving``."""
        return self._phase if self._thread is not None else "idle"

    def show_planned_epochs(self, epochs: int) -> None:
        """Until the first run, the empty charts span the epochs the form would train (whole-epoch ticks)."""
        if self.config is None:
            self.curves.show_epochs(epochs)

    def start(self, config: TrainConfig, epochs: int, batch_size: int, reference_model: str | None) -> None:
        """Train ``config`` in a worker thread; ``reference_model`` is the model file the result is compared with."""
        self._reset_run_state(config, epochs, batch_size)
        worker = TrainingWorker(config, self.models_folder, reference_model, drawing=self.latest_drawing.get)
        worker.rescored.connect(self._on_rescored)
        worker.batch_finished.connect(self._on_batch_finished)
        worker.batches_ended.connect(self._on_batches_ended)
        worker.epoch_finished.connect(self._on_epoch_finished)
        worker.fit_ended.connect(self._on_fit_ended)
        worker.trained.connect(self._on_trained)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self._thread = start_worker_thread(worker, "TrainingThread", self._on_thread_finished)
        self._set_running_state()
        self._flush_timer.start()
        self.running_changed.emit(True)

    def _reset_run_state(self, config: TrainConfig, epochs: int, batch_size: int) -> None:
        """Clear the previous run's curves, result and messages."""
        self.config = config
        self._run_epochs = epochs
        self._run_batch_size = batch_size
        self._result = None
        self._latest_batch = None
        self._shown_batch = None
        self._curves_drawn_at = 0.0
        self._stop_requested = False
        self._batches_ended = False
        self._training_series = TrainingSeries(batch_size)
        self._validation_points.clear()
        self._drawn_training = self._drawn_validation = 0
        self.samples_per_second_by_epoch = {}
        self._started_at = time.perf_counter()
        self._phase = "starting"
        self._log_folder_shown = False
        if config.tensorboard_dir:
            self.log_folder_found.emit(None)  # the run's own folder, once it is written
        self.curves.reset(epochs)
        self.rescore_chart.reset(epochs)
        self.rescore_chart.setVisible(self.latest_drawing.get() is not None)
        self._show_result_text("", "")
        self.show_message("")
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat("Starting TensorFlow and preparing the data…")

    @Slot()
    def request_stop(self) -> None:
        """Stop after the current batch; the model trained so far is still tested and offered."""
        if self._worker is None or self._stop_requested:
            return
        if not self._worker.request_stop():  # the last batch is behind the run: a stop could no longer take effect
            self._on_batches_ended()
            return
        self._stop_requested = True
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
            self.status_changed.emit("Training resumed.", 3000)
        elif not self._worker.pause():  # the last batch is behind the run: nothing is left to hold
            self._on_batches_ended()
        else:
            self.pause_button.setText("Resume")
            self.progress_bar.setFormat(f"Paused · {self.progress_bar.format()}")
            self.status_changed.emit("Training paused: Resume continues the same run.", 0)

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """End any run (stop, ``quit()``, ``wait()``; never terminate) without testing or saving; True when done."""
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
        try:
            thread.finished.disconnect(thread.deleteLater)  # the exit wait owns it now
        except (RuntimeError, TypeError):
            pass
        keep_until_finished(thread)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Closing the panel as a top-level window ends its run first."""
        self.shutdown()
        super().closeEvent(event)

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

    @Slot()
    def _on_batches_ended(self) -> None:
        """No batch is left (the last one is over, a stop was taken, early stopping or a NaN loss ended the run):
        Pause and Stop can no longer do anything, and the progress says what the run is finishing."""
        if self._worker is None or self._batches_ended:
            return
        self._batches_ended = True
        self._disable_pause_and_stop()
        if self._stop_requested and self._worker.stop_was_taken:
            return  # "Stopping…" holds until the stopped run's report
        self._stop_requested = False  # asked for after the last stop check (if at all): the run ends as it would
        if self.pause_button.text() == "Resume":  # paused after the last batch end: nothing was held, say so
            self.status_changed.emit("No batch was left to pause at: the run is finishing.", 5000)
        self.stop_button.setText("Stop")
        self.pause_button.setText("Pause")
        if self._phase == "validating":  # the last batch is over; Keras validates its epoch, then the run is tested
            self._flush_reports(force=True)  # the last batch's figures, then what the run is doing now
            self.progress_bar.setFormat(FINISHING_LAST_EPOCH)
        elif self._phase in ("starting", "training"):  # early stopping after an epoch's report, or a NaN loss
            self._phase = "testing"
            self._shown_batch = None  # the progress text loses "Paused" if a pause was let go
            self._flush_reports(force=True)
            self.progress_bar.setFormat(TESTING_AND_CALIBRATING)

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
        if self.config is not None and self.config.tensorboard_dir and not self._log_folder_shown:
            self._log_folder_shown = True
            self.log_folder_found.emit(self.config.tensorboard_dir)  # written now; the run's subfolder at the end
        batches_over = self._batches_ended or bool(report.get("partial"))  # else a stop waits for the next batch end
        if report["epoch"] >= (report.get("epochs") or 0) or batches_over:
            self._phase = "testing"
            self._disable_pause_and_stop()  # no batches are left to pause between or stop after
            self._flush_reports(force=True)
            if self._stop_requested:  # a stopped run is tested, not calibrated (no one is kept waiting)
                self.progress_bar.setFormat("Testing the model on the test set…")
            else:  # then its temperature and not-a-digit decision: up to a minute on 2 cores
                self.progress_bar.setFormat(TESTING_AND_CALIBRATING)

    @Slot(dict)
    def _on_rescored(self, report: dict) -> None:
        """The drawing re-scored: one more point per class on the chart; filters go on to the window."""
        if self._worker is None:
            return
        if report.get("probabilities") is not None:
            self.rescore_chart.add(report)
            self.rescore_chart.setVisible(True)
        self.rescored.emit(report)

    @Slot()
    def _on_fit_ended(self) -> None:
        """Training and testing are done; the worker now saves the model."""
        if self._worker is not None:
            self._phase = "saving"
            self._disable_pause_and_stop()  # a run that ended early (a NaN, say) never sent its last epoch
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
        self.show_message(in_window_words(message), "error")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Training failed")
        self.failed.emit(message)

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
            paused = "Paused · " if self.is_paused else ""
            self.progress_bar.setFormat(paused + format_progress(report, self._run_batch_size))
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

    def _show_result(self, result: dict[str, Any]) -> None:
        """Show the test accuracy and how the run ended."""
        accuracy = result.get("test_accuracy")
        elapsed = format_duration(time.perf_counter() - self._started_at)
        epochs = int(result.get("epochs_completed") or 0)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        headline = f"Test accuracy {accuracy:.2%}" if accuracy is not None and math.isfinite(accuracy) else ""
        built = f"continued {result.get('preset') or 'model'}" if result.get("continued") else result.get("preset")
        details = f"{built} · {epochs_trained(epochs, self._latest_batch, bool(result.get('stopped_by_user')))}"
        details += f" · {elapsed}"
        if result.get("device"):
            details += f" · {result['device']}"
        if result.get("checkpoint_path"):
            details += f" · best epoch ({result.get('checkpoint_epoch')}) saved to {result['checkpoint_path']}"
        self._show_result_text(headline, details)
        if result.get("tensorboard_run_dir"):
            self.log_folder_found.emit(result["tensorboard_run_dir"])
        self.curves.show_test_accuracy(accuracy)
        reason = result.get("stop_reason")
        if result.get("stopped_by_user"):
            self.progress_bar.setFormat(stopped_by_you(epochs, self._latest_batch))
        elif reason:
            self.progress_bar.setFormat("Training stopped early")
        else:
            self.progress_bar.setFormat("Training finished")
        notes = " ".join(result.get("notes") or [])  # files skipped in a streamed folder, a float32 fallback
        if reason and not result.get("stopped_by_user"):
            self.show_message(f"{reason} {notes}".strip(), "warning")
        elif notes:
            self.show_message(notes, "warning")
        if not result.get("path"):
            self.show_message(
                (reason + " " if reason else "") + "No usable model was produced, so none is offered.", "warning"
            )

    def _show_result_text(self, headline: str, details: str) -> None:
        """Show (or hide, keeping its height) the result line: the test accuracy in large type, then how it went."""
        self.result_label.setText(headline)
        self.result_details_label.setText(details)
        self.result_label.setVisible(bool(headline))
        self.result_details_label.setVisible(bool(details))

    def show_message(self, text: str, kind: str = "info") -> None:
        """Show (or clear) a message line: ``error`` in red, ``warning`` in amber."""
        colors = {"error": "#c62828", "warning": "#b26a00"}
        self.message_label.setStyleSheet(f"color: {colors[kind]};" if kind in colors else "")
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _set_running_state(self) -> None:
        """Disable Start; enable Stop and Pause."""
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.stop_button.setText("Stop")
        self.pause_button.setEnabled(True)
        self.pause_button.setText("Pause")

    def _disable_pause_and_stop(self) -> None:
        """Training is over (the run is being tested or saved): Pause and Stop would do nothing now."""
        self.pause_button.setEnabled(False)
        self.stop_button.setEnabled(False)

    def _set_idle_state(self) -> None:
        """Enable Start; disable Stop and Pause."""
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stop")
        self.pause_button.setEnabled(False)
        self.pause_button.setText("Pause")
        if self._latest_batch is None and not self.result_label.text() and self.progress_bar.maximum() != 1:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat("Ready to train")
