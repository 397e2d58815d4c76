"""Preset parameter counts for the training panel, computed in a worker thread (each count builds a Keras model)."""

from __future__ import annotations

import math
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.common.threads import start_worker_thread
from ml.models.presets import get_preset

CountKey = tuple[str, tuple[int, ...], int]  # preset name, input shape, number of classes
MNIST_SHAPE = (28, 28, 1)
DEFAULT_FOLDER_SIZE = 32
DEFAULT_CLASS_COUNT = 10


def folder_class_count(folder: str | None) -> int:
    """How many class subfolders an image folder has (10 when it cannot be read yet)."""
    if not folder:
        return DEFAULT_CLASS_COUNT
    try:
        count = sum(1 for entry in Path(folder).iterdir() if entry.is_dir() and not entry.name.startswith("."))
    except OSError:
        return DEFAULT_CLASS_COUNT
    return count if count >= 2 else DEFAULT_CLASS_COUNT


def model_input(
    preset_name: str,
    dataset: str | None,
    folder: str | None = None,
    image_size: int | None = None,
    color_mode: str = "grayscale",
) -> tuple[tuple[int, ...], int]:
    """The (input shape, class count) a preset's model gets for a dataset choice, as ``fit`` builds it."""
    preset = get_preset(preset_name)
    if dataset == "folder":
        size = int(image_size or DEFAULT_FOLDER_SIZE)
        shape: tuple[int, ...] = (size, size, 3 if color_mode == "rgb" else 1)
        classes = folder_class_count(folder)
    else:
        shape, classes = MNIST_SHAPE, DEFAULT_CLASS_COUNT  # MNIST, Fashion-MNIST, sklearn digits as 28x28 images
        if dataset == "sklearn-digits" and preset.representation == "features":
            return (64,), classes  # the 8x8 pixels themselves
    if preset.representation == "features":
        shape = (math.prod(shape),)
    return shape, classes


class ParameterCountWorker(QObject):
    """Builds each requested preset model once, off the GUI thread, and reports its parameter count."""

    counted = Signal(object, object)  # CountKey, int (or None when the model cannot be built for that input)
    finished = Signal()

    def __init__(self, requests: list[CountKey]) -> None:
        super().__init__()
        self.requests = list(requests)
        self._stop_requested = threading.Event()

    def request_stop(self) -> None:
        """Skip the remaining counts (the one being built finishes first)."""
        self._stop_requested.set()

    @Slot()
    def run(self) -> None:
        """Count each request in turn; always emit ``finished``."""
        try:
            from ml.models.presets import parameter_count

            for key in self.requests:
                if self._stop_requested.is_set():
                    break
                name, shape, classes = key
                try:
                    count: int | None = parameter_count(name, shape, classes)
                except Exception:  # noqa: BLE001 - a preset that does not fit this input has no count
                    count = None
                self.counted.emit(key, count)
        finally:
            self.finished.emit()


class ParameterCounter(QObject):
    """Remembers preset parameter counts and computes missing ones in a worker thread, one batch at a time."""

    counted = Signal(str)  # a preset whose count for some input is now known

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.counts: dict[CountKey, int | None] = {}
        self._waiting: list[CountKey] = []
        self._thread: QThread | None = None
        self._worker: ParameterCountWorker | None = None
        self._stopped = False

    @property
    def is_counting(self) -> bool:
        """True while a worker thread is building models."""
        return self._thread is not None

    def parameters(self, key: CountKey) -> int | None:
        """The count for ``key`` if known (None also when the preset cannot take that input)."""
        return self.counts.get(key)

    def is_known(self, key: CountKey) -> bool:
        """True once ``key`` has been counted."""
        return key in self.counts

    def request(self, keys: list[CountKey]) -> None:
        """Count the keys not yet known, first ones first (after the batch that is running)."""
        fresh = [key for key in dict.fromkeys(keys) if key not in self.counts]
        self._waiting = fresh + [key for key in self._waiting if key not in fresh]
        self._start_if_idle()

    def _start_if_idle(self) -> None:
        if self._thread is not None or not self._waiting or self._stopped:
            return
        worker = ParameterCountWorker(self._waiting)
        self._waiting = []
        worker.counted.connect(self._on_counted)
        self._worker = worker
        self._thread = start_worker_thread(worker, "ParameterCountThread", self._on_thread_finished)

    @Slot(object, object)
    def _on_counted(self, key: CountKey, count: int | None) -> None:
        self.counts[key] = count
        self._waiting = [waiting for waiting in self._waiting if waiting != key]
        self.counted.emit(key[0])

    @Slot()
    def _on_thread_finished(self) -> None:
        if self.sender() is not self._thread or self._thread is None:
            return
        self._thread.wait()  # returns at once: it has ended
        self._thread = self._worker = None
        self._start_if_idle()

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop counting and join the thread (quit, wait; never terminate); True when it has ended."""
        self._stopped = True
        self._waiting = []
        thread, worker = self._thread, self._worker
        if thread is None or worker is None:
            return True
        worker.request_stop()
        try:
            thread.finished.disconnect(thread.deleteLater)
        except (RuntimeError, TypeError):
            pass
        thread.quit()  # ends its event loop once the worker returns (its own quit would wait for this thread)
        if thread.wait(max(0, int(timeout_ms))):
            self._thread = self._worker = None
            thread.deleteLater()
            return True
        from app.common.threads import keep_until_finished

        keep_until_finished(thread)  # still importing Keras: it ends on its own soon
        return False
