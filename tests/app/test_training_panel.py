"""The training panel: real short runs on tiny MNIST subsets, stop, shutdown, settings and failures."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from app.training_panel import LossAccuracyCurves, TrainingPanel, TrainingSeries
from ml.errors import DatasetError, TrainingError
from ml.training.config import TrainConfig, TrainResult

RUN_TIMEOUT_MS = 240_000

PanelFactory = Callable[[], TrainingPanel]


@pytest.fixture
def make_panel(qtbot, settings: QSettings, tmp_path: Path) -> Iterator[PanelFactory]:
    """Build panels that save models under ``tmp_path``; fail the test if one leaves its thread running."""
    panels: list[TrainingPanel] = []

    def make() -> TrainingPanel:
        panel = TrainingPanel(settings)
        panel.models_folder = tmp_path / "trained"
        qtbot.addWidget(panel)
        panel.resize(1100, 650)
        panels.append(panel)
        return panel

    yield make
    left_running = [panel for panel in panels if panel.is_running]
    for panel in left_running:
        assert panel.shutdown(30_000), "a training thread would not end"
    assert not left_running, "the test left a training thread running"


def tiny_config(panel: TrainingPanel, **changes) -> TrainConfig:
    """The panel's config cut down to a few seconds of training."""
    config = replace(
        panel.training_config(),
        preset="cnn3x3",
        epochs=2,
        batch_size=64,
        max_train_samples=640,
        max_test_samples=256,
        augment=False,
    )
    return replace(config, **changes)


def series_length(item) -> int:
    """Number of points a PlotDataItem holds (its full data, not the downsampled view)."""
    return 0 if item.xData is None else len(item.xData)


def test_short_run_grows_progress_and_curves_and_offers_a_loadable_model(make_panel, qtbot):
    panel = make_panel()
    progress_texts: list[str] = []  # every text the bar shows: a tiny run can reach testing between two looks
    show_text = panel.progress_bar.setFormat
    panel.progress_bar.setFormat = lambda text: (progress_texts.append(text), show_text(text))[1]
    with qtbot.waitSignal(panel.running_changed, timeout=5_000) as started:
        assert panel.start_training(tiny_config(panel, batch_size=16))  # 40 batches an epoch: curves refresh mid-run
    assert started.args == [True]
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    assert not panel.preset_combo.isEnabled() and not panel.epochs_spin.isEnabled()

    qtbot.waitUntil(lambda: series_length(panel.curves.training_loss) >= 3, timeout=RUN_TIMEOUT_MS)
    early_points = series_length(panel.curves.training_loss)
    early_progress = panel.progress_bar.value()
    assert early_progress > 0
    assert panel.progress_bar.maximum() == 2 * 40
    batch_texts = [text for text in progress_texts if "epoch 1/2 · batch" in text or "epoch 2/2 · batch" in text]
    assert batch_texts and all("samples/s" in text and "ETA" in text for text in batch_texts)

    with qtbot.waitSignal(panel.model_trained, timeout=RUN_TIMEOUT_MS) as trained:
        pass
    summary = trained.args[0]
    assert not panel.is_running
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled() and panel.preset_combo.isEnabled()
    assert series_length(panel.curves.training_loss) == 80 > early_points
    assert series_length(panel.curves.training_accuracy) == 80
    assert series_length(panel.curves.smoothed_training_loss) == 80
    assert series_length(panel.curves.smoothed_training_accuracy) == 80
    assert list(panel.curves.validation_loss.xData) == [1.0, 2.0]
    assert len(panel.curves.validation_accuracy.yData) == 2
    x_values = panel.curves.training_loss.xData
    assert x_values[0] == pytest.approx(1 / 40) and x_values[-1] == pytest.approx(2.0)  # batch 1 of 40 = epoch 0.025
    assert panel.progress_bar.value() == panel.progress_bar.maximum()

    assert summary["preset"] == "cnn3x3"
    assert summary["epochs_completed"] == 2
    assert summary["stopped_by_user"] is False
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert f"{summary['test_accuracy']:.2%}" in panel.result_label.text()
    path = Path(summary["path"])
    assert path.suffix == ".keras" and path.parent == panel.models_folder and path.exists()

    from ml.models.files import load_model

    loaded = load_model(path)
    assert loaded.metadata.preset == "cnn3x3"
    assert loaded.metadata.test_accuracy == pytest.approx(summary["test_accuracy"])
    assert loaded.num_classes == 10


