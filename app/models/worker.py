"""The model thread's worker: the only place that holds Keras models; loads, predicts, saves, describes."""

from __future__ import annotations

import ctypes
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.common.user_folders import user_cache_folder
from app.models.inspection import InspectionTools
from app.models.names import trained_model_name
from app.models.number_reading import NumberReader

logger = logging.getLogger(__name__)


def pin_python_thread_state() -> int:
    """Keep this Qt thread's Python thread state alive between slot calls; returns the token to unpin it.

    PySide gives a thread that Python did not start a fresh Python thread state for every slot call, so
    ``threading.local`` data (TensorFlow keeps its eager context there) vanishes between calls and
    TensorFlow can crash on a later call. One extra ``PyGILState_Ensure`` keeps the state for the thread's life.
    """
    ensure = ctypes.pythonapi.PyGILState_Ensure
    ensure.restype = ctypes.c_int
    return int(ensure())


def unpin_python_thread_state(token: int) -> None:
    """Undo :func:`pin_python_thread_state` (in the same thread, as it ends)."""
    release = ctypes.pythonapi.PyGILState_Release
    release.argtypes = [ctypes.c_int]
    release(token)


@dataclass
class ModelSlot:
    """A model the worker holds: the loaded file, its fast predictor, and whether it is saved anywhere."""

    loaded: Any  # ml.models.files.LoadedModel; never leaves the worker's thread
    predictor: Any  # ml.inference.predictor.Predictor
    unsaved: bool
    origin: str  # "file", "bundled" or "trained"
    name: str = ""  # what the window calls it, when not its file's stem (a taught version: "… · taught 2")
    modified: bool = False  # changed since loaded or saved (a temperature fitted by Calibrate)
    judge: Any = None  # ml.doubt.verdict.DoubtJudge, built at the first prediction


def slot_display_name(slot: ModelSlot) -> str:
    """What the window calls the model in ``slot`` (a run's model by what it is, not by its cache file)."""
    loaded = slot.loaded
    if slot.name:
        return slot.name
    if slot.unsaved:
        return trained_model_name(loaded.metadata, loaded.model.name)
    from ml.teach.versions import version_name  # a taught version by its name in History, however it was opened

    return (loaded.path is not None and version_name(loaded.path)) or loaded.display_name


def describe_slot(slot: ModelSlot) -> dict:
    """Plain data about a model for the window (names, accuracy, classes); no Keras objects."""
    loaded = slot.loaded
    metadata = loaded.metadata
    display_name = slot_display_name(slot)
    return {
        "path": None if slot.unsaved or loaded.path is None else str(loaded.path),
        "file_name": None if slot.unsaved or loaded.path is None else Path(loaded.path).name,
        "source_path": None if loaded.path is None else str(loaded.path),  # also an unsaved model's cache file
        "display_name": display_name,
        "class_names": list(metadata.class_names),
        "num_classes": int(loaded.num_classes),
        "input_shape": list(loaded.input_shape),
        "test_accuracy": metadata.test_accuracy,
        "preset": metadata.preset,
        "dataset": metadata.dataset,
        "has_metadata": bool(loaded.has_metadata),
        "unsaved": slot.unsaved or slot.modified,
        "modified": slot.modified,
        "temperature": getattr(metadata, "temperature", None),
        "evaluation_sets": _evaluation_sets(loaded),
        "origin": slot.origin,
        "backend": getattr(slot.predictor, "backend", ""),
    }


def _evaluation_sets(loaded: Any) -> list[str]:
    """The evaluation sets that fit ``loaded`` (``ml.evaluation.sets``); none when they cannot be told."""
    try:
        from ml.evaluation.sets import evaluation_sets

        return evaluation_sets(loaded)
    except Exception:  # noqa: BLE001 - the workspace then says the model fits no set; the window goes on
        logger.exception("Listing the evaluation sets failed")
        return []


