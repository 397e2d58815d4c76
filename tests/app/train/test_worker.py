"""TrainingWorker: pause/resume/stop in its own QThread; error messages, abandon, saving and cache pruning."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThread

from app.train.worker import (
    OUT_OF_MEMORY_MESSAGE,
    TrainingAbandoned,
    TrainingWorker,
    describe_error,
    good_epoch_count,
    prune_trained_models,
)
from ml.errors import DatasetError, TrainingError
from ml.training.config import TrainConfig
from tests.app.train.runs import trained_result

RUN_TIMEOUT_MS = 240_000


@pytest.fixture
def start_worker(qtbot, tmp_path: Path) -> Iterator:
    """Start a worker for ``config`` in a thread wired as the panel wires it; the thread is joined afterwards."""
    threads: list[QThread] = []

    def start(config: TrainConfig, on_batch, summaries: list, reference: str | None = None) -> TrainingWorker:
        worker = TrainingWorker(config, tmp_path / "trained", reference_model=reference)
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
    assert "reference_accuracy" not in summaries[0]  # no active model to compare with


def test_the_run_reports_the_active_models_accuracy_to_compare_with(qtbot, start_worker):
    from ml.assets import bundled_model_path

    summaries: list[dict] = []
    worker = start_worker(quick_config(), lambda report: None, summaries, reference=str(bundled_model_path()))
    qtbot.waitUntil(lambda: len(summaries) == 1, timeout=RUN_TIMEOUT_MS)
    assert worker.reference_model == str(bundled_model_path())  # (holding the worker keeps it alive meanwhile)
    summary = summaries[0]
    assert Path(summary["path"]).is_file() and summary["reference_path"] == str(bundled_model_path())
    # An MNIST image model cannot score 64 standardized features: its recorded figure, named as MNIST's.
    assert summary["reference_accuracy"] == pytest.approx(0.997)
    assert summary["reference_dataset"] == "mnist" and summary["reference_same_test_set"] is False


class ResourceExhaustedError(Exception):
    """Stands in for ``tf.errors.ResourceExhaustedError`` (matched by name, so TensorFlow is not needed)."""


def chained(outer: BaseException, cause: BaseException) -> BaseException:
    """``outer`` raised ``from cause``."""
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (DatasetError("MNIST file not found: x.npz"), "MNIST file not found: x.npz"),
        (TrainingError("Unknown optimizer 'adamw'"), "Unknown optimizer 'adamw'"),
        (MemoryError(), OUT_OF_MEMORY_MESSAGE),
        (chained(TrainingError("Training failed"), ResourceExhaustedError("OOM")), OUT_OF_MEMORY_MESSAGE),
        (KeyError("Unknown preset 'x'. Known presets: best."), "Unknown preset 'x'. Known presets: best."),
        (ValueError("bad shape"), "Training failed: ValueError: bad shape"),
    ],
)
def test_errors_become_plain_messages(error, expected):
    assert describe_error(error) == expected


def test_a_save_failure_says_training_finished():
    class ModelFileError(Exception):
        pass

    assert describe_error(ModelFileError("disk full")).startswith("Training finished, but the model could not be saved")


def test_stop_and_abandon_are_seen_by_the_stop_check():
    worker = TrainingWorker(TrainConfig(preset="cnn3x3"), Path("unused"))
    assert worker.should_stop() is False
    worker.request_stop()
    assert worker.should_stop() is True and worker.stop_was_requested
    worker.request_abandon()
    with pytest.raises(TrainingAbandoned):
        worker.should_stop()


def test_after_the_last_batch_pause_and_stop_are_refused_and_batches_ended_says_so():
    worker = TrainingWorker(TrainConfig(preset="cnn3x3"), Path("unused"))
    ended: list[bool] = []
    worker.batches_ended.connect(lambda: ended.append(True))
    worker._report_batch({"epoch": 1, "epochs": 2, "batch": 3, "steps": 3})
    worker._hold_while_paused()
    assert ended == [] and not worker.batches_are_over  # an epoch is left
    worker._report_batch({"epoch": 2, "epochs": 2, "batch": 3, "steps": 3})
    worker._hold_while_paused()  # fit checks Stop once more, then never again
    assert ended == [True] and worker.batches_are_over
    assert worker.request_stop() is False and worker.should_stop() is False
    assert worker.pause() is False and not worker.is_paused


def test_a_stop_taken_at_a_batch_end_ends_the_batches_once():
    worker = TrainingWorker(TrainConfig(preset="cnn3x3"), Path("unused"))
    ended: list[bool] = []
    worker.batches_ended.connect(lambda: ended.append(True))
    assert worker.request_stop() is True and ended == []
    assert worker.should_stop() is True and worker.should_stop() is True
    assert ended == [True] and worker.pause() is False


def test_once_fit_says_its_batches_are_over_pause_and_stop_are_refused_and_a_pending_pause_is_let_go(
    monkeypatch, tmp_path
):
    """Early stopping or a NaN loss ends the batches before the last one: Stop was still taken ("Stopping…") and a
    Pause held nothing while the run was tested and saved."""
    checks: list[bool] = []

    def fit_ended_early(config, *, on_batches_ended=None, **hooks):
        checks.append(worker.pause())  # the run is between epochs: a pause can still hold it
        assert on_batches_ended is not None, "fit is not told when the batches are over"
        on_batches_ended()  # early stopping ran out of patience
        on_batches_ended()  # and Keras's fit ended: said once
        checks.extend([worker.is_paused, worker.request_stop(), worker.pause(), worker.stop_was_requested])
        return trained_result(config, 1, stopped_by_user=False)

    monkeypatch.setattr("ml.training.fit.fit", fit_ended_early)
    monkeypatch.setattr(TrainingWorker, "_save", lambda worker, result: tmp_path / "trained.keras")
    worker = TrainingWorker(TrainConfig(preset="cnn3x3"), tmp_path)
    ended: list[bool] = []
    worker.batches_ended.connect(lambda: ended.append(True))
    seen = record_signals(worker)
    worker.run()
    assert seen["failed"] == [] and len(seen["trained"]) == 1
    assert checks == [True, False, False, False, False] and ended == [True] and worker.batches_are_over


def record_signals(worker: TrainingWorker) -> dict[str, list]:
    """Lists that collect what each of the worker's signals carried (same thread: delivered at once)."""
    seen: dict[str, list] = {"trained": [], "failed": [], "finished": [], "batch": []}
    worker.trained.connect(seen["trained"].append)
    worker.failed.connect(seen["failed"].append)
    worker.finished.connect(lambda: seen["finished"].append(True))
    worker.batch_finished.connect(seen["batch"].append)
    return seen


def test_run_reports_a_failure_and_always_finishes(monkeypatch, tmp_path):
    def failing_fit(config, **hooks):
        raise DatasetError("The MNIST file is corrupted.")

    monkeypatch.setattr("ml.training.fit.fit", failing_fit)
    worker = TrainingWorker(TrainConfig(preset="cnn3x3"), tmp_path)
    seen = record_signals(worker)
    worker.run()
    assert seen == {"trained": [], "failed": ["The MNIST file is corrupted."], "finished": [True], "batch": []}


def test_a_dataset_too_big_for_memory_fails_the_run_with_the_figures(monkeypatch, tmp_path):
    import numpy as np
    from PIL import Image

    for label in ("a", "b"):
        (tmp_path / "digits" / label).mkdir(parents=True)
        for index in range(6):
            Image.fromarray(np.full((12, 12), 40 * index, np.uint8)).save(tmp_path / "digits" / label / f"{index}.png")
    monkeypatch.setattr("ml.training.memory.available_memory_bytes", lambda: 100_000)
    # The dock's settings for a folder and a preset that reads it whole, as features.
    config = TrainConfig(preset="mlp-digits", dataset=str(tmp_path / "digits"), image_size=64, epochs=1)
    worker = TrainingWorker(config, tmp_path / "trained")
    seen = record_signals(worker)
    worker.run()
    assert seen["trained"] == [] and seen["batch"] == [] and seen["finished"] == [True]
    [message] = seen["failed"]
    assert message.startswith(f"The image folder {tmp_path / 'digits'} at 64x64 needs about 492 kB of memory")
    assert "this machine has 100 kB free" in message and message != OUT_OF_MEMORY_MESSAGE
    assert not (tmp_path / "trained").exists()


def test_a_tiny_folder_trains_on_features_without_a_validation_split(tmp_path):
    from PIL import Image

    from ml.assets import bundled_model_path

    for shade, name in ((40, "dark"), (220, "light")):
        (tmp_path / "tiny" / name).mkdir(parents=True)
        for index in range(2):  # 4 images: 1 to test on, 3 to train on, none left to validate on
            Image.new("L", (12, 12), shade).save(tmp_path / "tiny" / name / f"{index}.png")
    config = TrainConfig(preset="mlp-digits", dataset=str(tmp_path / "tiny"), image_size=8, epochs=1)
    worker = TrainingWorker(config, tmp_path / "trained", reference_model=str(bundled_model_path()))
    seen = record_signals(worker)
    worker.run()
    assert seen["failed"] == [] and seen["finished"] == [True]
    [summary] = seen["trained"]
    assert Path(summary["path"]).is_file() and summary["epochs_completed"] == 1
    assert "val_loss" not in summary["history"]


def test_an_abandoned_run_reports_nothing_but_finishes(monkeypatch, tmp_path):
    def fit_that_checks_stop(config, *, on_batch=None, should_stop=None, **hooks):
        on_batch({"epoch": 1, "epochs": 1, "batch": 1, "steps": 5, "loss": 1.0, "accuracy": 0.5})
        try:
            should_stop()
        except Exception as error:  # what ml.training.fit.fit does with anything raised inside model.fit
            raise TrainingError(f"Training failed: {type(error).__name__}") from error
        raise AssertionError("should_stop did not raise")

    monkeypatch.setattr("ml.training.fit.fit", fit_that_checks_stop)
    worker = TrainingWorker(TrainConfig(preset="cnn3x3"), tmp_path)
    seen = record_signals(worker)
    worker.request_abandon()
    worker.run()
    assert seen["failed"] == [] and seen["trained"] == [] and seen["finished"] == [True]
    assert len(seen["batch"]) == 1


def test_a_diverged_first_epoch_is_not_saved(monkeypatch, tmp_path, diverged_result):
    def diverging_fit(config, **hooks):
        return diverged_result(config)

    monkeypatch.setattr("ml.training.fit.fit", diverging_fit)
    worker = TrainingWorker(TrainConfig(preset="cnn3x3"), tmp_path)
    seen = record_signals(worker)
    worker.run()
    summary = seen["trained"][0]
    assert summary["path"] is None and summary["epochs_completed"] == 0
    assert summary["stop_reason"].startswith("The loss became NaN")
    assert list(tmp_path.iterdir()) == []


def test_good_epochs_stop_at_the_first_non_finite_loss():
    assert good_epoch_count({"loss": [0.5, 0.3, math.nan]}) == 2
    assert good_epoch_count({}) == 0


def test_pruning_keeps_the_newest_models(tmp_path):
    for index in range(5):
        path = tmp_path / f"model-{index}.keras"
        path.write_bytes(b"x")
        stamp = time.time() - 100 + index
        os.utime(path, (stamp, stamp))
    (tmp_path / "notes.txt").write_text("kept")
    prune_trained_models(tmp_path, keep=2)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model-3.keras", "model-4.keras", "notes.txt"]