def test_training_series_recovers_each_batch_from_running_means():
    batch_losses, batch_accuracies = [2.0, 1.0, 0.6, 0.2], [0.25, 0.5, 0.75, 1.0]
    series = TrainingSeries(batch_size=32)
    for epoch in (1, 2):
        for batch in range(1, 5):
            series.add(
                {
                    "epoch": epoch,
                    "epochs": 2,
                    "batch": batch,
                    "steps": 4,
                    "loss": sum(batch_losses[:batch]) / batch,
                    "accuracy": sum(batch_accuracies[:batch]) / batch,
                }
            )
    x, loss, accuracy, smoothed_loss, smoothed_accuracy = series.points.columns()
    assert list(x) == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0])
    assert list(loss) == pytest.approx(batch_losses * 2)  # no saw-tooth: each epoch's running mean is undone
    assert list(accuracy) == pytest.approx(batch_accuracies * 2)
    assert smoothed_loss[0] == pytest.approx(2.0) and smoothed_accuracy[0] == pytest.approx(0.25)  # bias-corrected
    assert smoothed_loss[-1] < smoothed_loss[0] and smoothed_accuracy[-1] > smoothed_accuracy[0]


def test_loss_axis_starts_at_zero_grows_with_the_data_and_leaves_a_user_zoom_alone(qtbot):
    curves = LossAccuracyCurves()
    qtbot.addWidget(curves)
    curves.reset(epochs=2)
    view = curves.loss_plot.getViewBox()
    x, falling = np.linspace(0.1, 1.0, 10), np.linspace(2.3, 0.3, 10)
    curves.set_training(x, falling, 1 - falling / 3, falling, 1 - falling / 3)
    low, high = view.viewRange()[1]
    assert low <= 0.0 and 2.3 < high

    curves.set_training(
        np.append(x, 1.1), np.append(falling, 0.2), np.append(1 - falling / 3, 0.95), *[np.append(x, 1.1)] * 2
    )
    assert view.viewRange()[1] == [low, high]  # data below the top: the axis (and its ticks) stay put

    curves.set_validation(np.array([1.0]), np.array([2.0 * high]), np.array([0.5]))
    assert view.viewRange()[1][1] > 2.0 * high  # a higher value raises the top

    view.scaleBy((1.0, 0.5))
    view.sigRangeChangedManually.emit([False, True])  # what a wheel zoom emits
    zoomed = view.viewRange()[1]
    curves.set_validation(np.array([1.0, 2.0]), np.array([2.0 * high, 10.0 * high]), np.array([0.5, 0.6]))
    assert view.viewRange()[1] == zoomed

    curves.reset(epochs=2)  # a new run follows its data again
    curves.set_training(x, falling, 1 - falling / 3, falling, 1 - falling / 3)
    assert view.viewRange()[1][1] < 2.0 * high


