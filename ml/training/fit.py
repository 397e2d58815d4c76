"""One training entry point: ``fit(config, on_batch=..., on_epoch=..., should_stop=...)``."""

from __future__ import annotations

import contextlib
import functools
import math
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from ml.data.datasets import (
    DATASET_NAMES,
    DEFAULT_VALIDATION_FRACTION,
    Dataset,
    check_color_mode,
    default_if_none,
    load_dataset,
    match_dataset_format,
)
from ml.data.streaming import StreamedFolder, open_image_folder
from ml.errors import TrainingError
from ml.models.presets import build_model, get_preset
from ml.plurals import plural
from ml.training.batch_norm import (
    RECALIBRATION_BATCHES,
    is_short_run,
    quicken_batch_norm,
    recalibrate_batch_norm,
    restore_batch_norm,
)
from ml.training.calibration import fit_run_temperature
from ml.training.callbacks import (
    describe_restored_weights,
    describe_stop,
    find_checkpoint,
    make_callbacks,
    make_optimizer,
    make_progress_callback,
)
from ml.training.config import BatchReport, EpochReport, PauseGate, TrainConfig, TrainResult, model_metadata
from ml.training.distribution import (
    DistributionPlan,
    adapt_for_multi_worker,
    plain_model,
    plan_distribution,
    prepare_model,
)
from ml.training.doubt import fit_run_doubt
from ml.training.memory import check_dataset_fits_in_memory, check_folder_fits_in_memory
from ml.training.pipelines import (
    TEST_BATCH_SIZE,
    can_augment,
    check_stream_fits_model,
    fit_inputs_to_model,
    make_eval_pipeline,
    make_stream_train_pipeline,
    make_train_pipeline,
)
from ml.training.rescore import Rescore, make_rescore_callback


def choose_representation(config: TrainConfig, loaded_metadata=None) -> str:
    """Whether the run trains on images or standardized features: the loaded model's, else the preset's."""
    if loaded_metadata is not None:
        return "features" if loaded_metadata.input_scale == "standardize" else "images"
    return get_preset(config.preset).representation


def load_training_data(config: TrainConfig, loaded_metadata=None) -> Dataset | StreamedFolder:
    """The dataset ``config`` names, in the representation its model needs (a fine-tuned model's own scaling), cut
    to ``config.max_train_samples`` / ``max_test_samples``.

    An image folder trained on as images is streamed from its files (:mod:`ml.data.streaming`), never read whole.
    Any other dataset is refused (:mod:`ml.training.memory`) before it is resized or read when it will not fit.
    """
    representation = choose_representation(config, loaded_metadata)
    validation_size = default_if_none(config.validation_size, DEFAULT_VALIDATION_FRACTION)
    if config.dataset and Path(config.dataset).is_dir() and representation == "images":
        stream = open_image_folder(
            config.dataset,
            image_size=config.image_size,
            color_mode=config.color_mode,
            validation_size=validation_size,
            seed=config.seed,
            cache=config.folder_cache,
            reader_processes=config.reader_processes,
        )
        return stream.subset(config.max_train_samples, config.max_test_samples) if cut_short(config) else stream
    if config.dataset and config.dataset not in DATASET_NAMES and Path(config.dataset).is_dir():  # read whole
        check_folder_fits_in_memory(config.dataset, config.image_size, config.color_mode, validation_size)
    standardization = None
    if loaded_metadata is not None and loaded_metadata.input_mean is not None:
        standardization = (loaded_metadata.input_mean, loaded_metadata.input_std)
    resized_later = representation == "images"  # a named dataset: read at its own size (small), cut, then resized
    check_color_mode(config.color_mode)
    dataset = load_dataset(
        config.dataset,
        data_file=config.data_file,
        validation_size=config.validation_size,
        seed=config.seed,
        image_size=None if resized_later else config.image_size,
        color_mode="grayscale" if resized_later else config.color_mode,
        representation=representation,
        standardization=standardization,
    )
    if cut_short(config):
        dataset = dataset.subset(config.max_train_samples, config.max_test_samples)
    if not resized_later:
        return dataset
    check_dataset_fits_in_memory(dataset, config.image_size, config.color_mode)
    return match_dataset_format(dataset, config.image_size, config.color_mode)


