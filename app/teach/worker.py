"""One teach in its own thread: read the samples, load the active model's file, teach a copy, save a new version."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from ml.plurals import plural

logger = logging.getLogger(__name__)


class TeachWorker(QObject):
    """Teaches the model at ``model_path`` on the samples in ``samples_folder``; the result is a new version.

    Signals carry plain data only. A stop or a failure saves nothing and leaves the active model as it was.
    """

    message = Signal(str)
    batch_finished = Signal(dict)
    epoch_finished = Signal(dict)
    taught = Signal(dict)
    stopped = Signal()
    failed = Signal(str)
    finished = Signal()

    def __init__(
        self,
        model_path: str,
        model_name: str,
        samples_folder: Path,
        versions_folder: Path,
        epochs: int,
        keep_original_copy: bool = False,
    ):
        super().__init__()
        self.model_path = model_path
        self.model_name = model_name
        self.keep_original_copy = keep_original_copy  # a run's unsaved model: History keeps its own copy
        self.samples_folder = samples_folder
        self.versions_folder = versions_folder
        self.epochs = epochs
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Ask the teach to stop at the next batch (thread-safe)."""
        self._stop.set()

    @Slot()
    def run(self) -> None:
        """Teach; emit taught (the version as plain data), stopped or failed, then finished."""
        try:
            self._teach()
        except Exception as error:  # noqa: BLE001 - one line for the user, details to the log
            from ml.errors import DigitLabError

            if isinstance(error, DigitLabError):
                self.failed.emit(str(error))
            else:
                logger.exception("Teaching failed")
                self.failed.emit("Teaching failed; the model was left as it was. Details are in the log.")
        finally:
            self.finished.emit()

    def _teach(self) -> None:
        from ml.errors import TrainingError
        from ml.models.files import load_model
        from ml.teach.samples import SampleStore
        from ml.teach.teaching import TeachSettings, teach
        from ml.teach.versions import VersionStore

        self.message.emit("Reading your samples…")
        store = SampleStore(self.samples_folder)
        self.message.emit("Loading the model…")
        loaded = load_model(self.model_path)
        images, labels, unknown, unreadable = store.arrays(list(loaded.metadata.class_names))
        skipped = f"Skipped {plural(unreadable, 'sample image')} that could not be read." if unreadable else ""
        if skipped:
            self.message.emit(skipped)
        if len(labels) == 0:
            raise TrainingError("None of your samples is of a class this model knows; nothing was taught.")
        if unknown:
            self.message.emit(f"Left out samples of classes the model does not know: {', '.join(unknown)}.")
        result = teach(
            loaded,
            images,
            labels,
            TeachSettings(epochs=self.epochs),
            on_epoch=lambda progress: self.epoch_finished.emit(vars(progress).copy()),
            on_batch=self.batch_finished.emit,
            should_stop=self._stop.is_set,
            on_message=self.message.emit,
        )
        if result.stopped or self._stop.is_set():  # a stop asked after the last batch still saves nothing
            self.stopped.emit()
            return
        self.message.emit("Saving the new version…")
        versions = VersionStore(self.versions_folder)
        parent = versions.find_path(self.model_path) or versions.remember_original(
            self.model_path, self.model_name, keep_copy=self.keep_original_copy
        )
        version = versions.add_taught(result.taught(loaded), parent, result.record)
        self.taught.emit(
            {
                "id": version.id,
                "path": version.path,
                "name": version.name,
                "summary": version.summary(),
                "record": result.record,
                "taught_from": self.model_path,  # the window's file of the model taught (Go back finds it by it)
                "parent_path": parent.path,  # History's entry of it (a run's unsaved model: History's own copy)
                "parent_name": parent.name,
                "warnings": [*result.warnings, *([skipped] if skipped else [])],  # the message is soon replaced
            }
        )