def test_stop_ends_training_within_a_few_batches(make_panel, qtbot):
    panel = make_panel()
    reports_after_stop: list[int] = []
    panel.start_training(tiny_config(panel, epochs=3, batch_size=16, max_train_samples=3200))
    worker = panel._worker

    def count_reports_after_stop(report: dict) -> None:
        """Runs in the worker thread as each report is emitted: counts those emitted after Stop."""
        if worker.stop_was_requested:
            reports_after_stop.append(report["batch"])

    worker.batch_finished.connect(count_reports_after_stop, Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(lambda: series_length(panel.curves.training_loss) >= 3, timeout=RUN_TIMEOUT_MS)
    panel.stop_button.click()
    assert panel.stop_button.text() == "Stopping…" and not panel.stop_button.isEnabled()

    with qtbot.waitSignal(panel.model_trained, timeout=RUN_TIMEOUT_MS) as trained:
        pass
    assert len(reports_after_stop) <= 1, reports_after_stop  # at most the batch running when Stop was clicked
    assert series_length(panel.curves.training_loss) < 3 * 200
    summary = trained.args[0]
    assert summary["stopped_by_user"] is True
    assert summary["epochs_completed"] == 1
    assert "Stopped by you" in panel.progress_bar.format()
    assert panel.start_button.isEnabled()


def test_pause_holds_the_run_between_batches_and_resume_continues_it(make_panel, qtbot, monkeypatch):
    def fit_with_a_pause_point(
        config: TrainConfig, *, on_batch=None, should_stop=None, wait_while_paused=None, **hooks
    ):
        report = {"epoch": 1, "epochs": 1, "steps": 2, "loss": 1.0, "accuracy": 0.5, "samples_per_second": 100.0}
        on_batch({**report, "batch": 1})
        deadline = time.monotonic() + 30
        while not wait_while_paused.paused and time.monotonic() < deadline:
            time.sleep(0.01)  # until the test has pressed Pause
        wait_while_paused.wait_while_paused(should_stop)  # as fit does at every batch end
        on_batch({**report, "batch": 2})
        raise TrainingError("end of the stub run")

    monkeypatch.setattr("ml.training.fit.fit", fit_with_a_pause_point)
    panel = make_panel()
    assert not panel.pause_button.isEnabled()
    panel.start_training()
    qtbot.waitUntil(lambda: panel._latest_batch is not None, timeout=30_000)
    panel.pause_button.click()
    assert panel.is_paused and panel.pause_button.text() == "Resume"
    assert panel.progress_bar.format().startswith("Paused · ")
    qtbot.wait(300)
    assert panel._latest_batch["batch"] == 1 and panel.is_running  # held
    with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
        panel.pause_button.click()
    assert panel._training_series.points.size == 2  # the same run went on with its second batch
    assert panel.pause_button.text() == "Pause" and not panel.pause_button.isEnabled()


def test_shutdown_mid_training_ends_the_thread_quickly(make_panel, qtbot):
    panel = make_panel()
    finished_runs = []
    panel.model_trained.connect(finished_runs.append)
    panel.start_training(tiny_config(panel, epochs=5, batch_size=16, max_train_samples=3200))
    thread = panel._thread
    qtbot.waitUntil(lambda: series_length(panel.curves.training_loss) >= 2, timeout=RUN_TIMEOUT_MS)

    started = time.perf_counter()
    assert panel.shutdown(2000)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.5
    assert not panel.is_running
    assert thread.isFinished() and not thread.isRunning()
    assert panel.start_button.isEnabled()
    qtbot.wait(100)  # queued reports of the ended run must not revive it
    assert not panel.is_running and finished_runs == []


@pytest.fixture
def received(monkeypatch) -> list[TrainConfig]:
    """The configs that ``ml.training.fit.fit`` is called with (it then fails at once, as a refused run would)."""
    configs: list[TrainConfig] = []

    def capture_fit(config: TrainConfig, **hooks) -> TrainResult:
        configs.append(config)
        raise TrainingError("captured")

    monkeypatch.setattr("ml.training.fit.fit", capture_fit)
    return configs


def test_choices_in_the_panel_reach_the_config_fit_receives(make_panel, qtbot, settings, received):
    panel = make_panel()
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("lenet5x5"))
    assert panel.epochs_spin.value() == 3 and panel.batch_size_spin.value() == 50
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("mlp"))
    assert panel.optimizer_combo.currentData() == "sgd" and panel.learning_rate_spin.value() == pytest.approx(0.01)
    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("mnist"))
    panel.epochs_spin.setValue(4)
    panel.batch_size_spin.setValue(256)
    panel.learning_rate_spin.setValue(3e-4)
    panel.optimizer_combo.setCurrentIndex(panel.optimizer_combo.findData("rmsprop"))
    panel.validation_unit_combo.setCurrentIndex(panel.validation_unit_combo.findData("%"))
    panel.validation_spin.setValue(15)
    panel.training_limit_spin.setValue(2000)
    panel.augment_check.setChecked(True)

    with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
        panel.start_button.click()
    config = received[0]
    assert (config.preset, config.dataset, config.epochs, config.batch_size) == ("mlp", "mnist", 4, 256)
    assert config.learning_rate == pytest.approx(3e-4)
    assert config.optimizer == "rmsprop"
    assert config.validation_size == pytest.approx(0.15) and isinstance(config.validation_size, float)
    assert config.max_train_samples == 2000 and config.augment is True
    assert config.early_stopping_patience == 3  # the preset's early stopping, shown on the Options tab

    restored = TrainingPanel(settings)
    qtbot.addWidget(restored)
    assert restored.training_config() == panel.training_config()