def cut_short(config: TrainConfig) -> bool:
    """True when the run trains or tests on fewer examples than its dataset has."""
    return bool(config.max_train_samples or config.max_test_samples)


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
    dataset: Dataset | StreamedFolder | None = None,
    model=None,
    on_batch: Callable[[BatchReport], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    wait_while_paused: Callable[[], None] | PauseGate | None = None,
    on_devices: Callable[[str], None] | None = None,
    rescore: Rescore | None = None,
    on_batches_ended: Callable[[], None] | None = None,
) -> TrainResult:
    """Train ``config.preset``, or fine-tune ``model`` / ``config.fine_tune_from``, and evaluate it on the test set.

    ``model`` may be a Keras model or an ``ml.models.files.LoadedModel`` (whose input scaling is then kept);
    ``wait_while_paused`` a callable or a :class:`PauseGate` (which then also returns when ``should_stop``);
    ``on_devices`` hears where the run trains (devices, strategy, mixed precision) before the first batch;
    ``rescore`` a drawing re-scored with the weights being trained (:mod:`ml.training.rescore`);
    ``on_batches_ended`` hears once that no batch is left (the last one, early stopping, a NaN loss or a stop),
    before the model is tested, calibrated and returned: from then on a pause or a stop can change nothing.
    Several GPUs train under a MirroredStrategy with a global batch of ``batch_size`` per GPU;
    ``config.distributed`` joins a multi-worker job (TF_CONFIG), where only the chief writes files.
    """
    if dataset is not None and config.dataset is None:
        config = replace(config, dataset=dataset.name)
    config = config.resolved()
    started = time.perf_counter()
    plan = plan_distribution(distributed=config.distributed, mixed_precision=config.mixed_precision)
    if on_devices is not None:
        on_devices(plan.describe())
    with contextlib.ExitStack() as cleanup:
        cleanup.enter_context(warnings.catch_warnings())  # an image folder's unknown length ends each pass: no fault
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        run_config = config
        if not plan.is_chief:  # other workers write their checkpoints and logs where nobody keeps them
            scratch = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="digitlab-worker-")))
            run_config = replace(
                config,
                checkpoint_path=str(scratch / "checkpoint.keras") if config.checkpoint_path else None,
                tensorboard_dir=str(scratch / "tensorboard") if config.tensorboard_dir else None,
            )
        result = _train(
            run_config,
            plan,
            dataset,
            model,
            on_batch,
            on_epoch,
            should_stop,
            wait_while_paused,
            rescore,
            on_batches_ended,
        )
    result.config = config
    if not plan.is_chief:
        result.tensorboard_run_dir, result.checkpoint_epoch = None, None
    result.wall_seconds = time.perf_counter() - started
    return result


