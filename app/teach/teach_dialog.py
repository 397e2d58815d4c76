"""The Teach window: what will be taught, the loss curve, progress and Stop; the result with before/after."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.common.curves import CurveBuffer, LossAccuracyCurves, TrainingSeries
from app.common.threads import keep_until_finished, start_worker_thread
from app.common.widgets import ask_yes_or_no
from app.teach.worker import TeachWorker
from ml.plurals import plural
from ml.teach.forgetting import Forgetting, harmful_test_drop
from ml.teach.held_back import held_back_count

logger = logging.getLogger(__name__)
DEFAULT_EPOCHS = 15  # TeachSettings().epochs (ml.teach.teaching imports TensorFlow: not on the start-up path)
TEACH_BATCH_SIZE = 32  # ml.teach.teaching.TeachSettings' batch size: un-averages Keras's running epoch means
HARM_STYLE = (
    "QFrame#TeachHarm { background: #fdecea; border: 1px solid #d9534f; border-radius: 4px; }"
    "QFrame#TeachHarm QLabel { color: #7a1212; }"
)
WENT_BACK_STYLE = "QFrame#TeachHarm { background: #eef5ee; border: 1px solid #8bbf8b; border-radius: 4px; }"


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
            f"MNIST test ({plural(record.get('test_images', 0), 'image')}): {_percent(record.get('test_before'))} → "
            f"{_percent(record.get('test_after'))}"
        )
    else:
        lines.append("No test set fits this model, so forgetting could not be measured.")
    if record.get("user_slant"):
        side, slant = ("right" if record["user_slant"] > 0 else "left"), abs(record["user_slant"])
        lines.append(f"Your slant ({side}, {slant:.1f} px per row) was taught with MNIST digits slanted to match.")
    return "\n".join(lines)


def forgetting_words(drop: Forgetting) -> str:
    """``MNIST test 99.7 % → 93.1 %: it now misreads 660 more of the 10,000 test digits``."""
    more = f"{drop.more_misread:,} more" if drop.more_misread else "more"
    return (
        f"MNIST test {_percent(drop.before)} → {_percent(drop.after)}: "
        f"it now misreads {more} of the {drop.images:,} test digits"
    )


def harm_status_text(drop: Forgetting) -> str:
    """The status bar's words once a harmful version is active (short: the model's name is shown beside them)."""
    return (
        f"⚠ The taught version reads ordinary digits worse (MNIST test {_percent(drop.before)} → "
        f"{_percent(drop.after)}: {drop.more_misread:,} more of the {drop.images:,} misread). "
        "Go back: Model ▸ Switch to previous model."
    )


def same_file(first: str | None, second: str | None) -> bool:
    """True when both paths name the same file (a version's path is resolved; the window's may not be)."""
    return bool(first and second) and Path(first).resolve() == Path(second).resolve()


def samples_words(counts: dict[str, int]) -> str:
    """``your 12 samples (3: 5, 7: 7)``, or ``your 1 sample (7: 1)``."""
    total = sum(counts.values())
    per_class = ", ".join(f"{name}: {count}" for name, count in counts.items())
    return f"your {plural(total, 'sample')} ({per_class})"


def held_back_words(counts: dict[str, int]) -> str:
    """What is held back to measure the result, as ``ml.teach.held_back`` will choose it."""
    held = sum(held_back_count(count) for count in counts.values())
    if held == 0:
        return "None is held back to measure the result (a class needs 3 samples or more)"
    verb = "is" if held == 1 else "are"
    return f"{held} of them (a fifth of each class of 3 or more) {verb} held back to measure the result"


def split_by_class(counts: dict[str, int], class_names: list[str] | None) -> tuple[dict[str, int], dict[str, int]]:
    """``counts`` split into the classes the model scores and the others (the teach leaves those out)."""
    if class_names is None:
        return dict(counts), {}
    known = {name: count for name, count in counts.items() if name in class_names}
    return known, {name: count for name, count in counts.items() if name not in known}


def left_out_words(model_name: str, unknown: dict[str, int]) -> str:
    """`` Left out: 1 sample (x: 1), of classes digitlab-best does not score.`` (empty when none is)."""
    if not unknown:
        return ""
    per_class = ", ".join(f"{name}: {count}" for name, count in unknown.items())
    left_out = f"{plural(sum(unknown.values()), 'sample')} ({per_class})"
    return f" Left out: {left_out}, of classes {model_name} does not score."


class TeachDialog(QDialog):
    """Runs one teach (a TeachWorker in its thread) and shows its progress; Stop leaves the model as it was."""

    version_made = Signal(dict)
    status_changed = Signal(str, int)
    go_back_requested = Signal(dict)  # a harmful version made here: make the version it was taught from active again

    def __init__(
        self,
        model_path: str,
        model_name: str,
        counts: dict[str, int],
        folders: tuple[Path, Path],
        parent: QWidget | None = None,
        replay: bool = True,
        keep_original_copy: bool = False,
        class_names: list[str] | None = None,
    ) -> None:
        """``counts``: samples per label in My samples; ``class_names``: the model's (None: every label is one)."""
        super().__init__(parent)
        self.setObjectName("TeachDialog")
        self.setWindowTitle("Teach it your handwriting")
        self.samples_folder, self.versions_folder = folders
        self._thread: QThread | None = None
        self._worker: TeachWorker | None = None
        self.intro = intro = QLabel()
        intro.setWordWrap(True)
        self.counts = dict(counts)
        # A teach that reads the original test set clearly worse says so here, with the way back to the version
        # before (the window's own switch: Model ▸ Switch to previous model, or History's).
        self._harmful: dict | None = None
        self.harm_note = QLabel()
        self.harm_note.setObjectName("TeachHarmNote")
        self.harm_note.setWordWrap(True)
        self.harm_note.setTextFormat(Qt.TextFormat.RichText)
        self.go_back_button = QPushButton()
        self.go_back_button.setObjectName("TeachGoBack")
        self.go_back_button.clicked.connect(self.go_back)
        self.harm_box = QFrame()
        self.harm_box.setObjectName("TeachHarm")
        harm_layout = QHBoxLayout(self.harm_box)
        harm_layout.addWidget(self.harm_note, 1)
        harm_layout.addWidget(self.go_back_button)
        self.harm_box.hide()
        self.set_model(model_path, model_name, replay, keep_original_copy, class_names)
        self.epochs = QSpinBox(minimum=1, maximum=100, value=DEFAULT_EPOCHS)
        self.epochs.setSuffix(" epochs")
        self.epochs.valueChanged.connect(lambda value: self.epochs.setSuffix(" epoch" if value == 1 else " epochs"))
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
        # The training dock's curves: loss and accuracy per batch (smoothed), the held-back samples per epoch.
        self.curves = LossAccuracyCurves(self, validation_name="your held-back samples, per epoch")
        self.curves.setMinimumHeight(200)
        self.curves.reset(DEFAULT_EPOCHS)
        self._series = TrainingSeries(TEACH_BATCH_SIZE)
        self._held_back_points = CurveBuffer(3)  # epoch, loss, accuracy
        controls = QHBoxLayout()
        controls.addWidget(self.epochs)
        controls.addStretch(1)
        for button in (self.start_button, self.stop_button, self.close_button):
            controls.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.harm_box)
        layout.addWidget(self.state)
        layout.addLayout(controls)
        self.resize(760, 480)

    def set_model(
        self,
        model_path: str,
        model_name: str,
        replay: bool = True,
        keep_original_copy: bool = False,
        class_names: list[str] | None = None,
    ) -> None:
        """The model the next Teach teaches (the window's active one: after a teach, the version it made)."""
        self.model_path = model_path
        self.model_name = model_name
        self.replay = replay
        self.keep_original_copy = keep_original_copy
        self.class_names = class_names
        self._describe()
        self._follow_the_way_back()

    def set_counts(self, counts: dict[str, int]) -> None:
        """My samples' counts per label now (a correction or a deletion since the window opened)."""
        self.counts = dict(counts)
        self._describe()

    def _describe(self) -> None:
        known, unknown = split_by_class(self.counts, self.class_names)
        what = f"Teach <b>{self.model_name}</b> {samples_words(known)}. {held_back_words(known)}"
        text = (
            f"{what}; the model also revisits its original training data so it does not forget. "
            "The result is a new version; the current one stays one click away (Model ▸ History)."
        )
        if not self.replay:
            text = (
                f"{what}. <b>This model does not say what it was trained on</b>, so it is taught on "
                "your samples alone and may forget some of what it knew; its test-set accuracy before and after is "
                "measured when a test set fits. The result is a new version (Model ▸ History)."
            )
        self.intro.setText(text + left_out_words(self.model_name, unknown))

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
        self._harmful = None
        self.harm_box.hide()
        self._series = TrainingSeries(TEACH_BATCH_SIZE)
        self._held_back_points.clear()
        self.curves.reset(epochs)
        self.progress.setRange(0, epochs)
        self.progress.setValue(0)
        worker = TeachWorker(
            self.model_path, self.model_name, self.samples_folder, self.versions_folder, epochs, self.keep_original_copy
        )
        worker.message.connect(self.state.setText)
        worker.batch_finished.connect(self._on_batch)
        worker.epoch_finished.connect(self._on_epoch)
        worker.taught.connect(self._on_taught)
        worker.stopped.connect(self._on_stopped)
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

    @Slot(dict)
    def _on_batch(self, report: dict) -> None:
        steps = max(1, int(report["steps"]))
        self.progress.setRange(0, int(report["epochs"]) * steps)
        self.progress.setValue((int(report["epoch"]) - 1) * steps + int(report["batch"]))
        self._series.add(report)
        self.curves.set_training(*self._series.points.columns())
        if report["batch"] == 1:
            self.state.setText(f"Epoch {report['epoch']} of {report['epochs']}…")

    @Slot(dict)
    def _on_epoch(self, progress: dict) -> None:
        self.progress.setValue(self.progress.maximum() * progress["epoch"] // progress["epochs"])
        text = f"Epoch {progress['epoch']} of {progress['epochs']}: loss {progress['loss']:.4f}"
        if progress.get("held_back_accuracy") is not None:
            self._held_back_points.append(progress["epoch"], progress["held_back_loss"], progress["held_back_accuracy"])
            self.curves.set_validation(*self._held_back_points.columns())
            text += f", your held-back samples {100 * progress['held_back_accuracy']:.0f} %"
        self.state.setText(text)

    def _on_taught(self, version: dict) -> None:
        text = f"Made {version['name']}.\n{result_text(version['record'])}"
        if version["warnings"]:
            text += "\n⚠ " + " ".join(version["warnings"])
        self.state.setText(text)
        self._show_harm(version)
        self.version_made.emit(version)

    def _show_harm(self, version: dict) -> None:
        """A version that reads the original test set clearly worse: say so, and offer the version before."""
        drop = harmful_test_drop(version["record"])
        self._harmful = None if drop is None else version
        self.harm_box.setVisible(drop is not None)
        if drop is None:
            return
        self.harm_box.setStyleSheet(HARM_STYLE)
        name, parent = html.escape(version["name"]), html.escape(version["parent_name"])
        self.harm_note.setText(
            f"<b>⚠ This teach made the model worse at ordinary digits.</b> {html.escape(forgetting_words(drop))}. "
            f"{name} is the active model now: unless you meant this, go back to {parent} "
            "(the taught version stays in Model ▸ History)."
        )
        self.go_back_button.setText(f"Go back to {version['parent_name']}")
        self.go_back_button.setEnabled(True)
        self.go_back_button.show()

    @Slot()
    def go_back(self) -> None:
        """Make the version the harmful teach was taught from active again (the window does it)."""
        if self._harmful is None:
            return
        self.go_back_button.setEnabled(False)
        self.go_back_requested.emit(dict(self._harmful))

    def _follow_the_way_back(self) -> None:
        """After a harmful teach: once the version before is active again, say so; while the taught one is, offer
        the way back."""
        version = self._harmful
        if version is None:
            return
        if same_file(self.model_path, version["path"]):
            self._show_harm(version)  # active (again): the warning and the way back
        elif any(same_file(self.model_path, version[key]) for key in ("taught_from", "parent_path")):
            self.go_back_button.hide()
            self.harm_box.setStyleSheet(WENT_BACK_STYLE)
            self.harm_note.setText(
                f"Went back to {html.escape(self.model_name)}: the harmful version is no longer active "
                "(it stays in Model ▸ History)."
            )

    @Slot()
    def _on_stopped(self) -> None:
        self.state.setText("Stopped: the model was left as it was; nothing was saved.")

    @Slot(str)
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
        """Closing mid-teach asks first; then it stops the teach (nothing is saved)."""
        if self.is_running and not self._stopping():
            question = "Teaching is running: stop it and close? Nothing of this teach is saved."
            if not ask_yes_or_no(self, "Teaching is running", question):
                event.ignore()
                return
        self.stop()
        super().closeEvent(event)

    def _stopping(self) -> bool:
        """True once Stop was asked for (the teach is winding down: closing throws nothing more away)."""
        return self._worker is not None and not self.stop_button.isEnabled()