def test_datasets_come_from_ml_data_and_set_their_data_path_and_validation_split(make_panel, tmp_path):
    from ml.data.datasets import DATASET_NAMES

    panel = make_panel()
    offered = [panel.dataset_combo.itemData(index) for index in range(panel.dataset_combo.count())]
    assert offered == [*DATASET_NAMES, "folder"]

    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("sklearn-digits"))
    config = panel.training_config()
    assert config.dataset == "sklearn-digits" and config.data_file is None
    assert config.validation_size == pytest.approx(0.1)  # small dataset: a percentage, not 5000 images
    assert not panel.data_path_edit.isEnabled() and not panel.browse_button.isEnabled()

    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("fashion-mnist"))
    panel.data_path_edit.setText(str(tmp_path / "fashion.npz"))
    config = panel.training_config()
    assert (config.dataset, config.data_file, config.validation_size) == (
        "fashion-mnist",
        str(tmp_path / "fashion.npz"),
        5000,
    )

    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("folder"))
    assert panel.data_path_edit.text() == "" and panel.browse_button.isEnabled()
    assert not panel.start_training()  # no folder chosen yet
    assert "Choose the image folder" in panel.message_label.text() and not panel.is_running
    panel.data_path_edit.setText(str(tmp_path))
    config = panel.training_config()
    assert config.dataset == str(tmp_path) and config.data_file is None


def test_validation_as_image_count(make_panel):
    panel = make_panel()
    panel.validation_unit_combo.setCurrentIndex(panel.validation_unit_combo.findData("images"))
    panel.validation_spin.setValue(2500)
    config = panel.training_config()
    assert config.validation_size == 2500 and isinstance(config.validation_size, int)


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
    ],
    ids=["bad-data-file", "memory-error", "resource-exhausted", "training-error", "anything-else"],
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
    assert expected in panel.message_label.text()
    assert not panel.message_label.isHidden()
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert all(widget.isEnabled() for widget in panel.setting_widgets)
    assert panel.progress_bar.format() == "Training failed"
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
    assert reason in panel.message_label.text()
    assert "No usable model" in panel.message_label.text()
    assert series_length(panel.curves.training_loss) == 2
    assert panel.start_button.isEnabled()
    assert trained == []


# ------------------------------------------------------------------------------------ issue #4: every tutorial system


def test_advanced_choices_reach_the_config_fit_receives(make_panel, qtbot, settings, shape_folder, received):
    panel = make_panel()
    options = panel.options
    assert [panel.setup_tabs.tabText(index) for index in range(3)] == ["Setup", "Options", "Images && transfer"]
    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("folder"))
    panel.data_path_edit.setText(str(shape_folder))
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("vgg16-transfer"))
    panel.optimizer_combo.setCurrentIndex(panel.optimizer_combo.findData("sgd"))
    assert (
        options.momentum_spin.isEnabled() and options.weights_combo.isEnabled() and options.image_size_spin.isEnabled()
    )
    options.momentum_spin.setValue(0.9)
    options.nesterov_check.setChecked(True)
    options.schedule_combo.setCurrentIndex(options.schedule_combo.findData("plateau"))
    options.early_stopping_box.setChecked(True)
    options.patience_spin.setValue(4)
    options.restore_best_check.setChecked(False)
    options.checkpoint_check.setChecked(True)
    options.checkpoint_edit.setText(str(shape_folder.parent / "best.keras"))
    options.tensorboard_check.setChecked(True)
    options.tensorboard_edit.setText(str(shape_folder.parent / "logs"))
    options.image_size_spin.setValue(40)
    options.color_combo.setCurrentIndex(options.color_combo.findData("rgb"))
    options.weights_combo.setCurrentIndex(options.weights_combo.findData("none"))
    options.freeze_check.setChecked(False)

    with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
        panel.start_button.click()
    config = received[0]
    assert (config.preset, config.dataset, config.optimizer) == ("vgg16-transfer", str(shape_folder), "sgd")
    assert (config.momentum, config.nesterov, config.schedule) == (pytest.approx(0.9), True, "plateau")
    assert (config.early_stopping_patience, config.restore_best_weights) == (4, False)
    assert config.checkpoint_path == str(shape_folder.parent / "best.keras")
    assert config.tensorboard_dir == str(shape_folder.parent / "logs")
    assert (config.image_size, config.color_mode) == (40, "rgb")
    assert (config.backbone_weights, config.freeze_backbone, config.fine_tune_from) == ("none", False, None)

    restored = TrainingPanel(settings)
    qtbot.addWidget(restored)
    assert restored.training_config() == panel.training_config()

    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("sklearn-digits"))  # no folder, no backbone
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("mlp-digits"))
    assert not options.image_size_spin.isEnabled() and not options.weights_combo.isEnabled()
    config = panel.training_config()
    assert (config.image_size, config.color_mode, config.backbone_weights, config.freeze_backbone) == (
        None,
        "grayscale",
        None,
        None,
    )
    assert config.schedule == "constant" and config.early_stopping_patience == 0  # the preset's own defaults


