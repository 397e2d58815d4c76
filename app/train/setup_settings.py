"""Values into and out of the setup form: QSettings (restored at start, saved on every change), a config from code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings

from app.common.widgets import select_data
from app.train.options_form import FOLDER_DATASET, TrainingOptions
from ml.data.datasets import DEFAULT_VALIDATION_SIZE
from ml.training.config import TrainConfig

if TYPE_CHECKING:
    from app.train.setup_form import SetupForm

SETTINGS_GROUP = "training"
OPTIONS_SETTINGS_GROUP = "training_options"
VALIDATION_UNITS = ("images", "%")


def restore_setup(form: SetupForm) -> None:
    """Load the last training choices (group "training"); the preset's defaults fill what is missing."""
    settings = form.settings
    settings.beginGroup(SETTINGS_GROUP)
    try:
        select_data(form.dataset_combo, str(settings.value("dataset", "mnist")))
        form.data_path_edit.setText(str(settings.value("data_path", "")))
        form.update_data_row()
        preset = str(settings.value("preset", "fast"))  # a first try: 99 % in about a minute on a CPU
        if not select_data(form.preset_combo, preset):
            form.preset_combo.setCurrentIndex(0)
        form.apply_preset_defaults(form.preset_combo.currentData())
        if settings.contains("epochs"):
            form.epochs_spin.setValue(int(settings.value("epochs", type=int)))
        if settings.contains("batch_size"):
            form.batch_size_spin.setValue(int(settings.value("batch_size", type=int)))
        if settings.contains("learning_rate"):
            form.learning_rate_spin.setValue(float(settings.value("learning_rate", type=float)))
        if settings.contains("optimizer"):
            select_data(form.optimizer_combo, str(settings.value("optimizer")))
        if settings.contains("augment"):
            form.augment_check.setChecked(bool(settings.value("augment", type=bool)))
        unit = str(settings.value("validation_unit", "images"))
        select_data(form.validation_unit_combo, unit if unit in VALIDATION_UNITS else "images")
        form.set_validation_unit(form.validation_unit_combo.currentData())
        form.validation_spin.setValue(int(settings.value("validation_amount", DEFAULT_VALIDATION_SIZE, type=int)))
        form.training_limit_spin.setValue(int(settings.value("training_images", 0, type=int)))
    finally:
        settings.endGroup()
    restore_options(form.options, settings)
    form.update_options_context()


def save_setup(form: SetupForm) -> None:
    """Remember the current training choices in QSettings (group "training")."""
    settings = form.settings
    settings.beginGroup(SETTINGS_GROUP)
    try:
        settings.setValue("dataset", form.dataset_combo.currentData())
        settings.setValue("data_path", form.data_path_edit.text().strip())
        settings.setValue("preset", form.preset_combo.currentData())
        settings.setValue("epochs", form.epochs_spin.value())
        settings.setValue("batch_size", form.batch_size_spin.value())
        settings.setValue("learning_rate", form.learning_rate_spin.value())
        settings.setValue("optimizer", form.optimizer_combo.currentData())
        settings.setValue("validation_amount", form.validation_spin.value())
        settings.setValue("validation_unit", form.validation_unit_combo.currentData())
        settings.setValue("training_images", form.training_limit_spin.value())
        settings.setValue("augment", form.augment_check.isChecked())
    finally:
        settings.endGroup()
    save_options(form.options, settings)


def show_config(form: SetupForm, config: TrainConfig) -> None:
    """Make the controls show a (resolved) config that was started from code, not from the controls."""
    if select_data(form.dataset_combo, str(config.dataset)):
        form.data_path_edit.setText(config.data_file or "")
    else:
        select_data(form.dataset_combo, FOLDER_DATASET)
        form.data_path_edit.setText(str(config.dataset))
    select_data(form.preset_combo, config.preset)  # fills the preset's defaults first
    form.epochs_spin.setValue(int(config.epochs))
    form.batch_size_spin.setValue(int(config.batch_size))
    form.learning_rate_spin.setValue(float(config.learning_rate))
    select_data(form.optimizer_combo, str(config.optimizer))
    form.augment_check.setChecked(bool(config.augment))
    if config.validation_size is not None:  # None: the dataset's default, which choosing it has just shown
        unit = "%" if isinstance(config.validation_size, float) else "images"
        select_data(form.validation_unit_combo, unit)
        amount = config.validation_size * 100 if unit == "%" else config.validation_size
        form.validation_spin.setValue(round(amount))
    form.training_limit_spin.setValue(int(config.max_train_samples or 0))
    form.options.show_config(config)
    form.fine_tune_check.setChecked(bool(config.fine_tune_from) and config.fine_tune_from == form.active_model_path)


def options_values(options: TrainingOptions) -> dict[str, Any]:
    """The advanced options as the values QSettings keeps."""
    return {
        "momentum": options.momentum_spin.value(),
        "nesterov": options.nesterov_check.isChecked(),
        "schedule": options.schedule_combo.currentData(),
        "early_stopping": options.early_stopping_box.isChecked(),
        "patience": options.patience_spin.value(),
        "restore_best_weights": options.restore_best_check.isChecked(),
        "checkpoint": options.checkpoint_check.isChecked(),
        "checkpoint_path": options.checkpoint_edit.text().strip(),
        "tensorboard": options.tensorboard_check.isChecked(),
        "tensorboard_dir": options.tensorboard_edit.text().strip(),
        "image_size": options.image_size_spin.value(),
        "color_mode": options.color_combo.currentData(),
        "backbone_weights": options.weights_combo.currentData(),
        "weights_file": options.weights_file_edit.text().strip(),
        "freeze_backbone": options.freeze_check.isChecked(),
        "mixed_precision": options.mixed_precision_check.isChecked(),
    }


def save_options(options: TrainingOptions, settings: QSettings) -> None:
    """Remember the options (group "training_options")."""
    settings.beginGroup(OPTIONS_SETTINGS_GROUP)
    try:
        for key, value in options_values(options).items():
            settings.setValue(key, value)
    finally:
        settings.endGroup()


def restore_options(options: TrainingOptions, settings: QSettings) -> None:
    """Load the options saved by ``save_options``; what is missing keeps its current value."""
    settings.beginGroup(OPTIONS_SETTINGS_GROUP)
    try:
        if settings.contains("momentum"):
            options.momentum_spin.setValue(float(settings.value("momentum", type=float)))
        for key, combo in (
            ("schedule", options.schedule_combo),
            ("color_mode", options.color_combo),
            ("backbone_weights", options.weights_combo),
        ):
            if settings.contains(key):
                select_data(combo, str(settings.value(key)))
        for key, check in (
            ("nesterov", options.nesterov_check),
            ("early_stopping", options.early_stopping_box),
            ("restore_best_weights", options.restore_best_check),
            ("checkpoint", options.checkpoint_check),
            ("tensorboard", options.tensorboard_check),
            ("freeze_backbone", options.freeze_check),
            ("mixed_precision", options.mixed_precision_check),
        ):
            if settings.contains(key):
                check.setChecked(bool(settings.value(key, type=bool)))
        for key, spin in (("patience", options.patience_spin), ("image_size", options.image_size_spin)):
            if settings.contains(key):
                spin.setValue(int(settings.value(key, type=int)))
        for key, edit in (
            ("checkpoint_path", options.checkpoint_edit),
            ("tensorboard_dir", options.tensorboard_edit),
            ("weights_file", options.weights_file_edit),
        ):
            if settings.contains(key):
                edit.setText(str(settings.value(key)))
    finally:
        settings.endGroup()
    options.update_enabled()
