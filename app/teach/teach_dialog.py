"""The Teach window: what will be taught, the loss curve, progress and Stop; the result with before/after."""

from __future__ import annotations

import logging
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QThread, Signal, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.common.threads import keep_until_finished, start_worker_thread
from app.teach.worker import TeachWorker

logger = logging.getLogger(__name__)
DEFAULT_EPOCHS = 10


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def result_text(record: dict) -> str:
    """Before → after on the held-back samples and the test set, in two lines."""
    held = record.get("held_back", 0)
    lines = [
        f"Your held-back samples ({held}): {_percent(record.get('samples_before'))} → "
        f"{_percent(record.get('samples_after'))}"
        if held
        else "No samples were held back (too few per class) to measure your style."
    ]
    if record.get("test_set"):
        lines.append(
            f"MNIST test ({record.get('test_images', 0):,} images): {_percent(record.get('test_before'))} → "
            f"{_percent(record.get('test_after'))}"
        )
    else:
        lines.append("No test set fits this model, so forgetting could not be measured.")
    return "\n".join(lines)


class TeachDialog(QDialog):
    """Runs one teach (a TeachWorker in its thread) and shows its progress; Stop leaves the model as it was."""

    version_made = Signal(dict)
    status_changed = Signal(str, int)

    def __init__(
        self,
        model_path: str,
        model_name: str,
        counts: dict[str, int],
        folders: tuple[Path, Path],
        parent: QWidget | None = None,
        replay: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("TeachDialog")
        self.setWindowTitle("Teach it your handwriting")
        self.model_path = model_path
        self.model_name = model_name
        self.samples_folder, self.versions_folder = folders
        self._thread: QThread | None = None
        self._worker: TeachWorker | None = None
        total = sum(counts.values())
        per_class = ", ".join(f"{name}: {count}" for name, count in counts.items())
        intro = QLabel(
            f"Teach <b>{model_name}</b> your {total} samples ({per_class}). A fifth of each class is held back to "
            "measure the result; the model also revisits its original training data so it does not forget. "
            "The result is a new version; the current one stays one click away (Model ▸ History)."
        )
        if not replay:
            intro.setText(
                f"Teach <b>{model_name}</b> your {total} samples ({per_class}). A fifth of each class is held back "
                "to measure the result. <b>This model does not say what it was trained on</b>, so it is taught on "
                "your samples alone and may forget some of what it knew; its test-set accuracy before and after is "
                "measured when a test set fits. The result is a new version (Model ▸ History)."
            )
        intro.setWordWrap(True)
        self.intro = intro
        self.epochs = QSpinBox(minimum=1, maximum=100, value=DEFAULT_EPOCHS)
        self.epochs.setSuffix(" epochs")
        self.start_button = QPushButton("Teach")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        self.progress = QProgressBar()
        self.progress.setRange(0, DEFAULT_EPOCHS)
        self.progress.setValue(0)
        self.state = QLabel("Ready.")
        self.state.setWordWrap(True)
        self.plot = pg.PlotWidget(background=None)
        self.plot.setMinimumHeight(160)
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "loss")
        self.plot.setMouseEnabled(x=False, y=False)
        colour = self.palette().color(QPalette.ColorRole.Highlight)
        self.curve = self.plot.plot(
            [], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6, symbolBrush=colour, symbolPen=None
        )
        self._losses: list[float] = []
        controls = QHBoxLayout()
        controls.addWidget(self.epochs)
        controls.addStretch(1)
        for button in (self.start_button, self.stop_button, self.close_button):
            controls.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.state)
        layout.addLayout(controls)
        self.resize(560, 420)

    @property
    def is_running(self) -> bool:
        """True while a teach runs."""
        return self._thread is not None

    @Slot()
    def start(self) -> None:
        """Start teaching in a worker thread."""
        if self._thread is not None:
            return
        epochs = self.epochs.value()
        self._losses = []
        self.curve.setData([], [])
        self.progress.setRange(0, epochs)
        self.progress.setValue(0)
        worker = TeachWorker(self.model_path, self.model_name, self.samples_folder, self.versions_folder, epochs)
        worker.message.connect(self.state.setText)
        worker.epoch_finished.connect(self._on_epoch)
        worker.taught.connect(self._on_taught)
        worker.stopped.connect(lambda: self.state.setText("Stopped: the model was left as it was; nothing was saved."))
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self.start_button.setEnabled(False)
        self.epochs.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._thread = start_worker_thread(worker, "Teach", self._on_thread_finished)

    @Slot()
    def stop(self) -> None:
        """Ask the teach to stop (it stops at the next batch)."""
        if self._worker is not None:
            self._worker.request_stop()
            self.state.setText("Stopping…")
            self.stop_button.setEnabled(False)

    def _on_epoch(self, progress: dict) -> None:
        self._losses.append(progress["loss"])
        self.curve.setData(list(range(1, len(self._losses) + 1)), self._losses)
        self.progress.setValue(progress["epoch"])
        self.state.setText(f"Epoch {progress['epoch']} of {progress['epochs']}: loss {progress['loss']:.4f}")

    def _on_taught(self, version: dict) -> None:
        text = f"Made {version['name']}.\n{result_text(version['record'])}"
        if version["warnings"]:
            text += "\n⚠ " + " ".join(version["warnings"])
        self.state.setText(text)
        self.version_made.emit(version)

    def _on_failed(self, message: str) -> None:
        self.state.setText(message)
        self.status_changed.emit(message, 10000)

    def _on_thread_finished(self) -> None:
        self._thread = None
        self._worker = None
        self.start_button.setEnabled(True)
        self.epochs.setEnabled(True)
        self.stop_button.setEnabled(False)

    def shutdown(self, timeout_ms: int = 2000) -> None:
        """Stop a running teach and wait for it; past the timeout its thread and worker are held until it ends
        (the worker then saves nothing)."""
        if self._thread is not None:
            self.stop()
            self._thread.quit()  # ends its event loop once the worker returns (its own quit would wait for us)
            if not self._thread.wait(timeout_ms):
                keep_until_finished(self._thread, self._worker)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Closing stops a running teach (nothing is saved)."""
        self.stop()
        super().closeEvent(event)