def test_the_preset_caption_shows_the_tutorial_figure_and_the_parameter_count(make_panel, qtbot):
    panel = make_panel()
    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("mnist"))
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("lenet5x5"))
    assert panel.preset_caption.text() == "Tutorial: 99.3% test accuracy after 3 epochs (MNIST)"  # nothing built yet
    assert not panel.parameter_counter.is_counting
    panel.set_active_model(None, "")  # the window's first model has loaded: TensorFlow is up, counting starts
    assert panel.parameter_counter.is_counting
    qtbot.waitUntil(lambda: "3,274,634 parameters" in panel.preset_caption.text(), timeout=120_000)
    assert panel.preset_caption.text().splitlines()[0].startswith("Tutorial: 99.3%")
    lenet = panel.preset_combo.findData("lenet5x5")
    assert panel.preset_combo.itemText(lenet).endswith("·  3.27 M")
    qtbot.waitUntil(lambda: not panel.parameter_counter.is_counting, timeout=120_000)
    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("sklearn-digits"))
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("mlp-digits"))  # 64 standardized pixels
    qtbot.waitUntil(lambda: "37,510 parameters" in panel.preset_caption.text(), timeout=120_000)
    assert "97.8% test accuracy" in panel.preset_caption.text()
    qtbot.waitUntil(lambda: not panel.parameter_counter.is_counting, timeout=120_000)


def test_fine_tuning_trains_the_active_models_weights(make_panel, qtbot, tmp_path):
    from ml.models.files import save_model
    from ml.training.fit import fit

    pretrained = fit(
        TrainConfig(preset="cnn3x3", epochs=2, batch_size=64, max_train_samples=2000, max_test_samples=500)
    )
    path = save_model(pretrained.model, tmp_path / "pretrained.keras", pretrained.metadata())

    panel = make_panel()
    assert not panel.fine_tune_check.isEnabled()  # no active model yet
    panel.set_active_model(str(path), "pretrained")
    assert panel.fine_tune_check.isEnabled() and "pretrained" in panel.fine_tune_check.text()
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("cnn3x3"))
    panel.fine_tune_check.setChecked(True)
    assert panel.preset_caption.text().startswith("Continuing pretrained")
    assert panel.training_config().fine_tune_from == str(path)

    def first_batch_loss(config: TrainConfig) -> tuple[float, dict]:
        with qtbot.waitSignal(panel.running_changed, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda r: not r):
            with qtbot.waitSignal(panel.model_trained, timeout=RUN_TIMEOUT_MS) as trained:
                assert panel.start_training(config)
                worker_config = panel._worker.config
        return float(panel.curves.training_loss.yData[0]), {
            **trained.args[0],
            "fine_tune_from": worker_config.fine_tune_from,
        }

    continued_loss, continued = first_batch_loss(tiny_config(panel, epochs=1, max_train_samples=512))
    assert continued["fine_tune_from"] == str(path)
    panel.fine_tune_check.setChecked(False)
    fresh_loss, fresh = first_batch_loss(tiny_config(panel, epochs=1, max_train_samples=512))
    assert fresh["fine_tune_from"] is None
    assert fresh_loss > 1.5  # a new model starts near ln(10)
    assert continued_loss < 0.5 * fresh_loss  # the continued run starts from the trained weights
    assert continued["test_accuracy"] > fresh["test_accuracy"]


