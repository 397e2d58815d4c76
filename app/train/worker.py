"""The training job as a QObject worker: runs ``ml.training.fit.fit`` in its own QThread and reports through signals."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.models.inspection import filter_dict
from ml.training.config import PauseGate, TrainConfig

OUT_OF_MEMORY_MESSAGE = "Out of memory — try a smaller batch size."
KEPT_TRAINED_MODELS = 10


class TrainingAbandoned(Exception):
    """Raised from the stop check when the window is closing: skip validation, testing and saving."""


def is_out_of_memory(error: BaseException) -> bool:
    """True when ``error`` or anything in its cause chain is a host or device out-of-memory error."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError) or type(current).__name__ == "ResourceExhaustedError":
            return True
        if "OOM when allocating" in str(current) or "out of memory" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def was_abandoned(error: BaseException) -> bool:
    """True when ``error`` was caused by :class:`TrainingAbandoned` (the window closed mid-run)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TrainingAbandoned):
            return True
        current = current.__cause__ or current.__context__
    return False


def describe_error(error: BaseException) -> str:
    """A plain-words message for an error raised while training or saving."""
    from ml.errors import DatasetError, TrainingError

    if is_out_of_memory(error):
        return OUT_OF_MEMORY_MESSAGE
    if isinstance(error, TrainingError | DatasetError):
        return str(error)
    if type(error).__name__ == "ModelFileError":
        return f"Training finished, but the model could not be saved: {error}"
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return f"Training failed: {type(error).__name__}: {error}"


def good_epoch_count(history: dict[str, list[float]]) -> int:
    """Epochs whose training loss stayed finite (a NaN epoch's weights were rolled back)."""
    return sum(1 for loss in history.get("loss", []) if math.isfinite(loss))


def model_preset(result) -> str | None:
    """The preset the run's model was built from: a continued model's own, not the one lending the defaults."""
    return result.continued_preset if result.config.fine_tune_from else result.config.preset


def prune_trained_models(folder: Path, keep: int = KEPT_TRAINED_MODELS) -> None:
    """Delete all but the ``keep`` newest ``.keras`` files in the trained-models cache folder."""
    files = sorted(folder.glob("*.keras"), key=lambda path: path.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        try:
            old.unlink()
        except OSError:
            pass  # in use or already gone: the next run tries again


class TrainingWorker(QObject):
    """Runs one training run (``ml.training.fit.fit``) off the GUI thread; stops cooperatively between batches."""

    batch_finished = Signal(dict)
    batches_ended = Signal()  # no batch is left to pause between or stop after: the run is finishing
    epoch_finished = Signal(dict)
    fit_ended = Signal()
    rescored = Signal(dict)  # the drawing scored by the weights being trained (ml.training.rescore's report)
    trained = Signal(dict)
    failed = Signal(str)
    finished = Signal()

    def __init__(
        self,
        config: TrainConfig,
        models_folder: Path,
        reference_model: str | None = None,
        drawing: Callable[[], Any] | None = None,
    ) -> None:
        """``reference_model``: the active model's file, measured on the run's test set so the two compare fairly;
        ``drawing``: returns the canvas's 28x28 (or None), re-scored as the model learns (in this worker's thread)."""
        super().__init__()
        self.config = config
        self.drawing = drawing
        self.models_folder = Path(models_folder)
        self.reference_model = reference_model
        self._stop_requested = threading.Event()
        self._abandon_requested = threading.Event()
        self.pause_gate = PauseGate()  # holds the run between batches while paused (fit waits on it)
        self._batch_lock = threading.Lock()  # a pause or stop is either taken by a batch end or refused, never lost
        self._last_batch_reported = False
        self._batches_over = False
        self._stop_taken = False  # a stop request was seen at a batch end (not one that came after the batches)

    def request_stop(self) -> bool:
        """Ask the run to stop after the current batch (the model trained so far is tested and kept); False when
        its batches are over, so a stop can no longer take effect."""
        with self._batch_lock:
            if self._batches_over:
                return False
            self._stop_requested.set()
            return True

    def request_abandon(self) -> None:
        """Ask the run to end after the current batch without validating, testing or saving (window closing)."""
        self._abandon_requested.set()
        self._stop_requested.set()

    def pause(self) -> bool:
        """Hold the run at the end of the current batch (Stop still works while paused); False when its batches
        are over, so there is nothing left to hold."""
        with self._batch_lock:
            if self._batches_over:
                return False
            self.pause_gate.pause()
            return True

    def resume(self) -> None:
        """Let a paused run continue with its next batch."""
        self.pause_gate.resume()

    @property
    def is_paused(self) -> bool:
        """True between ``pause()`` and ``resume()``."""
        return self.pause_gate.paused

    @property
    def stop_was_requested(self) -> bool:
        """True once a stop (or abandon) has been asked for."""
        return self._stop_requested.is_set()

    @property
    def stop_was_taken(self) -> bool:
        """True once a stop was seen at a batch end: the run stops there (a stop asked for later changes nothing)."""
        return self._stop_taken

    @property
    def batches_are_over(self) -> bool:
        """True once no batch is left: the last one has been checked for a stop, a stop has been taken, or fit has
        said its batches are over (early stopping, a NaN loss)."""
        return self._batches_over

    def should_stop(self) -> bool:
        """The stop check ``fit`` calls at every batch end (in the worker thread); a stop it sees ends the batches."""
        if self._abandon_requested.is_set():
            raise TrainingAbandoned
        with self._batch_lock:
            stopping = self._stop_requested.is_set()
            ending = stopping and not self._batches_over
            self._stop_taken = self._stop_taken or ending
            self._batches_over = self._batches_over or stopping
        if ending:
            self.batches_ended.emit()
        return stopping

    def _report_batch(self, report: dict) -> None:
        """Send a batch report on, noting whether it was the run's very last batch."""
        epoch, epochs = int(report.get("epoch") or 0), int(report.get("epochs") or 0)
        batch, steps = int(report.get("batch") or 0), int(report.get("steps") or 0)
        self._last_batch_reported = 0 < epochs <= epoch and 0 < steps <= batch
        self.batch_finished.emit(report)

    def _hold_while_paused(self) -> None:
        """Hold the run while paused (``fit`` calls this at each batch end, then checks Stop once).

        After the last batch, that check is the last: pause and stop requests made from then on are refused, and
        ``batches_ended`` tells the window, so no button offers what can no longer happen.
        """
        while True:
            self.pause_gate.wait_while_paused(self.should_stop)
            with self._batch_lock:
                if not self._last_batch_reported:
                    return
                if self.pause_gate.paused and not self._stop_requested.is_set():
                    continue  # paused just as the gate let go: hold, as the Resume button says
                ending = not self._batches_over
                self._batches_over = True
            if ending:
                self.batches_ended.emit()
            return

    def _end_batches(self) -> None:
        """``fit`` says no batch is left (early stopping, a NaN loss, the last batch, a stop): refuse Pause and Stop
        from now on, let go of a pause nothing would hold, and tell the window once."""
        with self._batch_lock:
            ending = not self._batches_over
            self._batches_over = True
            self.pause_gate.resume()  # no batch end is left to hold the run at
        if ending:
            self.batches_ended.emit()

    @Slot()
    def run(self) -> None:
        """Train, test and save the model; emit ``trained`` or ``failed``, and always ``finished``."""
        try:
            summary = self._train_and_save()
        except BaseException as error:  # everything becomes a message: the thread must always end
            if not was_abandoned(error):
                self.failed.emit(describe_error(error))
        else:
            if summary is not None:
                self.trained.emit(summary)
        finally:
            self.finished.emit()

    def _train_and_save(self) -> dict[str, Any] | None:
        """Run ``fit`` and save its model to the cache folder; ``None`` when abandoned."""
        from ml.training.fit import fit
        from ml.training.rescore import Rescore

        rescore = None if self.drawing is None else Rescore(self.drawing, self._report_rescore)
        result = fit(
            self.config,
            on_batch=self._report_batch,
            on_epoch=self.epoch_finished.emit,
            should_stop=self.should_stop,
            wait_while_paused=self._hold_while_paused,
            rescore=rescore,
            on_batches_ended=self._end_batches,
        )
        self.fit_ended.emit()
        if self._abandon_requested.is_set():
            return None
        summary: dict[str, Any] = {
            "path": None,
            "test_accuracy": result.test_accuracy,
            "test_loss": result.test_loss,
            "preset": model_preset(result),
            "continued": bool(result.config.fine_tune_from),
            "dataset": result.config.dataset,
            "epochs_completed": result.epochs_completed,
            "stopped_by_user": result.stopped_by_user,
            "stop_reason": result.stop_reason,
            "device": result.device,
            "notes": list(result.notes),
            "wall_seconds": result.wall_seconds,
            "history": result.history,
            "config": result.config.to_dict(),
            "class_names": list(result.class_names),
            "tensorboard_run_dir": result.tensorboard_run_dir,
            "checkpoint_path": result.config.checkpoint_path if result.checkpoint_epoch is not None else None,
            "checkpoint_epoch": result.checkpoint_epoch,
        }
        diverged = result.stop_reason is not None and not result.stopped_by_user
        if diverged:
            summary["epochs_completed"] = good_epoch_count(result.history)
        tested = result.test_accuracy is not None and math.isfinite(result.test_accuracy)
        if summary["epochs_completed"] > 0 and tested:
            summary["path"] = str(self._save(result))
            summary.update(self._compare_with_reference(result))
        return summary

    def _report_rescore(self, report: dict) -> None:
        """Send a re-scoring as plain data (filter banks as dicts)."""
        filters = report.get("filters")
        self.rescored.emit({**report, "filters": None if filters is None else [filter_dict(bank) for bank in filters]})

    def _compare_with_reference(self, result) -> dict[str, Any]:
        """The active model's accuracy on this run's test set (or as recorded), for the window to compare."""
        from ml.training.reference import reference_accuracy

        if not self.reference_model:
            return {}
        reference = reference_accuracy(self.reference_model, result)
        return {
            "reference_path": self.reference_model,
            "reference_accuracy": None if reference is None else reference.accuracy,
            "reference_dataset": None if reference is None else reference.dataset,
            "reference_same_test_set": reference is not None and reference.same_test_set,
        }

    def _save(self, result) -> Path:
        """Save the trained model with its metadata to a fresh file in the cache folder."""
        from ml.errors import ModelFileError
        from ml.models.files import save_model

        try:
            self.models_folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ModelFileError(f"cannot create {self.models_folder}: {error.strerror or error}") from error
        prune_trained_models(self.models_folder, KEPT_TRAINED_MODELS - 1)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        prefix = "continued" if result.config.fine_tune_from else result.config.preset
        path = self.models_folder / f"{prefix}-{stamp}.keras"
        return save_model(result.model, path, result.metadata())
