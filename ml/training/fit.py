"""One training entry point: ``fit(config, on_batch=..., on_epoch=..., should_stop=...)``."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from ml.data.datasets import Dataset, load_dataset
from ml.errors import TrainingError
from ml.models.presets import build_model, get_preset
from ml.runtime import configure_device
from ml.training.batch_norm import recalibrate_batch_norm
from ml.training.calibration import fit_run_temperature
from ml.training.callbacks import describe_stop, find_checkpoint, make_callbacks, make_optimizer, make_progress_callback
from ml.training.config import BatchReport, EpochReport, PauseGate, TrainConfig, TrainResult, model_metadata
from ml.training.pipelines import (
    TEST_BATCH_SIZE,
    can_augment,
    fit_inputs_to_model,
    make_eval_pipeline,
    make_train_pipeline,
)
from ml.training.rescore import Rescore, make_rescore_callback


def choose_representation(config: TrainConfig, loaded_metadata=None) -> str:
    """Whether the run trains on images or standardized features: the loaded model's, else the preset's."""
    if loaded_metadata is not None:
        return "features" if loaded_metadata.input_scale == "standardize" else "images"
    return get_preset(config.preset).representation


def load_training_data(config: TrainConfig, loaded_metadata=None) -> Dataset:
    """The dataset ``config`` names, in the representation its model needs (a fine-tuned model's own scaling)."""
    standardization = None
    if loaded_metadata is not None and loaded_metadata.input_mean is not None:
        standardization = (loaded_metadata.input_mean, loaded_metadata.input_std)
    return load_dataset(
        config.dataset,
        data_file=config.data_file,
        validation_size=config.validation_size,
        seed=config.seed,
        image_size=config.image_size,
        color_mode=config.color_mode,
        representation=choose_representation(config, loaded_metadata),
        standardization=standardization,
    )


def load_model_to_fine_tune(path: str):
    """The model file to continue training, as a :class:`ml.models.files.LoadedModel`, or a TrainingError."""
    from ml.errors import ModelFileError
    from ml.models.files import load_model

    try:
        return load_model(path)
    except ModelFileError as error:
        raise TrainingError(f"Cannot fine-tune {path}: {error}") from error


def check_fine_tuning(model, loaded_metadata, dataset: Dataset) -> None:
    """Refuse a model whose classes or expected input scaling do not match the dataset."""
    classes = int(model.outputs[0].shape[-1])
    if classes != dataset.num_classes:
        raise TrainingError(
            f"The model scores {classes} classes but {dataset.name} has {dataset.num_classes}; fine-tuning "
            "needs the same classes."
        )
    if loaded_metadata is None:
        return
    scale, polarity = loaded_metadata.input_scale, loaded_metadata.input_polarity
    if scale not in ("0-1", "standardize") or polarity != "white_on_black":
        raise TrainingError(
            f"The model expects {polarity.replace('_', ' ')} inputs scaled {scale}; Digit Lab trains on "
            "white-on-black images in [0, 1], so it cannot fine-tune this model."
        )


def fit(
    config: TrainConfig,
    *,
    dataset: Dataset | None = None,
    model=None,
    on_batch: Callable[[BatchReport], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    wait_while_paused: Callable[[], None] | PauseGate | None = None,
    rescore: Rescore | None = None,
) -> TrainResult:
    """Train ``config.preset``, or fine-tune ``model`` / ``config.fine_tune_from``, and evaluate it on the test set.

    ``model`` may be a Keras model or an ``ml.models.files.LoadedModel`` (whose input scaling is then kept);
    ``wait_while_paused`` a callable or a :class:`PauseGate` (which then also returns when ``should_stop``);
    ``rescore`` a drawing re-scored with the weights being trained (:mod:`ml.training.rescore`).
    """
    import keras

    from ml.models.classifier import outputs_probabilities

    if dataset is not None and config.dataset is None:
        config = replace(config, dataset=dataset.name)
    config = config.resolved()
    started = time.perf_counter()
    device = configure_device()
    keras.utils.set_random_seed(config.seed)
    if model is None and config.fine_tune_from:
        model = load_model_to_fine_tune(config.fine_tune_from)
    loaded_metadata = getattr(model, "metadata", None)
    continued_preset = getattr(loaded_metadata, "preset", None)
    model = getattr(model, "model", model)
    if dataset is None:
        dataset = load_training_data(config, loaded_metadata)
    if config.max_train_samples or config.max_test_samples:
        dataset = dataset.subset(config.max_train_samples, config.max_test_samples)
    if model is None:
        preset = get_preset(config.preset)
        options = {name: getattr(config, name) for name in preset.factory_options}
        model = build_model(config.preset, dataset.input_shape, dataset.num_classes, **options)
    else:
        check_fine_tuning(model, loaded_metadata, dataset)
    from_logits = not outputs_probabilities(model)
    x_train = fit_inputs_to_model(model, dataset.x_train)
    x_val = fit_inputs_to_model(model, dataset.x_val)
    x_test = fit_inputs_to_model(model, dataset.x_test)
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)
    model.compile(
        optimizer=make_optimizer(config, steps_per_epoch),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
        metrics=["accuracy"],
    )
    augment = bool(config.augment) and can_augment(dataset) and x_train.ndim == 4
    train_pipeline = make_train_pipeline(x_train, dataset.y_train, config.batch_size, augment, config.seed)
    if isinstance(wait_while_paused, PauseGate):
        wait_while_paused = functools.partial(wait_while_paused.wait_while_paused, should_stop)
    reporter = make_progress_callback(on_batch, on_epoch, should_stop, wait_while_paused, len(x_train))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    metadata = model_metadata(
        config,
        dataset.class_names,
        dataset.input_scale,
        dataset.input_mean,
        dataset.input_std,
        continued_preset=continued_preset,
    )
    callbacks, run_dir = make_callbacks(config, reporter, stamp, metadata)
    if rescore is not None:
        callbacks.append(make_rescore_callback(rescore, metadata, len(x_train)))
    validation = make_eval_pipeline(x_val, dataset.y_val, config.batch_size) if len(x_val) else None
    try:
        history = model.fit(
            train_pipeline,
            epochs=config.epochs,
            validation_data=validation,
            callbacks=callbacks,
            shuffle=False,
            verbose=0,
        )
    except Exception as error:  # noqa: BLE001 - an OOM or a bad kernel becomes one clear message
        raise TrainingError(f"Training failed: {type(error).__name__}: {error}") from error
    checkpoint = find_checkpoint(callbacks)
    recalibrated = 0
    if reporter.stopped_mid_epoch:
        recalibrated = recalibrate_batch_norm(model, x_train, batch_size=config.batch_size, seed=config.seed)
    stop_reason = describe_stop(reporter, callbacks, config)
    if recalibrated:
        stop_reason = (
            f"{stop_reason} The stop came mid-epoch, so the batch-normalization statistics were re-estimated "
            f"on {recalibrated} training batches before testing."
        )
    test_pipeline = make_eval_pipeline(x_test, dataset.y_test, TEST_BATCH_SIZE)
    test_loss, test_accuracy = model.evaluate(test_pipeline, verbose=0)
    calibration = fit_run_temperature(model, validation, from_logits)
    epoch_history = {key: [float(v) for v in values] for key, values in history.history.items()}
    return TrainResult(
        model=model,
        config=config,
        history=epoch_history,
        test_accuracy=float(test_accuracy),
        test_loss=float(test_loss),
        device=device,
        epochs_completed=len(epoch_history.get("loss", [])),
        stopped_by_user=reporter.stopped_by_user,
        stop_reason=stop_reason,
        class_names=list(dataset.class_names),
        input_scale=dataset.input_scale,
        input_mean=dataset.input_mean,
        input_std=dataset.input_std,
        tensorboard_run_dir=run_dir,
        wall_seconds=time.perf_counter() - started,
        checkpoint_epoch=checkpoint.best_epoch if checkpoint is not None else None,
        recalibrated_batches=recalibrated,
        continued_preset=continued_preset,
        test_images=dataset.x_test,
        test_labels=dataset.y_test,
        calibration=calibration,
    )