def test_a_folder_run_with_checkpoint_and_tensorboard_keeps_both_and_opens_the_log_folder(
    make_panel, qtbot, monkeypatch, shape_folder, tmp_path
):
    from PySide6.QtGui import QDesktopServices

    from ml.models.files import load_model

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile())))
    panel = make_panel()
    config = TrainConfig(
        preset="cnn3x3",
        dataset=str(shape_folder),
        epochs=2,
        batch_size=16,
        image_size=20,
        checkpoint_path=str(tmp_path / "best.keras"),
        tensorboard_dir=str(tmp_path / "logs"),
    )
    assert not panel.options.open_log_button.isEnabled()
    with qtbot.waitSignal(panel.model_trained, timeout=RUN_TIMEOUT_MS) as trained:
        assert panel.start_training(config)
    summary = trained.args[0]
    assert summary["class_names"] == ["circle", "square", "triangle"]
    assert load_model(summary["path"]).metadata.class_names == ["circle", "square", "triangle"]
    assert load_model(tmp_path / "best.keras").metadata.class_names == ["circle", "square", "triangle"]
    assert "saved to" in panel.result_details_label.text()
    run_folder = Path(summary["tensorboard_run_dir"])
    assert run_folder.parent == tmp_path / "logs" and (run_folder / "train").is_dir()
    assert panel.options.open_log_button.isEnabled()
    panel.options.open_log_button.click()
    assert opened == [str(run_folder)]


@pytest.mark.parametrize("way_out", ["scratch", "file"])
def test_offline_imagenet_weights_offer_both_ways_out_and_restart(
    make_panel, qtbot, monkeypatch, shape_folder, tmp_path, way_out
):
    from keras.src.utils import file_utils
    from PySide6.QtWidgets import QFileDialog

    import ml.training.fit

    def no_network(fname=None, origin=None, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: [Errno -2] Name or service not known")

    monkeypatch.setattr(file_utils, "get_file", no_network)
    real_fit = ml.training.fit.fit
    received: list[TrainConfig] = []

    def fit_then_stop(config: TrainConfig, **hooks) -> TrainResult:
        received.append(config)
        if len(received) == 1:
            return real_fit(config, **hooks)  # fails: the ImageNet weights cannot be downloaded
        raise TrainingError("restarted")

    monkeypatch.setattr("ml.training.fit.fit", fit_then_stop)
    offered: list[str] = []
    monkeypatch.setattr(
        "app.training_panel.ask_offline_weights_choice", lambda message, parent: offered.append(message) or way_out
    )
    weights_file = tmp_path / "mobilenet_notop.h5"
    weights_file.write_bytes(b"stand-in")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *args, **kwargs: (str(weights_file), "")))

    panel = make_panel()
    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("folder"))
    panel.data_path_edit.setText(str(shape_folder))
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("mobilenetv2-transfer"))
    assert panel.options.weights_combo.currentData() == "imagenet"
    panel.start_button.click()
    qtbot.waitUntil(lambda: len(received) == 2 and not panel.is_running, timeout=RUN_TIMEOUT_MS)
    assert len(offered) == 1 and offered[0].startswith("Could not fetch the ImageNet weights for MobileNetV2")
    assert received[0].backbone_weights == "imagenet"
    if way_out == "scratch":
        assert (received[1].backbone_weights, received[1].freeze_backbone) == ("none", False)
    else:
        assert (received[1].backbone_weights, received[1].freeze_backbone) == (str(weights_file), True)
    assert received[1].dataset == str(shape_folder) and received[1].preset == "mobilenetv2-transfer"
    assert "restarted" in panel.message_label.text()


def test_preview_opens_the_augmentation_preview_of_the_chosen_dataset(make_panel, qtbot, shape_folder):
    panel = make_panel()
    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("folder"))
    panel.data_path_edit.setText(str(shape_folder))
    panel.preview_button.click()
    preview = panel.augmentation_preview
    assert preview is not None and preview.isVisible()
    assert preview.source["dataset"] == str(shape_folder)
    with qtbot.waitSignal(preview.examples_shown, timeout=RUN_TIMEOUT_MS):
        pass
    assert set(preview.examples["labels"]) <= {"circle", "square", "triangle"}
    assert preview.shutdown(RUN_TIMEOUT_MS)
    preview.close()
