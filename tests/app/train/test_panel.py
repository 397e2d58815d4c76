"""The training panel: the form's choices reach fit, fine-tuning, folder runs and the offline-weights restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.train.panel import TrainingPanel
from ml.errors import TrainingError
from ml.training.config import TrainConfig, TrainResult
from tests.app.train.runs import RUN_TIMEOUT_MS, tiny_config


def test_the_empty_charts_span_the_epochs_the_form_would_train_until_a_run_starts(make_panel, qtbot, received):
    panel = make_panel()

    def epochs_shown() -> list[float]:
        ranges = [
            plot.getViewBox().viewRange()[0] for plot in (panel.run.curves.loss_plot, panel.run.curves.accuracy_plot)
        ]
        axis = panel.run.curves.loss_plot.getPlotItem().getAxis("bottom")
        ticks = [value for _, values in axis.tickValues(*ranges[0], 400) for value in values]
        assert ranges[0] == ranges[1]
        return [value for value in ticks if 0 <= value <= ranges[0][1]]

    panel.form.epochs_spin.setValue(4)
    assert epochs_shown() == [0, 1, 2, 3, 4]  # whole epochs on the empty charts, before any run
    panel.form.epochs_spin.setValue(2)
    assert epochs_shown() == [0, 1, 2]
    with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
        panel.run.start_button.click()
    panel.form.epochs_spin.setValue(7)
    assert epochs_shown() == [0, 1, 2]  # a run's charts keep its own epochs


def test_choices_in_the_panel_reach_the_config_fit_receives(make_panel, qtbot, settings, received):
    panel = make_panel()
    panel.form.preset_combo.setCurrentIndex(panel.form.preset_combo.findData("lenet5x5"))
    assert panel.form.epochs_spin.value() == 3 and panel.form.batch_size_spin.value() == 50
    panel.form.preset_combo.setCurrentIndex(panel.form.preset_combo.findData("mlp"))
    assert panel.form.optimizer_combo.currentData() == "sgd" and panel.form.learning_rate_spin.value() == pytest.approx(
        0.01
    )
    panel.form.dataset_combo.setCurrentIndex(panel.form.dataset_combo.findData("mnist"))
    panel.form.epochs_spin.setValue(4)
    panel.form.batch_size_spin.setValue(256)
    panel.form.learning_rate_spin.setValue(3e-4)
    panel.form.optimizer_combo.setCurrentIndex(panel.form.optimizer_combo.findData("rmsprop"))
    panel.form.validation_unit_combo.setCurrentIndex(panel.form.validation_unit_combo.findData("%"))
    panel.form.validation_spin.setValue(15)
    panel.form.training_limit_spin.setValue(2000)
    panel.form.augment_check.setChecked(True)

    with qtbot.waitSignal(panel.running_changed, timeout=30_000, check_params_cb=lambda running: not running):
        panel.run.start_button.click()
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


def test_advanced_choices_reach_the_config_fit_receives(make_panel, qtbot, settings, shape_folder, received):
    panel = make_panel()
    options = panel.form.options
    assert [panel.form.setup_tabs.tabText(index) for index in range(3)] == ["Setup", "Options", "Images && transfer"]
    panel.form.dataset_combo.setCurrentIndex(panel.form.dataset_combo.findData("folder"))
    panel.form.data_path_edit.setText(str(shape_folder))
    panel.form.preset_combo.setCurrentIndex(panel.form.preset_combo.findData("vgg16-transfer"))
    panel.form.optimizer_combo.setCurrentIndex(panel.form.optimizer_combo.findData("sgd"))
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
        panel.run.start_button.click()
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

    panel.form.dataset_combo.setCurrentIndex(
        panel.form.dataset_combo.findData("sklearn-digits")
    )  # no folder, no backbone
    panel.form.preset_combo.setCurrentIndex(panel.form.preset_combo.findData("mlp-digits"))
    assert not options.image_size_spin.isEnabled() and not options.weights_combo.isEnabled()
    config = panel.training_config()
    assert (config.image_size, config.color_mode, config.backbone_weights, config.freeze_backbone) == (
        None,
        "grayscale",
        None,
        None,
    )
    assert config.schedule == "constant" and config.early_stopping_patience == 0  # the preset's own defaults


def test_fine_tuning_trains_the_active_models_weights(make_panel, qtbot, tmp_path):
    from ml.models.files import load_model, save_model
    from ml.training.fit import fit

    pretrained = fit(
        TrainConfig(preset="cnn3x3", epochs=2, batch_size=64, max_train_samples=2000, max_test_samples=500)
    )
    path = save_model(pretrained.model, tmp_path / "pretrained.keras", pretrained.metadata())

    panel = make_panel()
    assert not panel.form.fine_tune_check.isEnabled()  # no active model yet
    panel.set_active_model(str(path), "pretrained")
    assert panel.form.fine_tune_check.isEnabled() and "pretrained" in panel.form.fine_tune_check.toolTip()
    panel.form.preset_combo.setCurrentIndex(panel.form.preset_combo.findData("cnn3x3"))
    panel.form.fine_tune_check.setChecked(True)
    panel.show()
    qtbot.waitExposed(panel)
    caption = panel.form.preset_caption.text().splitlines()
    assert caption[0] == "Continues pretrained (its own layers and weights)"
    assert "preset above" in caption[1]  # the picker sits above the caption
    assert all(line in panel.form.preset_caption.elided_lines() for line in caption)  # both lines fit, uncut
    assert panel.training_config().fine_tune_from == str(path)

    def first_batch_loss(config: TrainConfig) -> tuple[float, dict]:
        with qtbot.waitSignal(panel.running_changed, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda r: not r):
            with qtbot.waitSignal(panel.model_trained, timeout=RUN_TIMEOUT_MS) as trained:
                assert panel.start_training(config)
                worker_config = panel.run._worker.config
        return float(panel.run.curves.training_loss.yData[0]), {
            **trained.args[0],
            "fine_tune_from": worker_config.fine_tune_from,
        }

    # the picker lends only the training defaults: an unrelated preset must not name the continued model
    continued_loss, continued = first_batch_loss(tiny_config(panel, preset="fast", epochs=1, max_train_samples=512))
    assert continued["fine_tune_from"] == str(path)
    assert continued["preset"] == "cnn3x3" and continued["continued"] is True
    assert load_model(continued["path"]).metadata.preset == "cnn3x3"
    assert Path(continued["path"]).name.startswith("continued-")
    panel.form.fine_tune_check.setChecked(False)
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
    assert not panel.form.options.open_log_button.isEnabled()
    with qtbot.waitSignal(panel.model_trained, timeout=RUN_TIMEOUT_MS) as trained:
        assert panel.start_training(config)
    summary = trained.args[0]
    assert summary["class_names"] == ["circle", "square", "triangle"]
    assert load_model(summary["path"]).metadata.class_names == ["circle", "square", "triangle"]
    assert load_model(tmp_path / "best.keras").metadata.class_names == ["circle", "square", "triangle"]
    assert "saved to" in panel.run.result_details_label.text()
    run_folder = Path(summary["tensorboard_run_dir"])
    assert run_folder.parent == tmp_path / "logs" and (run_folder / "train").is_dir()
    assert panel.form.options.open_log_button.isEnabled()
    panel.form.options.open_log_button.click()
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
        "app.train.panel.ask_offline_weights_choice", lambda message, parent: offered.append(message) or way_out
    )
    weights_file = tmp_path / "mobilenet_notop.h5"
    weights_file.write_bytes(b"stand-in")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *args, **kwargs: (str(weights_file), "")))

    panel = make_panel()
    panel.form.dataset_combo.setCurrentIndex(panel.form.dataset_combo.findData("folder"))
    panel.form.data_path_edit.setText(str(shape_folder))
    panel.form.preset_combo.setCurrentIndex(panel.form.preset_combo.findData("mobilenetv2-transfer"))
    assert panel.form.options.weights_combo.currentData() == "imagenet"
    panel.run.start_button.click()
    qtbot.waitUntil(lambda: len(received) == 2 and not panel.is_running, timeout=RUN_TIMEOUT_MS)
    assert len(offered) == 1 and offered[0].startswith("Could not fetch the ImageNet weights for MobileNetV2")
    assert received[0].backbone_weights == "imagenet"
    if way_out == "scratch":
        assert (received[1].backbone_weights, received[1].freeze_backbone) == ("none", False)
    else:
        assert (received[1].backbone_weights, received[1].freeze_backbone) == (str(weights_file), True)
    assert received[1].dataset == str(shape_folder) and received[1].preset == "mobilenetv2-transfer"
    assert "restarted" in panel.run.message_label.text()
