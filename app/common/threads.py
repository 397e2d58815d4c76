"""Run a one-shot QObject worker in its own QThread, wired the way superqt's ``new_worker_qthread`` does."""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QThread

_WORKERS_RUNNING: dict[int, QObject] = {}
"""Each started worker, held until its thread has finished; Python then deletes it. With ``deleteLater`` the worker
thread destroyed the object while the window's thread could be letting go of its Python wrapper: the two met in
shiboken (a segfault in the image reader's thread, about one run in three of the image-input tests)."""


def start_worker_thread(worker: QObject, name: str, on_thread_finished: Callable[[], None]) -> QThread:
    """Move ``worker`` (with ``run`` and ``finished``) to a new named QThread and start it.

    started→run, finished→quit (direct), the thread's finished→deleteLater; the worker is let go of once its thread has
    finished. ``on_thread_finished`` runs before the thread is deleted. Connect the worker's own signals first.
    """
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    key = id(thread)
    _WORKERS_RUNNING[key] = worker
    thread.finished.connect(on_thread_finished)
    thread.finished.connect(lambda: _WORKERS_RUNNING.pop(key, None))
    thread.started.connect(worker.run)
    # quit() is thread-safe: called where the job ends, not queued to the window's thread, which may be blocked in
    # wait() for this very thread as the window closes (a queued quit then never ran: every wait timed out)
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread


WINDOW_THREAD_SWITCH_INTERVAL_S = 0.001
"""How long another thread may keep Python's GIL once the window's thread asks for it (Python's default: 5 ms)."""


def hand_the_gil_back_quickly() -> None:
    """Make threads that run Python (the model worker) hand the GIL to the window's thread within 1 ms.

    The window's thread takes the GIL afresh for every Python slot and paint event Qt calls, and waited up to the
    default 5 ms each time while the model thread ran Python (preprocessing, number reading, the doubt judge): a
    repaint of the prediction panel calls a dozen Python paint methods, so drawing stalled for 50-120 ms. Never
    lengthens an interval set shorter elsewhere.
    """
    sys.setswitchinterval(min(sys.getswitchinterval(), WINDOW_THREAD_SWITCH_INTERVAL_S))


_THREADS_STILL_STOPPING: dict[QThread, tuple[QObject, ...]] = {}
"""Threads whose job outlasted the shutdown timeout, with their workers; kept alive here until they finish."""


def keep_until_finished(thread: QThread, *workers: QObject) -> None:
    """Hold a thread that is still finishing its last job, and the ``workers`` it runs, so that neither is
    destroyed while it runs (a worker Python owns would otherwise go with the window that held it)."""
    _THREADS_STILL_STOPPING[thread] = (*_THREADS_STILL_STOPPING.get(thread, ()), *workers)


def wait_for_stopping_threads(timeout_ms: int = 30000) -> bool:
    """Wait for threads left finishing their last job (called once, as the application exits)."""
    for thread in list(_THREADS_STILL_STOPPING):
        try:
            if not thread.wait(timeout_ms):
                return False
        except RuntimeError:  # already finished and deleted (its finished signal deletes it later)
            pass
        _THREADS_STILL_STOPPING.pop(thread, None)
    return True
