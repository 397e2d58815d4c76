"""Run a one-shot QObject worker in its own QThread, wired the way superqt's ``new_worker_qthread`` does."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread


def start_worker_thread(worker: QObject, name: str, on_thread_finished: Callable[[], None]) -> QThread:
    """Move ``worker`` (with ``run`` and ``finished``) to a new named QThread and start it.

    started→run, finished→quit, finished→deleteLater for worker and thread; ``on_thread_finished`` runs
    before the thread is deleted. Connect the worker's own signals before calling this.
    """
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.finished.connect(on_thread_finished)
    thread.started.connect(worker.run)
    worker.finished.connect(thread.quit)
    worker.finished.connect(worker.deleteLater)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread
