"""The run: real short runs on tiny MNIST subsets, progress and curves, stop, pause, shutdown and failures."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt

from ml.errors import DatasetError, TrainingError
from ml.training.config import TrainConfig, TrainResult
from tests.app.train.runs import (
    RUN_TIMEOUT_MS,
    batch_end,
    batch_report,
    epoch_report,
    series_length,
    tiny_config,
    trained_result,
)


def test_short_run_grows_progress_and_curves_and_offers_a_loadable_model(make_panel, qtbot):
    panel = make_panel()
    progress_texts: list[str] = []  # every text the bar shows: a tiny run can reach testing between two looks
    show_text = panel.run.progress_bar.setFormat
    panel.run.progress_bar.setFormat = lambda text: (progress_texts.append(text), show_text(text))[1]
    with qtbot.waitSignal(panel.running_changed, timeout=5_000) as started:
        assert panel.start_training(tiny_config(panel, batch_size=16))  # 40 batches an epoch: curves refresh mid-run
    assert started.args == [True]
    assert not panel.run.start_button.isEnabled() and panel.run.stop_button.isEnabled()
    assert not panel.form.preset_combo.isEnabled() and not panel.form.epochs_spin.isEnabled()

    qtbot.waitUntil(lambda: series_length(panel.run.curves.training_loss) >= 3, timeout=RUN_TIMEOUT_MS)
    early_points = series_length(panel.run.curves.training_loss)
    early_progress = panel.run.progress_bar.value()
    assert early_progress > 0
    assert panel.run.progress_bar.maximum() == 2 * 40
    batch_texts = [text for text in progress_texts if "epoch 1/2 · batch" in text or "epoch 2/2 · batch" in text]
    assert batch_texts and all("samples/s" in text and "ETA" in text for text in batch_texts)

    with qtbot.waitSignal(panel.model_trained, timeout=RUN_TIMEOUT_MS) as trained:
        pass
    summary = trained.args[0]
    assert not panel.is_running
    assert (
        panel.run.start_button.isEnabled()
        and not panel.run.stop_button.isEnabled()
        and panel.form.preset_combo.isEnabled()
    )
    assert series_length(panel.run.curves.training_loss) == 80 > early_points
    assert series_length(panel.run.curves.training_accuracy) == 80
    assert series_length(panel.run.curves.smoothed_training_loss) == 80
    assert series_length(panel.run.curves.smoothed_training_accuracy) == 80
    assert list(panel.run.curves.validation_loss.xData) == [1.0, 2.0]
    assert len(panel.run.curves.validation_accuracy.yData) == 2
    x_values = panel.run.curves.training_loss.xData
    assert x_values[0] == pytest.approx(1 / 40) and x_values[-1] == pytest.approx(2.0)  # batch 1 of 40 = epoch 0.025
    assert panel.run.progress_bar.value() == panel.run.progress_bar.maximum()
    assert "Testing the model on the test set, then calibrating it…" in progress_texts  # up to a minute: say why

    assert summary["preset"] == "cnn3x3"
    assert summary["epochs_completed"] == 2
    assert summary["stopped_by_user"] is False
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert f"{summary['test_accuracy']:.2%}" in panel.run.result_label.text()
    path = Path(summary["path"])
    assert path.suffix == ".keras" and path.parent == panel.run.models_folder and path.exists()

    from ml.models.files import load_model

    loaded = load_model(path)
    assert loaded.metadata.preset == "cnn3x3"
    assert loaded.metadata.test_accuracy == pytest.approx(summary["test_accuracy"])
    assert loaded.num_classes == 10


def test_stop_ends_training_within_a_few_batches(make_panel, qtbot):
    panel = make_panel()
    reports_after_stop: list[int] = []
    panel.start_training(tiny_config(panel, epochs=3, batch_size=16, max_train_samples=3200))
    worker = panel.run._worker

    def count_reports_after_stop(report: dict) -> None:
        """Runs in the worker thread as each report is emitted: counts those emitted after Stop."""
        if worker.stop_was_requested:
            reports_after_stop.append(report["batch"])

    worker.batch_finished.connect(count_reports_after_stop, Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(lambda: series_length(panel.run.curves.training_loss) >= 3, timeout=RUN_TIMEOUT_MS)
    panel.run.stop_button.click()
    assert panel.run.stop_button.text() == "Stopping…" and not panel.run.stop_button.isEnabled()

    with qtbot.waitSignal(panel.model_trained, timeout=RUN_TIMEOUT_MS) as trained:
        pass
    assert len(reports_after_stop) <= 1, reports_after_stop  # at most the batch running when Stop was clicked
    assert series_length(panel.run.curves.training_loss) < 3 * 200
    summary = trained.args[0]
    assert summary["stopped_by_user"] is True
    assert summary["epochs_completed"] == 1
    assert "Stopped by you" in panel.run.progress_bar.format()
    assert panel.run.start_button.isEnabled()


def test_pause_holds_the_run_between_batches_and_resume_continues_it(make_panel, qtbot, monkeypatch):
    pressed = threading.Event()

    def fit_with_a_pause_point(
        config: TrainConfig, *, on_batch=None, should_stop=None, wait_while_paused=None, **hooks
    ):
        on_batch(batch_report(1, 1))
        pressed.wait(30)  # until the test has pressed Pause
        batch_end(wait_while_paused, should_stop)
        on_batch(batch_report(1, 2))
        raise TrainingError("end of the stub run")

    monkeypatch.setattr("ml.training.fit.fit", fit_with_a_pause_point)
    panel = make_panel()
    assert not panel.run.pause_button.isEnabled()
    panel.start_training()
    qtbot.waitUntil(lambda: panel.run._latest_batch is not None, timeout=30_000)
    statuses: list[str] = []
    panel.status_changed.connect(lambda text, milliseconds: statuses.append(text))
    panel.run.pause_button.click()
    pressed.set()
    assert panel.run.is_paused and panel.run.pause_button.text() == "Resume"
    assert panel.run.progress_bar.format().startswith("Paused · ")
    assert statuses and statuses[-1].startswith("Training paused")  # the window's status bar says so too
    panel.run._shown_batch = None  # as when a report arrives while paused: the next refresh keeps "Paused"
    panel.run._flush_reports()
    assert panel.run.progress_bar.format().startswith("Paused · epoch 1/1 · batch 1/2")
    qtbot.wait(300)
    assert panel.run._latest_batch["batch"] == 1 and panel.is_running  # held
    with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
        panel.run.pause_button.click()
    assert panel.run._training_series.points.size == 2  # the same run went on with its second batch
    assert panel.run.pause_button.text() == "Pause" and not panel.run.pause_button.isEnabled()


def test_pause_and_stop_are_disabled_while_the_trained_model_is_tested(make_panel, qtbot, monkeypatch):
    """Stop stayed enabled after the last batch, though the worker checks it only between batches: it did nothing."""
    testing = threading.Event()

    def fit_that_tests_until_released(config: TrainConfig, *, on_batch=None, on_epoch=None, **hooks):
        report = {"epoch": 1, "epochs": 1, "steps": 1, "loss": 1.0, "accuracy": 0.5, "samples_per_second": 100.0}
        on_batch({**report, "batch": 1})
        on_epoch({"epoch": 1, "epochs": 1, "loss": 1.0, "accuracy": 0.5, "val_loss": 0.9, "val_accuracy": 0.6})
        testing.wait(30)  # as fit tests and calibrates the model: no batch end checks Stop any more
        raise TrainingError("end of the stub run")

    monkeypatch.setattr("ml.training.fit.fit", fit_that_tests_until_released)
    panel = make_panel()
    panel.start_training()
    try:
        qtbot.waitUntil(lambda: panel.run.phase == "testing", timeout=30_000)
        assert panel.run.progress_bar.format() == "Testing the model on the test set, then calibrating it…"
        assert not panel.run.stop_button.isEnabled() and not panel.run.pause_button.isEnabled()
        assert panel.is_running
    finally:
        with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
            testing.set()
    assert panel.run.start_button.isEnabled() and not panel.run.stop_button.isEnabled()


@pytest.mark.parametrize("clicked", ["stop_button", "pause_button", None])
def test_once_the_last_batch_is_behind_the_run_pause_and_stop_are_off_and_it_says_it_is_finishing(
    make_panel, qtbot, monkeypatch, tmp_path, clicked
):
    """Between the last batch's report and the last epoch's (Keras validating), no stop check was left, yet Stop
    was enabled: a click said "Stopping…", and the run finished and was calibrated as if it had not been pressed."""
    checked, validated = threading.Event(), threading.Event()
    stops_seen: list[bool] = []

    def fit_validating_until_released(
        config: TrainConfig, *, on_batch=None, on_epoch=None, should_stop=None, wait_while_paused=None, **hooks
    ) -> TrainResult:
        for batch in (1, 2):
            on_batch(batch_report(1, batch))
            stops_seen.append(batch_end(wait_while_paused, should_stop))
        checked.set()  # the last stop check is behind the run: Keras validates the last epoch now
        validated.wait(30)
        on_epoch(epoch_report(1))
        return trained_result(config, 1, stopped_by_user=any(stops_seen))

    monkeypatch.setattr("ml.training.fit.fit", fit_validating_until_released)
    monkeypatch.setattr("app.train.worker.TrainingWorker._save", lambda worker, result: tmp_path / "trained.keras")
    panel = make_panel()
    panel.start_training()
    try:
        qtbot.waitUntil(lambda: checked.is_set() and (panel.run._latest_batch or {}).get("batch") == 2, timeout=30_000)
        if clicked is None:
            QCoreApplication.sendPostedEvents()  # everything the worker said before validating
        else:
            getattr(panel.run, clicked).click()  # before or after the worker's word: either way, told the truth
        assert not panel.run.stop_button.isEnabled() and panel.run.stop_button.text() == "Stop"
        assert not panel.run.pause_button.isEnabled() and panel.run.pause_button.text() == "Pause"
        assert not panel.run.is_paused
        assert panel.run.progress_bar.format() == "Finishing the last epoch…"
    finally:
        with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
            validated.set()
    assert stops_seen == [False, False]
    assert panel.run.progress_bar.format() == "Training finished"


@pytest.mark.parametrize("clicked", ["stop_button", "pause_button", None])
def test_a_run_ended_by_early_stopping_refuses_pause_and_stop_while_it_is_tested_and_says_so(
    make_panel, qtbot, monkeypatch, tmp_path, clicked
):
    """Early stopping ends a run at an epoch that was not its last, so no batch was known to be the last: a Stop
    clicked while the run was tested and saved said "Stopping…" until the save, and a Pause held nothing."""
    validating, clicked_now, ended, tested = (threading.Event() for _ in range(4))

    def fit_stopped_early(
        config: TrainConfig, *, on_batch=None, on_epoch=None, should_stop=None, wait_while_paused=None, **hooks
    ) -> TrainResult:
        for batch in (1, 2):
            on_batch(batch_report(1, batch, epochs=3))
            batch_end(wait_while_paused, should_stop)
        validating.set()
        clicked_now.wait(30)  # the test clicks while Keras validates epoch 1 (early stopping decides after it)
        on_epoch(epoch_report(1, epochs=3))
        if hooks.get("on_batches_ended") is not None:
            hooks["on_batches_ended"]()  # early stopping ran out of patience: no batch is left
        ended.set()
        tested.wait(30)  # testing, calibrating
        result = trained_result(config, 1, stopped_by_user=False)
        result.stop_reason = "Early stopping: val_loss did not improve for 1 epoch."
        return result

    monkeypatch.setattr("ml.training.fit.fit", fit_stopped_early)
    monkeypatch.setattr("app.train.worker.TrainingWorker._save", lambda worker, result: tmp_path / "trained.keras")
    panel = make_panel()
    statuses: list[str] = []
    panel.status_changed.connect(lambda text, timeout: statuses.append(text))
    panel.start_training()
    run = panel.run
    try:
        qtbot.waitUntil(lambda: validating.is_set() and (run._latest_batch or {}).get("batch") == 2, timeout=30_000)
        if clicked is not None:
            getattr(run, clicked).click()  # still taken: the run might train on
        clicked_now.set()
        qtbot.waitUntil(lambda: ended.is_set() and run._validation_points.size == 1, timeout=30_000)
        QCoreApplication.sendPostedEvents()  # everything the worker said before testing
        run.request_stop()  # a click during the test, as a user would make it
        run.toggle_pause()
        assert not run.stop_button.isEnabled() and run.stop_button.text() == "Stop"
        assert not run.pause_button.isEnabled() and run.pause_button.text() == "Pause"
        assert not run.is_paused and run.phase == "testing"
        assert run.progress_bar.format() == "Testing the model on the test set, then calibrating it…"
        if clicked == "pause_button":  # the status bar no longer says the run is paused
            assert statuses[-1] == "No batch was left to pause at: the run is finishing."
    finally:
        with qtbot.waitSignal(panel.model_trained, timeout=30_000) as trained:
            tested.set()
    assert trained.args[0]["stopped_by_user"] is False
    assert run.progress_bar.format() == "Training stopped early"
    assert run.message_label.text().startswith("Early stopping")


@pytest.mark.parametrize("then", ["stop", "resume"])
def test_a_run_paused_on_its_last_batch_can_still_be_stopped_or_resumed(make_panel, qtbot, monkeypatch, tmp_path, then):
    paused = threading.Event()

    def fit_paused_on_the_last_batch(
        config: TrainConfig, *, on_batch=None, on_epoch=None, should_stop=None, wait_while_paused=None, **hooks
    ) -> TrainResult:
        on_batch(batch_report(1, 1))
        batch_end(wait_while_paused, should_stop)
        on_batch(batch_report(1, 2))
        paused.wait(30)  # the test pauses the run on its last batch's report
        stopped = batch_end(wait_while_paused, should_stop)
        on_epoch(epoch_report(1))
        return trained_result(config, 1, stopped_by_user=stopped)

    monkeypatch.setattr("ml.training.fit.fit", fit_paused_on_the_last_batch)
    monkeypatch.setattr("app.train.worker.TrainingWorker._save", lambda worker, result: tmp_path / "trained.keras")
    panel = make_panel()
    panel.start_training()
    qtbot.waitUntil(lambda: (panel.run._latest_batch or {}).get("batch") == 2, timeout=30_000)
    panel.run.pause_button.click()
    paused.set()
    qtbot.wait(200)
    assert panel.run.is_paused and panel.is_running  # held on its last batch
    assert panel.run.pause_button.isEnabled() and panel.run.pause_button.text() == "Resume"
    assert panel.run.stop_button.isEnabled()
    with qtbot.waitSignal(panel.model_trained, timeout=30_000) as trained:
        (panel.run.stop_button if then == "stop" else panel.run.pause_button).click()
    assert trained.args[0]["stopped_by_user"] is (then == "stop")
    expected = "Stopped by you after 1 epoch" if then == "stop" else "Training finished"
    assert panel.run.progress_bar.format() == expected


def test_a_stop_while_an_earlier_epoch_is_validated_waits_for_the_next_batch_and_says_so(
    make_panel, qtbot, monkeypatch, tmp_path
):
    """A stop clicked while an epoch before the last was validated showed "Testing the model…" at that epoch's
    report, though the run trains one more batch before its next stop check."""
    checked, clicked, next_batch = threading.Event(), threading.Event(), threading.Event()

    def fit_with_a_stop_between_epochs(
        config: TrainConfig, *, on_batch=None, on_epoch=None, should_stop=None, wait_while_paused=None, **hooks
    ) -> TrainResult:
        for batch in (1, 2):
            on_batch(batch_report(1, batch, epochs=2))
            batch_end(wait_while_paused, should_stop)
        checked.set()
        clicked.wait(30)  # Stop is clicked while epoch 1 is validated
        on_epoch(epoch_report(1, epochs=2))
        next_batch.wait(30)
        on_batch(batch_report(2, 1, epochs=2))
        stopped = batch_end(wait_while_paused, should_stop)
        on_epoch(epoch_report(1.5, epochs=2, partial=True))  # the epoch the stop cut short
        return trained_result(config, 1, stopped_by_user=stopped)

    monkeypatch.setattr("ml.training.fit.fit", fit_with_a_stop_between_epochs)
    monkeypatch.setattr("app.train.worker.TrainingWorker._save", lambda worker, result: tmp_path / "trained.keras")
    panel = make_panel()
    panel.start_training()
    try:
        qtbot.waitUntil(lambda: checked.is_set() and (panel.run._latest_batch or {}).get("batch") == 2, timeout=30_000)
        panel.run.stop_button.click()
        assert panel.run.stop_button.text() == "Stopping…" and not panel.run.stop_button.isEnabled()
        clicked.set()
        qtbot.waitUntil(lambda: panel.run._validation_points.size == 1, timeout=30_000)  # epoch 1's report is in
        assert panel.run.phase == "training", "the run still has a batch to train before it can stop"
        assert "Testing" not in panel.run.progress_bar.format()
    finally:
        with qtbot.waitSignal(panel.model_trained, timeout=30_000) as trained:
            next_batch.set()
    assert trained.args[0]["stopped_by_user"] is True
    assert panel.run.progress_bar.format() == "Stopped by you at batch 1/2 of epoch 2"


def test_shutdown_mid_training_ends_the_thread_quickly(make_panel, qtbot):
    panel = make_panel()
    finished_runs = []
    panel.model_trained.connect(finished_runs.append)
    panel.start_training(tiny_config(panel, epochs=5, batch_size=16, max_train_samples=3200))
    thread = panel.run._thread
    qtbot.waitUntil(lambda: series_length(panel.run.curves.training_loss) >= 2, timeout=RUN_TIMEOUT_MS)

    started = time.perf_counter()
    assert panel.shutdown(2000)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.5
    assert not panel.is_running
    assert thread.isFinished() and not thread.isRunning()
    assert panel.run.start_button.isEnabled()
    qtbot.wait(100)  # queued reports of the ended run must not revive it
    assert not panel.is_running and finished_runs == []


class ResourceExhaustedError(Exception):
    """Stands in for ``tf.errors.ResourceExhaustedError`` (matched by name)."""


def wrapped_out_of_memory() -> TrainingError:
    """What ``fit`` raises when TensorFlow runs out of device memory."""
    error = TrainingError("Training failed: ResourceExhaustedError: OOM")
    error.__cause__ = ResourceExhaustedError("OOM when allocating tensor with shape [4096,32,28,28]")
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (DatasetError("The MNIST file x.npz is corrupted or was modified"), "The MNIST file x.npz is corrupted"),
        (MemoryError(), "Out of memory — try a smaller batch size."),
        (wrapped_out_of_memory(), "Out of memory — try a smaller batch size."),
        (TrainingError("Unknown optimizer 'adamw'"), "Unknown optimizer 'adamw'"),
        (RuntimeError("kernel exploded"), "RuntimeError: kernel exploded"),
        (
            DatasetError(
                "Could not download Fashion-MNIST (no network?): <urlopen error [Errno -3]>. Supply the files "
                "yourself: --data FOLDER holding the four IDX .gz files"
            ),
            "Choose your own copy with Data → Browse…",
        ),
    ],
    ids=["bad-data-file", "memory-error", "resource-exhausted", "training-error", "anything-else", "offline-fashion"],
)
def test_a_failing_fit_shows_the_message_and_gives_the_controls_back(make_panel, qtbot, monkeypatch, error, expected):
    def failing_fit(config: TrainConfig, **hooks) -> TrainResult:
        raise error

    monkeypatch.setattr("ml.training.fit.fit", failing_fit)
    panel = make_panel()
    trained = []
    panel.model_trained.connect(trained.append)
    with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
        panel.start_training()
    assert expected in panel.run.message_label.text()
    assert "--data" not in panel.run.message_label.text() and "urlopen" not in panel.run.message_label.text()
    assert not panel.run.message_label.isHidden()
    assert panel.run.start_button.isEnabled() and not panel.run.stop_button.isEnabled()
    assert all(widget.isEnabled() for widget in panel.form.setting_widgets)
    assert panel.run.progress_bar.format() == "Training failed"
    assert trained == []


def test_nan_loss_in_the_first_epoch_is_explained_and_offers_no_model(make_panel, qtbot, monkeypatch, diverged_result):
    reason = "The loss became NaN at epoch 1, batch 3; training stopped. Try a lower learning rate."

    def diverging_fit(config: TrainConfig, *, on_batch=None, **hooks) -> TrainResult:
        for batch in (1, 2):
            on_batch(
                {
                    "epoch": 1,
                    "epochs": 2,
                    "batch": batch,
                    "steps": 10,
                    "loss": 2.0 / batch,
                    "accuracy": 0.1 * batch,
                    "samples_per_second": 1000.0,
                }
            )
        return diverged_result(config, reason)

    monkeypatch.setattr("ml.training.fit.fit", diverging_fit)
    panel = make_panel()
    trained = []
    panel.model_trained.connect(trained.append)
    with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
        panel.start_training()
    assert reason in panel.run.message_label.text()
    assert "No usable model" in panel.run.message_label.text()
    assert series_length(panel.run.curves.training_loss) == 2
    assert panel.run.start_button.isEnabled()
    assert trained == []


def test_a_run_stopped_mid_epoch_says_how_much_of_its_last_epoch_it_trained(make_panel, qtbot, monkeypatch, tmp_path):
    """A run stopped at batch 1/8 of epoch 12 said "fast · 12 epochs" beside its test accuracy: Keras counts the cut
    epoch as a whole one, though only 11⅛ were trained."""
    reached, clicked = threading.Event(), threading.Event()

    def fit_stopped_in_its_second_epoch(
        config: TrainConfig, *, on_batch=None, on_epoch=None, should_stop=None, wait_while_paused=None, **hooks
    ) -> TrainResult:
        for epoch, batch in ((1, 1), (1, 2), (1, 3), (1, 4), (2, 1)):
            on_batch(batch_report(epoch, batch, epochs=3, steps=4))
            if (epoch, batch) == (2, 1):
                reached.set()
                clicked.wait(30)
            if batch_end(wait_while_paused, should_stop):
                break
            if batch == 4:
                on_epoch(epoch_report(epoch, epochs=3))
        on_epoch(epoch_report(1.25, epochs=3, partial=True))
        return trained_result(config, 2, stopped_by_user=True)  # Keras's history holds the cut epoch too

    monkeypatch.setattr("ml.training.fit.fit", fit_stopped_in_its_second_epoch)
    monkeypatch.setattr("app.train.worker.TrainingWorker._save", lambda worker, result: tmp_path / "trained.keras")
    panel = make_panel()
    panel.start_training()
    qtbot.waitUntil(lambda: reached.is_set() and (panel.run._latest_batch or {}).get("epoch") == 2, timeout=30_000)
    panel.run.stop_button.click()
    with qtbot.waitSignal(panel.model_trained, timeout=30_000):
        clicked.set()
    assert panel.run.progress_bar.format() == "Stopped by you at batch 1/4 of epoch 2"
    assert " · 1.25 epochs · " in panel.run.result_details_label.text()


def test_a_stop_mid_epoch_says_at_which_batch():
    from app.train.run_panel import stopped_by_you

    mid_epoch = {"epoch": 1, "batch": 255, "steps": 430}
    assert stopped_by_you(1, mid_epoch) == "Stopped by you at batch 255/430 of epoch 1"
    assert stopped_by_you(2, {"epoch": 2, "batch": 430, "steps": 430}) == "Stopped by you after 2 epochs"
    assert stopped_by_you(1, None) == "Stopped by you after 1 epoch"


def test_the_devices_and_the_skipped_files_of_a_run_are_shown(make_panel, qtbot, monkeypatch, diverged_result):
    skipped = "2 image files in /data/digits could not be read and were skipped: 3/a.png: not an image file."
    devices = "2 GPUs (MirroredStrategy): GPU:0 NVIDIA A100, GPU:1 NVIDIA A100 · mixed precision (float16)"

    def streamed_fit(config: TrainConfig, **hooks) -> TrainResult:
        result = diverged_result(config, None)
        result.history, result.notes, result.device = {"loss": [0.5]}, [skipped], devices
        return result

    monkeypatch.setattr("ml.training.fit.fit", streamed_fit)
    monkeypatch.setattr("app.train.worker.TrainingWorker._save", lambda worker, result: Path("trained.keras"))
    panel = make_panel()
    with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
        panel.start_training()
    assert devices in panel.run.result_details_label.text()
    assert skipped in panel.run.message_label.text()
