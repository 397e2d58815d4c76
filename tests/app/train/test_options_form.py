"""TrainingOptions: preset defaults, what applies when, the config it writes, settings, the log-folder button."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QDesktopServices

from app.train.options_form import TrainingOptions, default_output_folder
from app.train.setup_settings import restore_options, save_options
from ml.training.config import TrainConfig


@pytest.fixture
def options(qtbot) -> TrainingOptions:
    instance = TrainingOptions()
    for page in (instance.run_page, instance.images_page):
        qtbot.addWidget(page)
    return instance


def test_preset_defaults_show_what_each_tutorial_used(options):
    options.apply_preset_defaults("mlp")  # Fashion-MNIST tutorial: SGD, momentum 0.9, Nesterov, early stopping 3
    assert options.momentum_spin.value() == pytest.approx(0.9) and options.nesterov_check.isChecked()
    assert options.early_stopping_box.isChecked() and options.patience_spin.value() == 3
    assert options.schedule_combo.currentData() == "constant"
    options.apply_preset_defaults("vgg")
    assert options.schedule_combo.currentData() == "plateau" and options.patience_spin.value() == 6
    assert not options.nesterov_check.isChecked()
    options.apply_preset_defaults("lenet5x5")
    assert not options.early_stopping_box.isChecked() and options.momentum_spin.value() == 0.0


def test_only_what_applies_is_enabled(options):
    options.set_context("cnn3x3", "mnist", "adam")
    assert not options.momentum_spin.isEnabled() and not options.nesterov_check.isEnabled()
    assert not options.image_size_spin.isEnabled() and not options.weights_combo.isEnabled()
    assert not options.transfer_hint.isHidden() and not options.folder_hint.isHidden()
    options.set_context("vgg16-transfer", "folder", "sgd")
    assert options.momentum_spin.isEnabled() and options.nesterov_check.isEnabled()
    assert options.image_size_spin.isEnabled() and options.color_combo.isEnabled()
    assert options.weights_combo.isEnabled() and options.freeze_check.isEnabled()
    assert not options.weights_file_edit.isEnabled()  # ImageNet weights: no file to name
    assert options.transfer_hint.isHidden() and options.folder_hint.isHidden()
    options.set_context("vgg16-transfer", "folder", "rmsprop")
    assert options.momentum_spin.isEnabled() and not options.nesterov_check.isEnabled()
    options.set_running(True)
    assert not any(widget.isEnabled() for widget in options.setting_widgets)
    options.set_running(False)
    assert options.weights_combo.isEnabled()


def test_the_options_reach_the_config(options, tmp_path):
    options.set_context("mobilenetv2-transfer", "folder", "sgd")
    options.momentum_spin.setValue(0.8)
    options.nesterov_check.setChecked(True)
    options.schedule_combo.setCurrentIndex(options.schedule_combo.findData("cosine"))
    options.early_stopping_box.setChecked(True)
    options.patience_spin.setValue(5)
    options.restore_best_check.setChecked(False)
    options.checkpoint_check.setChecked(True)
    options.checkpoint_edit.setText(str(tmp_path / "best.keras"))
    options.tensorboard_check.setChecked(True)
    options.tensorboard_edit.setText(str(tmp_path / "logs"))
    options.image_size_spin.setValue(48)
    options.color_combo.setCurrentIndex(options.color_combo.findData("rgb"))
    options.set_backbone_weights(str(tmp_path / "weights.h5"))
    options.freeze_check.setChecked(False)
    config = options.apply_to(TrainConfig(preset="mobilenetv2-transfer", dataset=str(tmp_path)))
    assert (config.momentum, config.nesterov, config.schedule) == (pytest.approx(0.8), True, "cosine")
    assert (config.early_stopping_patience, config.restore_best_weights) == (5, False)
    assert config.checkpoint_path == str(tmp_path / "best.keras")
    assert config.tensorboard_dir == str(tmp_path / "logs")
    assert (config.image_size, config.color_mode) == (48, "rgb")
    assert (config.backbone_weights, config.freeze_backbone) == (str(tmp_path / "weights.h5"), False)
    assert options.problem() is None

    options.set_context("cnn3x3", "mnist", "adam")  # folder and transfer options do not apply
    options.early_stopping_box.setChecked(False)
    options.checkpoint_check.setChecked(False)
    config = options.apply_to(TrainConfig(preset="cnn3x3", dataset="mnist"))
    assert (config.image_size, config.color_mode) == (None, "grayscale")
    assert (config.backbone_weights, config.freeze_backbone) == (None, None)
    assert config.early_stopping_patience == 0 and config.resolved().early_stopping_patience == 0
    assert config.checkpoint_path is None


def test_ticking_checkpoint_and_tensorboard_suggests_paths_and_empty_ones_are_refused(options):
    options.checkpoint_check.setChecked(True)
    assert options.checkpoint_edit.text() == str(default_output_folder() / "best-checkpoint.keras")
    options.tensorboard_check.setChecked(True)
    assert options.tensorboard_edit.text() == str(default_output_folder() / "logs")
    options.checkpoint_edit.clear()
    assert "checkpoint file" in options.problem()
    options.checkpoint_check.setChecked(False)
    options.set_context("vgg16-transfer", "folder", "adam")
    options.weights_combo.setCurrentIndex(options.weights_combo.findData("file"))
    assert "weights file" in options.problem()


def test_choosing_weights_sets_freezing_and_show_config_round_trips(options, tmp_path):
    options.set_context("vgg16-transfer", "folder", "adam")
    options.set_backbone_weights("none")
    assert options.weights_combo.currentData() == "none" and not options.freeze_check.isChecked()
    options.set_backbone_weights("imagenet")
    assert options.freeze_check.isChecked()
    config = TrainConfig(
        preset="vgg16-transfer",
        dataset=str(tmp_path),
        momentum=0.5,
        nesterov=False,
        schedule="plateau",
        early_stopping_patience=4,
        restore_best_weights=False,
        tensorboard_dir=str(tmp_path / "tb"),
        image_size=40,
        color_mode="rgb",
        backbone_weights="none",
        freeze_backbone=True,
    )
    options.show_config(config)
    assert options.apply_to(TrainConfig(preset="vgg16-transfer", dataset=str(tmp_path))) == config


def test_settings_are_remembered(options, qtbot, settings, tmp_path):
    options.set_context("vgg16-transfer", "folder", "sgd")
    options.schedule_combo.setCurrentIndex(options.schedule_combo.findData("plateau"))
    options.tensorboard_check.setChecked(True)
    options.tensorboard_edit.setText(str(tmp_path / "tb"))
    options.set_backbone_weights("none")
    options.freeze_check.setChecked(True)
    options.image_size_spin.setValue(64)
    save_options(options, settings)
    restored = TrainingOptions()
    for page in (restored.run_page, restored.images_page):
        qtbot.addWidget(page)
    restore_options(restored, settings)
    restored.set_context("vgg16-transfer", "folder", "sgd")
    config = TrainConfig(preset="vgg16-transfer", dataset=str(tmp_path))
    assert restored.apply_to(config) == options.apply_to(config)


def test_open_log_folder_opens_the_run_folder_once_it_exists(options, monkeypatch, tmp_path):
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile())))
    assert not options.open_log_button.isEnabled()
    run_folder = Path(tmp_path / "logs" / "cnn3x3-20260101-120000")
    options.set_log_folder(str(run_folder))
    assert not options.open_log_button.isEnabled()  # not written yet
    run_folder.mkdir(parents=True)
    options.set_log_folder(str(run_folder))
    options.set_running(True)
    assert options.open_log_button.isEnabled()  # usable during a run too
    options.open_log_button.click()
    assert opened == [str(run_folder)]


def test_mixed_precision_is_on_by_default_where_supported_and_can_be_turned_off(options, qtbot, settings):
    config = TrainConfig(preset="fast", dataset="mnist")
    assert options.mixed_precision_check.isChecked()
    assert options.apply_to(config).mixed_precision is None  # on wherever every GPU supports it
    options.mixed_precision_check.setChecked(False)
    assert options.apply_to(config).mixed_precision is False
    save_options(options, settings)
    restored = TrainingOptions()
    for page in (restored.run_page, restored.images_page):
        qtbot.addWidget(page)
    restore_options(restored, settings)
    assert not restored.mixed_precision_check.isChecked()
    restored.show_config(TrainConfig(preset="fast", mixed_precision=None))
    assert restored.mixed_precision_check.isChecked()
    assert restored.mixed_precision_check in restored.setting_widgets  # locked while a run trains
