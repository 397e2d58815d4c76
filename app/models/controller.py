"""The window's side of the model thread: one request in flight, the newest wins, results as signals."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from app.common.tensorflow_import import TensorFlowImport
from app.common.threads import hand_the_gil_back_quickly, keep_until_finished, start_worker_thread
from app.models.worker import ModelWorker, logger

TENSORFLOW_AFTER_ANSWER_MS = 200
"""TensorFlow's import starts this long after the first answer without it is shown (the answer is painted first)."""
TENSORFLOW_WHEN_IDLE_MS = 500
"""...or this long after the answers without TensorFlow are ready, when no drawing has come to answer."""


class ModelController(QObject):
    """The window's handle on the :class:`ModelWorker`: owns its thread and coalesces prediction requests.

    At most one prediction is in flight; while it runs only the newest drawing is kept, and it is sent
    when the running one returns, so the newest drawing always wins and requests never pile up.
    """

    backend_loaded = Signal(dict)
    backend_failed = Signal(str)
    model_loaded = Signal(dict)
    model_set_aside = Signal(dict)
    model_load_failed = Signal(dict)
    model_saved = Signal(dict)
    model_save_failed = Signal(str)
    prediction_finished = Signal(dict)
    model_described = Signal(object)
    model_description_failed = Signal(str)
    export_progress = Signal(str)
    export_finished = Signal(dict)
    export_failed = Signal(str)
    inspection_finished = Signal(dict)
    startup_settled = Signal(bool)  # once: True when drawings are answered now, False when they wait for TensorFlow
    startup_rehearsal = Signal(dict)  # before startup_settled: the start-up warm-up's answer, a prediction nobody asked

    _load_requested = Signal(str, bool, str, str)
    _set_aside_requested = Signal(str, bool, str)
    _switch_requested = Signal()
    _save_requested = Signal(str)
    _describe_requested = Signal()
    _export_requested = Signal(str, str)
    _calibration_stored = Signal(str, float, dict)
    _prediction_requested = Signal(int, object, object)
    _inspection_requested = Signal(int, object, dict)
    _startup_load_requested = Signal()
    _backend_requested = Signal()

    def __init__(self, startup_models: list[tuple[str, str]], parent: QObject | None = None) -> None:
        """``startup_models``: (path, origin) pairs tried in order until one loads."""
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("ModelWorkerThread")
        self._worker = ModelWorker(startup_models)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.start)
        self._thread.finished.connect(self._worker.release_thread_state)  # runs in the finishing thread
        self._thread.finished.connect(self._worker.deleteLater)
        self._load_requested.connect(self._worker.load_model)
        self._set_aside_requested.connect(self._worker.set_aside_model)
        self._switch_requested.connect(self._worker.switch_to_previous)
        self._save_requested.connect(self._worker.save_model)
        self._describe_requested.connect(self._worker.describe_active_model)
        self._export_requested.connect(self._worker.export_active_model)
        self._calibration_stored.connect(self._worker.store_calibration)
        self._worker.export_progress.connect(self.export_progress)
        self._worker.export_finished.connect(self._on_export_finished)
        self._worker.export_failed.connect(self._on_export_failed)
        self._prediction_requested.connect(self._worker.predict)
        self._inspection_requested.connect(self._worker.inspect)
        self._worker.inspection_finished.connect(self._on_inspection_finished)
        self._worker.backend_loaded.connect(self.backend_loaded)
        self._worker.backend_failed.connect(self._on_backend_failed)
        self._worker.model_loaded.connect(self._on_model_loaded)
        self._worker.model_set_aside.connect(self.model_set_aside)
        self._worker.model_load_failed.connect(self._on_model_load_failed)
        self._worker.model_saved.connect(self.model_saved)
        self._worker.model_save_failed.connect(self._on_model_save_failed)
        self._worker.model_described.connect(self.model_described)
        self._worker.model_description_failed.connect(self.model_description_failed)
        self._worker.prediction_finished.connect(self._on_prediction_finished)
        self._worker.fast_path_ready.connect(self._on_fast_path_ready)
        self._worker.answers_wait_for_tensorflow.connect(self._on_answers_wait_for_tensorflow)
        self._startup_load_requested.connect(self._worker.load_startup_models)
        self._backend_requested.connect(self._worker.load_backend)
        self._worker.backend_loaded.connect(self._on_backend_settled)
        self._worker.backend_failed.connect(self._on_backend_settled)
        self._tensorflow_timer = QTimer(self)  # starts TensorFlow's import behind the answers without it
        self._tensorflow_timer.setSingleShot(True)
        self._tensorflow_timer.timeout.connect(self._import_tensorflow)
        self._tensorflow_import: tuple[QThread, TensorFlowImport] | None = None
        self._tensorflow_waits = False  # the numpy weights answer; TensorFlow's import waits for the first answer
        self._answered_without_tensorflow = False
        self._backend_settled = False  # TensorFlow loaded, or failed to
        self._held_loads: list[tuple[Signal, tuple]] = []  # model loads asked for before TensorFlow is there
        self._last_request_id = 0
        self._discard_through = 0
        self._in_flight: int | None = None
        self._pending: tuple[int, np.ndarray, object] | None = None
        self._last_inspection_id = 0
        self._inspection_in_flight: int | None = None
        self._inspection_pending: tuple[int, np.ndarray, dict] | None = None
        self._model_ready = False
        self._fast_path_ready = False  # drawings may be answered (the shipped conversion) before the model loads
        self._stopped = False
        self._startup_settled = False

    @property
    def thread(self) -> QThread:
        """The worker's thread."""
        return self._thread

    @property
    def is_model_ready(self) -> bool:
        """True once a model has loaded."""
        return self._model_ready

    @property
    def is_busy(self) -> bool:
        """True while a prediction is running or waiting."""
        return self._in_flight is not None or self._pending is not None

    def start(self) -> None:
        """Start the worker's thread; TensorFlow loads there."""
        if not self._thread.isRunning() and not self._stopped:
            hand_the_gil_back_quickly()  # the window's thread gets the GIL back within 1 ms while the model runs
            self._thread.start()

    def load_model(self, path: str, unsaved: bool = False, origin: str = "file", name: str = "") -> None:
        """Ask the worker to load ``path`` as the active model, shown as ``name`` (default: its file's stem)."""
        self._load_once_backend_is_there(self._load_requested, (path, unsaved, origin, name))

    def set_aside_model(self, path: str, unsaved: bool = False, origin: str = "file") -> None:
        """Ask the worker to load ``path`` as the previous model, keeping the active one (``model_set_aside``)."""
        self._load_once_backend_is_there(self._set_aside_requested, (path, unsaved, origin))

    def switch_to_previous(self) -> None:
        """Ask the worker to swap the active and previous models."""
        self._switch_requested.emit()

    def save_model(self, path: str) -> None:
        """Ask the worker to save the active model to ``path``."""
        self._save_requested.emit(path)

    def describe_active_model(self) -> None:
        """Ask the worker for the active model's layers (answered by ``model_described``)."""
        self._describe_requested.emit()

    def export_active_model(self, fmt: str, path: str) -> None:
        """Ask the worker to export the active model (answered by ``export_finished`` or ``export_failed``)."""
        self._export_requested.emit(fmt, path)

    def store_calibration(self, source_path: str, temperature: float, record: dict) -> None:
        """Ask the worker to store a fitted temperature in the active model's card (answered by ``model_loaded``)."""
        self._calibration_stored.emit(source_path, temperature, record)

    def request_prediction(self, drawing: np.ndarray, strokes: object = None) -> int:
        """Queue a drawing (and the canvas's pen strokes, for reading numbers) for preprocessing and inference;
        returns its request id."""
        self._last_request_id += 1
        self._pending = (self._last_request_id, drawing, strokes)
        if self._tensorflow_waits and not self._answered_without_tensorflow:
            self._tensorflow_timer.stop()  # the first answer goes first; TensorFlow follows it
        self._send_pending_if_idle()
        return self._last_request_id

    @property
    def is_inspecting(self) -> bool:
        """True while an inspection is running or waiting."""
        return self._inspection_in_flight is not None or self._inspection_pending is not None

    def request_inspection(self, image28: np.ndarray, options: dict) -> int:
        """Queue an inspection of a 28x28 (see ``ModelWorker.inspect``); returns its request id.

        Like predictions, at most one is in flight and the newest wins; a waiting prediction always goes first,
        so the fast path answers before any view of the model's insides.
        """
        self._last_inspection_id += 1
        self._inspection_pending = (self._last_inspection_id, image28, dict(options))
        self._send_pending_if_idle()
        return self._last_inspection_id

    def cancel_inspections(self) -> None:
        """Forget the waiting inspection (a running one still reports)."""
        self._inspection_pending = None

    def cancel_predictions(self) -> None:
        """Forget the waiting drawing and ignore the result of the running one."""
        self._pending = None
        self._discard_through = self._last_request_id

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop the worker's thread (after its current job) and wait for it; True when it has stopped."""
        self._stopped = True
        self._pending = None
        self._inspection_pending = None
        self._tensorflow_timer.stop()
        if self._tensorflow_import is not None:
            import_thread, job = self._tensorflow_import
            try:
                if not import_thread.wait(timeout_ms):  # an import cannot be interrupted; it ends on its own
                    keep_until_finished(import_thread, job)
            except RuntimeError:  # finished and already deleted
                pass
        if not self._thread.isRunning():
            return True
        self._thread.quit()
        stopped = self._thread.wait(timeout_ms)
        if not stopped:
            logger.warning("The model worker is still busy after %d ms; it will stop when its job ends", timeout_ms)
            keep_until_finished(self._thread)
        return stopped

    # ----------------------------------------------------------------------------------------- helpers

    def _send_pending_if_idle(self) -> None:
        if self._in_flight is not None or not (self._model_ready or self._fast_path_ready) or self._stopped:
            return
        if self._pending is None:
            if self._model_ready:  # inspections need the Keras model
                self._send_inspection_if_idle()
            return
        request_id, drawing, strokes = self._pending
        self._pending = None
        self._in_flight = request_id
        self._prediction_requested.emit(request_id, drawing, strokes)

    def _send_inspection_if_idle(self) -> None:
        """Send the newest inspection once no prediction is running or waiting and no inspection is running."""
        if self._inspection_in_flight is not None or self._inspection_pending is None:
            return
        request_id, image28, options = self._inspection_pending
        self._inspection_pending = None
        self._inspection_in_flight = request_id
        self._inspection_requested.emit(request_id, image28, options)

    @Slot(dict)
    def _on_inspection_finished(self, result: dict) -> None:
        self._inspection_in_flight = None
        self.inspection_finished.emit({**result, "final": self._inspection_pending is None})
        self._send_pending_if_idle()

    @Slot(dict)
    def _on_fast_path_ready(self, description: dict) -> None:
        """Send the waiting drawing to the early fast path. Behind the numpy one, TensorFlow is imported once the first
        answer is shown (or soon, when none is asked for); behind the TFLite one, the model loads with Keras."""
        self._fast_path_ready = True
        if description.get("rehearsal") is not None and not self._startup_settled:
            self.startup_rehearsal.emit({**description["rehearsal"], "final": True})
        self._settle_startup(True)
        self._send_pending_if_idle()
        if description.get("backend") == "numpy":
            self._tensorflow_waits = True
            if self._held_loads:
                self._import_tensorflow()  # a model was asked for: no waiting
            elif self._in_flight is None:
                self._tensorflow_timer.start(TENSORFLOW_WHEN_IDLE_MS)
        else:
            self._startup_load_requested.emit()  # queued behind that prediction, so the first answer comes first

    @Slot()
    def _on_answers_wait_for_tensorflow(self) -> None:
        self._settle_startup(False)

    def _settle_startup(self, answering: bool) -> None:
        """Say once (``startup_settled``) whether start-up's first drawings are answered now or wait for TensorFlow."""
        if not self._startup_settled:
            self._startup_settled = True
            self.startup_settled.emit(answering)

    @Slot()
    def _import_tensorflow(self) -> None:
        """Import TensorFlow in a thread of its own; the model thread then picks the device and loads the model."""
        if self._tensorflow_import is not None or self._stopped:
            return
        self._tensorflow_waits = False
        job = TensorFlowImport()
        job.finished.connect(self._on_tensorflow_imported)
        thread = start_worker_thread(job, "TensorFlowImportThread", lambda: None)
        self._tensorflow_import = (thread, job)

    @Slot(str)
    def _on_tensorflow_imported(self, _problem: str) -> None:
        if not self._stopped:
            self._backend_requested.emit()  # a failed import is tried again there, and reported in plain words

    @Slot()
    def _on_backend_settled(self, *_details) -> None:
        """TensorFlow is there (or failed): send the model loads that waited for it."""
        self._backend_settled = True
        held, self._held_loads = self._held_loads, []
        for signal, arguments in held:
            signal.emit(*arguments)

    def _load_once_backend_is_there(self, signal: Signal, arguments: tuple) -> None:
        """Load a model now, or once TensorFlow is there (its import started at once): the load then follows the
        start-up model's, so the model asked for becomes the active one."""
        if self._backend_settled:
            signal.emit(*arguments)
            return
        self._held_loads.append((signal, arguments))
        if self._fast_path_ready:
            self._import_tensorflow()

    def _forward(self, signal: Signal, value: object, late: str | None = None) -> None:
        """Pass a job's result to the window, or once the window has closed log it (``late``: its message, with the
        value): a result dialog opened then had no window under it and kept the application running."""
        if not self._stopped:
            signal.emit(value)
        elif late is not None:
            logger.warning(late, value)

    @Slot(dict)
    def _on_export_finished(self, report: dict) -> None:
        self._forward(self.export_finished, report, "An export finished after the window closed: %s")

    @Slot(str)
    def _on_export_failed(self, message: str) -> None:
        self._forward(self.export_failed, message, "The export failed after the window closed: %s")

    @Slot(str)
    def _on_backend_failed(self, message: str) -> None:
        self._forward(self.backend_failed, message)

    @Slot(dict)
    def _on_model_load_failed(self, failure: dict) -> None:
        self._forward(self.model_load_failed, failure)

    @Slot(str)
    def _on_model_save_failed(self, message: str) -> None:
        self._forward(self.model_save_failed, message, "Saving the model failed after the window closed: %s")

    @Slot(dict)
    def _on_model_loaded(self, description: dict) -> None:
        self._model_ready = True
        self.model_loaded.emit(description)
        self._send_pending_if_idle()

    @Slot(dict)
    def _on_prediction_finished(self, result: dict) -> None:
        self._in_flight = None
        shown = result["request_id"] > self._discard_through
        if shown:
            self.prediction_finished.emit({**result, "final": self._pending is None})
        self._send_pending_if_idle()
        if self._tensorflow_waits and not self._answered_without_tensorflow and self._tensorflow_import is None:
            if shown and result.get("probabilities") is not None:
                self._answered_without_tensorflow = True
                self._tensorflow_timer.start(TENSORFLOW_AFTER_ANSWER_MS)  # once the answer is painted
            elif self._in_flight is None:
                self._tensorflow_timer.start(TENSORFLOW_WHEN_IDLE_MS)
