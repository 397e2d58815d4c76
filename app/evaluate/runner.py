"""Runs the workspace's jobs one at a time (a worker in its own QThread each) and caches their results per
(model, dataset)."""

from __future__ import annotations

import logging
from collections import OrderedDict

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from app.common.threads import keep_until_finished, start_worker_thread
from app.evaluate.worker import EvaluationWorker, JobRequest, JobResult

logger = logging.getLogger(__name__)

RESULTS_KEPT = 16  # finished jobs kept (each holds its images, about 31 MB for MNIST test)


def cache_key(request: JobRequest) -> tuple:
    """What a result is filed under: the job, the model (file, stamp, temperature), the set, and the map's method."""
    method = request.method if request.kind == "map" else None
    other = None if request.other is None else request.other.identity
    return (request.kind, request.model.identity, request.dataset_key, method, other)


class ResultsCache:
    """The newest finished jobs, least recently used dropped first."""

    def __init__(self, kept: int = RESULTS_KEPT) -> None:
        self.kept = kept
        self._results: OrderedDict[tuple, JobResult] = OrderedDict()

    def get(self, request: JobRequest) -> JobResult | None:
        """The result of an equal request, if kept."""
        key = cache_key(request)
        result = self._results.get(key)
        if result is not None:
            self._results.move_to_end(key)
        return result

    def put(self, request: JobRequest, result: JobResult) -> None:
        """Keep ``result`` under ``request``'s key."""
        self._results[cache_key(request)] = result
        self._results.move_to_end(cache_key(request))
        while len(self._results) > self.kept:
            self._results.popitem(last=False)

    def __len__(self) -> int:
        return len(self._results)


class EvaluationRunner(QObject):
    """Starts one job at a time and relays its signals; ``finished_job`` follows every job, whatever its end."""

    progress = Signal(int, int)
    stage_changed = Signal(str)
    result_ready = Signal(object)  # a JobResult (already cached)
    failed = Signal(str)
    stopped = Signal()
    running_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = ResultsCache()
        self.jobs_started = 0
        self._worker: EvaluationWorker | None = None
        self._thread: QThread | None = None
        self._threads: list[tuple[QThread, EvaluationWorker]] = []  # both held until the thread has finished: a
        # worker dropped while its thread still runs would be deleted from this thread under the running one
        application = QCoreApplication.instance()
        if application is not None:
            application.aboutToQuit.connect(self.shutdown)

    @property
    def is_running(self) -> bool:
        """True while a job runs."""
        return self._worker is not None

    @property
    def request(self) -> JobRequest | None:
        """The running job's request."""
        return None if self._worker is None else self._worker.request

    def start(self, request: JobRequest) -> bool:
        """Start ``request`` in a new worker thread; False when a job is already running."""
        if self._worker is not None:
            return False
        worker = EvaluationWorker(request)
        worker.progress.connect(self.progress)
        worker.stage_changed.connect(self.stage_changed)
        worker.result_ready.connect(self._on_result)
        worker.failed.connect(self.failed)
        worker.stopped.connect(self.stopped)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self.jobs_started += 1
        self._thread = start_worker_thread(worker, "EvaluationThread", self._forget_finished_threads)
        self._threads.append((self._thread, worker))
        self.running_changed.emit(True)
        return True

    def stop(self) -> None:
        """Ask the running job to end at its next batch (``stopped`` follows)."""
        if self._worker is not None:
            self._worker.request_stop()

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop the running job and wait for its thread; a thread still busy is kept alive until it ends."""
        self.stop()
        stopped = True
        for thread, _worker in list(self._threads):
            try:
                thread.quit()  # the worker's own quit is queued to this (waiting) thread, so it would never arrive
                if thread.isRunning() and not thread.wait(timeout_ms):
                    keep_until_finished(thread)
                    stopped = False
            except RuntimeError:  # already deleted by Qt: finished
                continue
        return stopped

    @Slot(object)
    def _on_result(self, result: JobResult) -> None:
        if result.request.kind != "report":  # a report is a file written, nothing to show again
            self.cache.put(result.request, result)
        self.result_ready.emit(result)

    @Slot()
    def _on_worker_finished(self) -> None:
        self._worker = None
        self.running_changed.emit(False)

    @Slot()
    def _forget_finished_threads(self) -> None:
        kept = []
        for thread, worker in self._threads:
            try:
                if not thread.isFinished():
                    kept.append((thread, worker))
            except RuntimeError:
                continue
        self._threads = kept