def _train(
    config: TrainConfig,
    plan: DistributionPlan,
    dataset: Dataset | StreamedFolder | None,
    model,
    on_batch,
    on_epoch,
    should_stop,
    wait_while_paused,
    rescore: Rescore | None = None,
    on_batches_ended: Callable[[], None] | None = None,
) -> TrainResult:
    """:func:`fit`'s run once the devices are chosen."""
    import keras

    from ml.models.classifier import outputs_probabilities

    keras.utils.set_random_seed(config.seed)
    if model is None and config.fine_tune_from:
        model = load_model_to_fine_tune(config.fine_tune_from)
    loaded_metadata = getattr(model, "metadata", None)
    continued_preset = getattr(loaded_metadata, "preset", None)
    model = getattr(model, "model", model)
    if dataset is None:
        dataset = load_training_data(config, loaded_metadata)
    elif cut_short(config):
        dataset = dataset.subset(config.max_train_samples, config.max_test_samples)
    streamed = isinstance(dataset, StreamedFolder)
    if model is None:
        preset = get_preset(config.preset)
        options = {name: getattr(config, name) for name in preset.factory_options}
        model = build_model(config.preset, dataset.input_shape, dataset.num_classes, **options)
    else:
        check_fine_tuning(model, loaded_metadata, dataset)
    from_logits = not outputs_probabilities(model)
    batch_size = plan.worker_batch_size(config.batch_size)
    augment = bool(config.augment) and can_augment(dataset) and len(model.input_shape) == 4
    if streamed:
        check_stream_fits_model(model, dataset)
        train_size = len(dataset.train) // plan.workers
        train_pipeline = make_stream_train_pipeline(dataset, batch_size, augment, config.seed, plan.shard)
        validation = dataset.pipeline("val", batch_size, shard=plan.shard) if len(dataset.val) else None
    else:
        x_train = fit_inputs_to_model(model, dataset.x_train)
        x_val = fit_inputs_to_model(model, dataset.x_val)
        train_size = len(x_train) // plan.workers
        train_pipeline = make_train_pipeline(x_train, dataset.y_train, batch_size, augment, config.seed, plan.shard)
        validation = make_eval_pipeline(x_val, dataset.y_val, batch_size, plan.shard) if len(x_val) else None
    steps_per_epoch = math.ceil(train_size / batch_size)
    model = prepare_model(model, plan)
    quickened = quicken_batch_norm(model, config.epochs * steps_per_epoch, steps_per_epoch)

    def compile_model(target) -> None:
        optimizer = make_optimizer(config, steps_per_epoch)
        if plan.mixed_precision and target is model:
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        target.compile(
            optimizer=optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
            metrics=["accuracy"],
        )

    with plan.scope():
        compile_model(model)
    adapt_for_multi_worker(model, plan)
    if isinstance(wait_while_paused, PauseGate):
        wait_while_paused = functools.partial(wait_while_paused.wait_while_paused, should_stop)
    reporter = make_progress_callback(
        on_batch, on_epoch, should_stop, wait_while_paused, train_size, steps_per_epoch, on_batches_ended
    )
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
    rescorer = None if rescore is None else make_rescore_callback(rescore, metadata, train_size)
    if rescorer is not None:
        callbacks.append(rescorer)
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
    trained = plain_model(model, plan)
    if trained is not model:
        compile_model(trained)
    model = trained
    restore_batch_norm(model, quickened)
    checkpoint = find_checkpoint(callbacks)
    batches_trained = len(history.history.get("loss", [])) * steps_per_epoch
    recalibrated = 0
    if reporter.stopped_mid_epoch or is_short_run(batches_trained):
        if streamed:
            images = dataset.sample_images(RECALIBRATION_BATCHES * config.batch_size, config.seed)
        else:
            images = x_train
        recalibrated = recalibrate_batch_norm(model, images, batch_size=config.batch_size, seed=config.seed)
    if reporter.stopped_mid_epoch:
        remeasured = None
        if recalibrated and validation is not None:  # Keras validated the cut epoch before the averages were mended
            val_loss, val_accuracy = model.evaluate(validation, verbose=0)
            remeasured = {"val_loss": float(val_loss), "val_accuracy": float(val_accuracy)}
            for key, value in remeasured.items():
                if history.history.get(key):
                    history.history[key][-1] = value
        reporter.finish_partial_epoch(remeasured)
        if rescorer is not None:
            rescorer.report_after_stop(model)
    stop_reason = describe_stop(reporter, callbacks, config)
    if recalibrated and reporter.stopped_mid_epoch:
        stop_reason = (
            f"{stop_reason} The stop came mid-epoch, so the batch-normalization statistics were re-estimated "
            f"on {plural(recalibrated, 'training batch', 'training batches')} before testing."
        )
    if streamed:
        test_pipeline = dataset.pipeline("test", TEST_BATCH_SIZE)
        test_images = test_labels = None
    else:
        test_images, test_labels = dataset.x_test, dataset.y_test
        test_pipeline = make_eval_pipeline(fit_inputs_to_model(model, test_images), test_labels, TEST_BATCH_SIZE)
    test_loss, test_accuracy = model.evaluate(test_pipeline, verbose=0)
    calibration = fit_run_temperature(model, validation, from_logits)
    temperature = calibration.temperature if calibration is not None and calibration.applied else None
    fits_doubt = plan.is_chief and not reporter.stopped_by_user  # a user who stopped the run is not kept waiting
    doubt = fit_run_doubt(model, dataset, from_logits, temperature, streamed) if fits_doubt else {}
    refused = calibration is not None and not calibration.applied and calibration.as_text()  # "not calibrated: …"
    notes = [note for note in (plan.note, streamed and dataset.skipped.describe() or None, refused) if note]
    if recalibrated and not reporter.stopped_mid_epoch:
        notes.append(
            f"A short run ({plural(batches_trained, 'batch', 'batches')}): the batch-normalization statistics were "
            f"re-estimated on {plural(recalibrated, 'training batch', 'training batches')} before testing."
        )
    epochs_trained = len(history.history.get("loss", []))
    restored = None if reporter.nan_batch else describe_restored_weights(callbacks, config, epochs_trained)
    if restored:  # Keras restores the best epoch's weights at the end of any run that asks it to, not only early
        notes.append(restored)
    epoch_history = {key: [float(v) for v in values] for key, values in history.history.items()}
    return TrainResult(
        model=model,
        config=config,
        history=epoch_history,
        test_accuracy=float(test_accuracy),
        test_loss=float(test_loss),
        device=plan.describe(),
        epochs_completed=len(epoch_history.get("loss", [])),
        stopped_by_user=reporter.stopped_by_user,
        stop_reason=stop_reason,
        failed=reporter.nan_batch is not None or bool(checkpoint is not None and checkpoint.error),
        class_names=list(dataset.class_names),
        input_scale=dataset.input_scale,
        input_mean=dataset.input_mean,
        input_std=dataset.input_std,
        tensorboard_run_dir=run_dir,
        checkpoint_epoch=checkpoint.best_epoch if checkpoint is not None else None,
        recalibrated_batches=recalibrated,
        continued_preset=continued_preset,
        test_images=test_images,
        test_labels=test_labels,
        notes=notes,
        is_chief=plan.is_chief,
        calibration=calibration,
        doubt=doubt,
    )