class ModelWorker(QObject):
    """Owns TensorFlow and the models: loads, saves and runs them in its own thread, reporting by signals."""

    backend_loaded = Signal(dict)
    backend_failed = Signal(str)
    model_loaded = Signal(dict)
    model_set_aside = Signal(dict)  # a model loaded as the previous one; carries the (unchanged) active model's
    model_load_failed = Signal(dict)
    model_saved = Signal(dict)
    model_save_failed = Signal(str)
    prediction_finished = Signal(dict)
    model_described = Signal(object)  # an ml.models.summary.ModelDescription: plain data
    model_description_failed = Signal(str)
    export_progress = Signal(str)  # what the export is doing, for the status bar
    export_finished = Signal(dict)  # ml.export.exporter.ExportReport.as_dict(): plain data
    export_failed = Signal(str)
    inspection_finished = Signal(dict)  # layer outputs, evidence and filters as plain data (models/inspection.py)
    fast_path_ready = Signal(dict)  # {"class_names", "backend", "rehearsal"?}: drawings answered before Keras loads
    answers_wait_for_tensorflow = Signal()  # at start-up: no shipped numpy weights, so no answer before TensorFlow

    def __init__(self, startup_models: list[tuple[str, str]]) -> None:
        super().__init__()
        self._startup_models = list(startup_models)
        self._active: ModelSlot | None = None
        self._early: ModelSlot | None = None  # shipped numpy weights or conversion, answering until Keras has loaded
        self._previous: ModelSlot | None = None
        self._backend_ready = False
        self._thread_state_token: int | None = None
        self._inspection = InspectionTools()
        self._numbers = NumberReader()

    # ------------------------------------------------------------------------------------------ slots

    @Slot()
    def start(self) -> None:
        """Answer drawings with the shipped numpy weights (no TensorFlow) when they check out; else load the backend.

        With the numpy answers in place, the controller asks for :meth:`load_backend` once the first answer has been
        shown (TensorFlow's import, about 3 s of CPU, then runs in another thread while this one keeps answering).
        """
        self._thread_state_token = pin_python_thread_state()
        if not self._answer_without_tensorflow():
            self.answers_wait_for_tensorflow.emit()
            self.load_backend()

    @Slot()
    def load_backend(self) -> None:
        """Import TensorFlow (at once when another thread has imported it), pick the device, then load the first
        start-up model, after any early answers from the shipped TFLite conversion."""
        if not self._start_backend():
            return
        if self._early is None and self._answer_early():
            return  # the controller asks for the start-up model after that first answer
        self.load_startup_models()

    def _start_backend(self) -> bool:
        """Import TensorFlow and Keras, pick the device and say so (``backend_loaded``); False when that failed."""
        if self._backend_ready:
            return True
        try:
            from app.common.tensorflow_import import import_tensorflow
            from ml.runtime import configure_device

            tf, keras = import_tensorflow()

            device = configure_device()
            self._backend_ready = True
            self.backend_loaded.emit({"device": device, "tensorflow": tf.__version__, "keras": keras.__version__})
        except Exception as error:  # noqa: BLE001 - reported to the window in plain words
            logger.exception("TensorFlow could not start")
            self.backend_failed.emit(f"TensorFlow could not start: {type(error).__name__}: {error}")
            return False
        return True

    @Slot()
    def load_startup_models(self) -> None:
        """Load the first start-up model that opens (asked for by the controller after any early prediction), unless
        a model was opened meanwhile."""
        try:
            if self._active is not None:
                return
            for path, origin in self._startup_models:
                if self._load(path, unsaved=False, origin=origin, startup=True):
                    return
        finally:
            self._early = None

    def _answer_without_tensorflow(self) -> bool:
        """Answer drawings with the first start-up model's shipped numpy weights, checked against their record
        (``ml.inference.shipped_numpy``); True when they can. Nothing here imports TensorFlow."""
        if not self._startup_models:
            return False
        path, origin = self._startup_models[0]
        try:
            from ml.inference.shipped_numpy import shipped_numpy_path

            fast_path = shipped_numpy_path(Path(path))
        except Exception:  # noqa: BLE001 - no answers without TensorFlow; the TFLite path follows
            logger.exception("The shipped numpy weights could not be read")
            fast_path = None
        return fast_path is not None and self._answer_with(fast_path, origin, warm_up=True)

    def _answer_early(self) -> bool:
        """Answer drawings with the first start-up model's shipped conversion while Keras loads it (True when it can).

        Loading the bundled model with Keras and checking its fast path takes 1-1.5 s of CPU after TensorFlow's
        import; the shipped flatbuffer (checked against Keras when it was built, and by checksum now) answers first.
        """
        if not self._startup_models:
            return False
        path, origin = self._startup_models[0]
        try:
            from ml.inference.shipped_tflite import shipped_fast_path

            fast_path = shipped_fast_path(Path(path))
        except Exception:  # noqa: BLE001 - no early answers; the model loads as usual
            logger.exception("The shipped fast path could not be read")
            fast_path = None
        return fast_path is not None and self._answer_with(fast_path, origin)

    def _answer_with(self, fast_path: Any, origin: str, warm_up: bool = False) -> bool:
        """Answer drawings with ``fast_path`` until Keras has loaded the model. With ``warm_up``, first answer a drawn
        "1" and drop the answer: the first answer's imports (scipy for the doubt judge's features, Pillow's fonts for
        number reading; about 0.5 s of CPU) are then paid before the window counts on answers, not at the first
        drawing, and before TensorFlow's import competes for the CPU."""
        self._early = ModelSlot(loaded=fast_path.loaded, predictor=fast_path, unsaved=False, origin=origin)
        description = {"class_names": list(fast_path.class_names), "backend": fast_path.backend}
        if warm_up:
            canvas = np.ones((280, 280), np.float32)
            canvas[60:220, 130:150] = 0.0  # black ink on white, as the canvas hands drawings over
            description["rehearsal"] = self._answer(0, canvas, None)  # the hidden window may show it once, too
        self.fast_path_ready.emit(description)
        return True

    @Slot()
    def release_thread_state(self) -> None:
        """Called in the worker's thread as it finishes: let Python delete its thread state."""
        if self._thread_state_token is not None:
            unpin_python_thread_state(self._thread_state_token)
            self._thread_state_token = None

    @Slot(str, bool, str, str)
    def load_model(self, path: str, unsaved: bool, origin: str, name: str = "") -> None:
        """Load ``path`` as the active model (named ``name``, if given); the one it replaces becomes the previous."""
        if not self._backend_ready:
            message = "TensorFlow did not start, so no model can be loaded."
            self.model_load_failed.emit({"path": path, "message": message, "startup": False})
            return
        self._load(path, unsaved=unsaved, origin=origin, startup=False, name=name)

    @Slot(str, bool, str)
    def set_aside_model(self, path: str, unsaved: bool, origin: str) -> None:
        """Load ``path`` as the previous model, one switch away, and keep the active model active."""
        if not self._backend_ready or self._active is None:
            self.load_model(path, unsaved, origin)  # nothing to keep: it simply becomes the model
            return
        self._load(path, unsaved=unsaved, origin=origin, startup=False, activate=False)

    @Slot()
    def switch_to_previous(self) -> None:
        """Swap the active and the previous model."""
        if self._previous is None:
            return
        self._active, self._previous = self._previous, self._active
        self.model_loaded.emit(self._describe_active())

    @Slot(str)
    def save_model(self, path: str) -> None:
        """Save the active model to ``path`` atomically, with its metadata."""
        if self._active is None:
            self.model_save_failed.emit("There is no model to save yet.")
            return
        try:
            from ml.errors import ModelFileError
            from ml.models.files import save_model

            loaded = self._active.loaded
            try:
                written = save_model(loaded.model, path, loaded.metadata)
            except ModelFileError as error:
                self.model_save_failed.emit(str(error))
                return
            self._active = dataclasses.replace(
                self._active,
                loaded=dataclasses.replace(loaded, path=Path(written)),
                unsaved=False,
                modified=False,
                origin="file",
                name="",  # saved: the file the user chose names it
            )
            self.model_saved.emit(self._describe_active())
        except Exception as error:  # noqa: BLE001 - a save must never take the worker down
            logger.exception("Saving the model failed")
            self.model_save_failed.emit(f"Could not save the model to {path}: {type(error).__name__}: {error}")

    @Slot(str, float, dict)
    def store_calibration(self, source_path: str, temperature: float, record: dict) -> None:
        """Store a fitted temperature in the active model's card (if it is still the model of ``source_path``).

        Every probability shown from then on is calibrated (the predictor reads the card), and the model is
        modified until saved, so the temperature is saved with it.
        """
        loaded = None if self._active is None else self._active.loaded
        if loaded is None or loaded.path is None or str(loaded.path) != source_path:
            logger.warning("Calibration of %s not stored: the active model changed meanwhile", source_path)
            return
        loaded.metadata.temperature = float(temperature)
        if hasattr(loaded.metadata, "calibration"):
            loaded.metadata.calibration = dict(record)
        self._active = dataclasses.replace(self._active, modified=True)
        self.model_loaded.emit(self._describe_active())

    @Slot()
    def describe_active_model(self) -> None:
        """Describe the active model's layers, shapes and parameters (``ml.models.summary.describe_model``)."""
        if self._active is None:
            self.model_description_failed.emit("There is no model to describe yet.")
            return
        try:
            from ml.models.summary import describe_model

            loaded = self._active.loaded
            self.model_described.emit(describe_model(loaded.model, loaded.metadata, loaded.has_metadata))
        except Exception as error:  # noqa: BLE001 - reported to the window in plain words
            logger.exception("Describing the model failed")
            self.model_description_failed.emit(f"Could not describe the model: {type(error).__name__}: {error}")

    @Slot(str, str)
    def export_active_model(self, fmt: str, path: str) -> None:
        """Export the active model (``ml.export.exporter.export_model``: verified, atomic), reporting progress."""
        if self._active is None:
            self.export_failed.emit("There is no model to export yet.")
            return
        try:
            from ml.errors import DigitLabError
            from ml.export.exporter import export_model

            active = self._active
            name = slot_display_name(active) if active.unsaved else None  # not the cache file's name
            try:
                report = export_model(active.loaded, fmt, path, progress=self.export_progress.emit, name=name)
            except DigitLabError as error:
                self.export_failed.emit(str(error))
                return
            self.export_finished.emit(report.as_dict())
        except Exception as error:  # noqa: BLE001 - an export must never take the worker down
            logger.exception("Exporting the model failed")
            self.export_failed.emit(f"Could not export the model to {path}: {type(error).__name__}: {error}")

    @Slot(int, object, object)
    def predict(self, request_id: int, drawing: np.ndarray, strokes: object = None) -> None:
        """Preprocess a 2-D gray drawing (1 = white) to MNIST style and score it with the active model.

        Then, when the ink may hold several digits (``strokes``: the canvas's pen strokes, None for an image), read
        the whole number into ``number`` (``app/models/number_reading.py``; None for one digit).
        """
        self.prediction_finished.emit(self._answer(request_id, drawing, strokes))

    def _answer(self, request_id: int, drawing: np.ndarray, strokes: object) -> dict:
        """The prediction of one drawing as plain data (see :meth:`predict`)."""
        result: dict[str, Any] = {
            "request_id": request_id,
            "blank": True,
            "reason": None,
            "image": None,
            "stages": [],
            "model_view": None,  # what a model of another size or scale receives (None: the 28x28 image)
            "probabilities": None,
            "error": None,
            "number": None,  # several digits: the number and each digit, as plain data (number_reading.py)
            "verdict": None,  # digit, unsure or not a digit, and why (ml.doubt.verdict.Verdict.as_dict)
        }
        try:
            from ml.inference.input_view import input_stages
            from ml.preprocess.pipeline import to_mnist

            prepared = to_mnist(drawing, canvas=strokes is not None)  # strokes: the canvas (None: an image)
            result.update(
                blank=prepared.blank,
                reason=prepared.reason,
                image=prepared.image,
                stages=[(stage.name, stage.image) for stage in prepared.stages],
            )
            slot = self._active if self._active is not None else self._early
            if not prepared.blank and slot is not None:
                probabilities = np.asarray(slot.predictor.predict_one(prepared.image), dtype=np.float64)
                if not np.isfinite(probabilities).all():  # finite weights can still overflow: say so, score nothing
                    result["reason"] = "the model's output is not a number (NaN or infinite) for this drawing"
                    return result
                result["probabilities"] = probabilities
                result["verdict"] = self._verdict(slot, prepared.image, result["probabilities"])
                loaded = slot.loaded
                model_stages = input_stages(prepared.image, loaded.input_shape, loaded.metadata)  # 8x8 sees 8x8
                result["stages"] += model_stages
                result["model_view"] = model_stages[-1][1] if model_stages else None
                result["number"] = self._numbers.read(slot, drawing, strokes)  # after the fast path
        except Exception as error:  # noqa: BLE001 - shown in the status bar; the next drawing tries again
            logger.exception("Prediction failed")
            result["error"] = f"Prediction failed: {type(error).__name__}: {error}"
        return result

    @Slot(int, object, dict)
    def inspect(self, request_id: int, image28: np.ndarray, options: dict) -> None:
        """Trace the layers, explain a class and/or read the filters of the active model for an MNIST-style 28x28.

        ``options``: ``layers`` (bool), ``fold`` (bool), ``method`` (an ``ml.inspect.evidence.METHODS`` name or
        None), ``class_index`` (None: the winner), ``filters`` (bool). The tracer and explainer are built once
        per active model.
        """
        self.inspection_finished.emit(self._inspection.run(self._active, request_id, image28, options))

    # ----------------------------------------------------------------------------------------- helpers

    def _verdict(self, slot: ModelSlot, image28: np.ndarray, probabilities: np.ndarray) -> dict:
        """The model's verdict on one digit (a digit, unsure, or not a digit) as plain data."""
        from ml.doubt.verdict import DoubtJudge

        if slot.judge is None:
            slot.judge = DoubtJudge(slot.loaded)
        return slot.judge.judge(image28, probabilities).as_dict()

    def _load(
        self, path: str, unsaved: bool, origin: str, startup: bool, activate: bool = True, name: str = ""
    ) -> bool:
        """Load, build the predictor and activate (or set it aside); report failure with the core's message."""
        try:
            from ml.errors import ModelFileError
            from ml.inference.predictor import Predictor
            from ml.inference.shipped_tflite import seed_tflite_cache
            from ml.models.files import load_model

            try:
                loaded = load_model(path)
            except ModelFileError as error:
                self.model_load_failed.emit({"path": path, "message": str(error), "startup": startup})
                return False
            tflite_cache = user_cache_folder() / "tflite"
            seed_tflite_cache(loaded, tflite_cache)  # the bundled model's shipped conversion: no converting at launch
            predictor = Predictor(loaded, tflite_cache=tflite_cache)
            slot = ModelSlot(loaded=loaded, predictor=predictor, unsaved=unsaved, origin=origin, name=name)
        except Exception as error:  # noqa: BLE001 - any other failure is reported, the old model stays
            logger.exception("Loading %s failed", path)
            message = f"Could not use the model '{Path(path).name}': {type(error).__name__}: {error}"
            self.model_load_failed.emit({"path": path, "message": message, "startup": startup})
            return False
        if not activate:
            self._previous = slot
            self.model_set_aside.emit(self._describe_active())
            return True
        if self._active is not None:
            self._previous = self._active
        self._active = slot
        self.model_loaded.emit(self._describe_active())
        return True

    def _describe_active(self) -> dict:
        assert self._active is not None
        description = describe_slot(self._active)
        previous = None if self._previous is None else describe_slot(self._previous)
        description["previous_name"] = None if previous is None else previous["display_name"]
        description["previous_unsaved"] = bool(previous and previous["unsaved"])
        description["previous_source_path"] = None if previous is None else previous["source_path"]  # evaluation
        description["previous_temperature"] = None if previous is None else previous["temperature"]
        return description
