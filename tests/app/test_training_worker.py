"""TrainingWorker in its own QThread: pause and resume continue the same run; Stop ends a paused run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThread

from app.training_worker import TrainingWorker
from ml.train import TrainConfig

RUN_TIMEOUT_MS = 240_000


@pytest.fixture
def start_worker(qtbot, tmp_path: Path) -> Iterator:
    """Start a worker for ``config`` in a thread wired as the panel wires it; the thread is joined afterwards."""
    threads: list[QThread] = []

    def start(config: TrainConfig, on_batch, summaries: list) -> TrainingWorker:
        worker = TrainingWorker(config, tmp_path / "trained")
        thread = QThread()
        worker.moveToThread(thread)
        # Both run in the worker thread as the signals are emitted (the test polls; it never blocks on them).
        worker.batch_finished.connect(on_batch, Qt.ConnectionType.DirectConnection)
        worker.trained.connect(summaries.append, Qt.ConnectionType.DirectConnection)
        thread.started.connect(worker.run)
        worker.finished.connect(thread.quit)
        threads.append(thread)
        thread.start()
        return worker

    yield start
    for thread in threads:
        thread.quit()
        assert thread.wait(RUN_TIMEOUT_MS)


def quick_config() -> TrainConfig:
    """Two epochs of the 8x8-digits MLP: about 80 batches of 32 in a second or two."""
    return TrainConfig(preset="mlp-digits", dataset="sklearn-digits", epochs=2, batch_size=32)


def test_pause_holds_the_run_and_resume_continues_it_without_a_restart(qtbot, start_worker):
    batches: list[tuple[int, int]] = []
    workers: list[TrainingWorker] = []

    def on_batch(report: dict) -> None:
        batches.append((report["epoch"], report["batch"]))
        if len(batches) == 3:
            workers[0].pause()  # at the end of the third batch, as the Pause button does

    summaries: list[dict] = []
    worker = start_worker(quick_config(), on_batch, summaries)
    workers.append(worker)
    qtbot.waitUntil(lambda: len(batches) >= 3, timeout=RUN_TIMEOUT_MS)
    assert worker.is_paused
    qtbot.wait(400)
    assert batches == [(1, 1), (1, 2), (1, 3)]  # held: no batch ran while paused
    worker.resume()
    qtbot.waitUntil(lambda: len(summaries) == 1, timeout=RUN_TIMEOUT_MS)
    steps = len([batch for batch in batches if batch[0] == 1])
    assert batches == [(epoch, batch) for epoch in (1, 2) for batch in range(1, steps + 1)]  # continued, no restart
    summary = summaries[0]
    assert summary["epochs_completed"] == 2 and not summary["stopped_by_user"]
    assert summary["class_names"] == [str(digit) for digit in range(10)]


def test_stop_while_paused_ends_the_run(qtbot, start_worker):
    batches: list[tuple[int, int]] = []
    workers: list[TrainingWorker] = []

    def on_batch(report: dict) -> None:
        batches.append((report["epoch"], report["batch"]))
        if len(batches) == 2:
            workers[0].pause()

    summaries: list[dict] = []
    worker = start_worker(quick_config(), on_batch, summaries)
    workers.append(worker)
    qtbot.waitUntil(lambda: worker.is_paused and len(batches) >= 2, timeout=RUN_TIMEOUT_MS)
    worker.request_stop()  # still paused: the gate lets go because a stop was asked for
    qtbot.waitUntil(lambda: len(summaries) == 1, timeout=30_000)
    assert batches == [(1, 1), (1, 2)]
    assert summaries[0]["stopped_by_user"] is True and summaries[0]["epochs_completed"] == 1
