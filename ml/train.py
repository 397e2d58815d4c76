"""One training entry point: ``fit(config, on_batch=..., on_epoch=..., should_stop=...)``.

It knows nothing of windows: it reports through the callables it is given and checks ``should_stop``
between batches. The window and the CLI are thin adapters around it.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ml.data import Dataset, load_dataset
from ml.presets import build_model, get_preset

BatchReport = dict[str, Any]
EpochReport = dict[str, Any]
PLATEAU_FACTOR = 0.1  # the VGG tutorial divides the learning rate by 10 when validation accuracy stalls
PLATEAU_PATIENCE = 2
PREFETCHED_BATCHES = 2  # batches prepared ahead of the training step
TEST_BATCH_SIZE = 512
RECALIBRATION_BATCHES = 50  # after a mid-epoch stop: batches whose statistics replace batch norm's lagging averages
FIXED_TEST_SETS = ("mnist", "fashion-mnist")  # test sets that do not depend on the run's seed or image settings


class TrainingError(Exception):
    """Training could not start or went wrong; ``str(e)`` is a user-facing message."""


@dataclass
class TrainConfig:
    """Everything that defines a training run; ``None`` means "the preset's default"."""

    preset: str = "best"
    dataset: str | None = None  # mnist, fashion-mnist, sklearn-digits or an image folder; None: the preset's
    data_file: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    momentum: float | None = None
    nesterov: bool | None = None
    schedule: str | None = None
    validation_size: int | float | None = None  # None: 5000 images for (Fashion-)MNIST, else 10 %
    augment: bool | None = None
    seed: int = 0
    early_stopping_patience: int | None = None
    restore_best_weights: bool = True  # early stopping ends with the weights of the best epoch, not the last
    checkpoint_path: str | None = None
    tensorboard_dir: str | None = None
    max_train_samples: int | None = None
    max_test_samples: int | None = None
    image_size: int | None = None  # folder images are read at this size (default 32); others resized to it
    color_mode: str = "grayscale"
    freeze_backbone: bool | None = None  # transfer presets; None: frozen when the weights are pretrained
    backbone_weights: str | None = None  # transfer presets: None/"imagenet", "none" (from scratch) or a file
    fine_tune_from: str | None = None  # a model file to continue training instead of a fresh preset model

    def resolved(self) -> TrainConfig:
        """A copy with every ``None`` hyperparameter filled from the preset's defaults."""
        preset = get_preset(self.preset)
        defaults = {
            "dataset": preset.dataset,
            "epochs": 10,
            "batch_size": 128,
            "optimizer": "adam",
            "learning_rate": 1e-3,
            "momentum": 0.0,
            "nesterov": False,
            "schedule": "constant",
            "augment": False,
        }
        defaults.update(preset.defaults)
        filled = {
            f.name: defaults[f.name] for f in fields(self) if getattr(self, f.name) is None and f.name in defaults
        }
        return replace(self, **filled)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for metadata and logs."""
        return asdict(self)


def model_metadata(
    config: TrainConfig,
    class_names: list[str],
    input_scale: str = "0-1",
    input_mean: list[float] | None = None,
    input_std: list[float] | None = None,
    history: dict[str, list[float]] | None = None,
    test_accuracy: float | None = None,
):
    """The :class:`ml.modelio.ModelMetadata` that describes a model trained with ``config``."""
    from ml import __version__
    from ml.modelio import ModelMetadata

    return ModelMetadata(
        class_names=list(class_names),
        input_scale=input_scale,
        input_mean=input_mean,
        input_std=input_std,
        dataset=config.dataset,
        preset=config.preset,
        hyperparameters=config.to_dict(),
        test_accuracy=test_accuracy,
        history=dict(history or {}),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        digitlab_version=__version__,
    )


@dataclass
class TrainResult:
    """What a run produced: the model, its per-epoch history and the final test figures."""

    model: Any
    config: TrainConfig
    history: dict[str, list[float]]
    test_accuracy: float | None
    test_loss: float | None
    device: str
    epochs_completed: int
    stopped_by_user: bool = False
    stop_reason: str | None = None
    class_names: list[str] = field(default_factory=list)
    input_scale: str = "0-1"
    input_mean: list[float] | None = None
    input_std: list[float] | None = None
    tensorboard_run_dir: str | None = None
    wall_seconds: float = 0.0
    checkpoint_epoch: int | None = None  # the epoch whose model the checkpoint file holds
    recalibrated_batches: int = 0  # batch-norm statistics re-estimated on this many training batches (mid-epoch stop)
    test_images: np.ndarray | None = field(default=None, repr=False)  # the test set, to compare another model on it
    test_labels: np.ndarray | None = field(default=None, repr=False)

    def metadata(self):
        """The :class:`ml.modelio.ModelMetadata` to save with this model."""
        return model_metadata(
            self.config,
            self.class_names,
            self.input_scale,
            self.input_mean,
            self.input_std,
            self.history,
            self.test_accuracy,
        )


class PauseGate:
    """Pause and resume a run from any thread: ``fit(..., wait_while_paused=gate)``; the CLI and the window share it."""

    def __init__(self, poll_seconds: float = 0.05) -> None:
        self._running = threading.Event()
        self._running.set()
        self.poll_seconds = poll_seconds

    @property
    def paused(self) -> bool:
        """True between ``pause()`` and ``resume()``."""
        return not self._running.is_set()

    def pause(self) -> None:
        """Hold the run at the end of the current batch."""
        self._running.clear()

    def resume(self) -> None:
        """Let the run continue with its next batch."""
        self._running.set()

    def wait_while_paused(self, should_stop: Callable[[], bool] | None = None) -> None:
        """Block while paused; return at once on ``resume()``, or within ``poll_seconds`` once ``should_stop()``."""
        while not self._running.wait(self.poll_seconds):
            if should_stop is not None and should_stop():
                return


def configure_device() -> str:
    """Turn on GPU memory growth when TensorFlow sees a GPU; return a description of the device used."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # already initialised: growth can only be set before first use
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU: {details.get('device_name', gpus[0].name)}"


def make_optimizer(config: TrainConfig, steps_per_epoch: int):
    """The optimizer named in the config, with its learning-rate schedule."""
    import keras

    learning_rate: Any = float(config.learning_rate)
    if config.schedule == "cosine":
        total_steps = max(1, config.epochs * steps_per_epoch)
        warmup_steps = min(steps_per_epoch, total_steps // 10)
        learning_rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=learning_rate / 10 if warmup_steps else learning_rate,
            decay_steps=max(1, total_steps - warmup_steps),
            warmup_target=learning_rate if warmup_steps else None,
            warmup_steps=warmup_steps,
        )
    elif config.schedule not in ("constant", "plateau"):
        raise TrainingError(f"Unknown learning-rate schedule {config.schedule!r} (constant, cosine, plateau).")
    name = config.optimizer.lower()
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=config.momentum, nesterov=bool(config.nesterov))
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, momentum=config.momentum)
    raise TrainingError(f"Unknown optimizer {config.optimizer!r} (adam, sgd, rmsprop).")


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimizer uses at its current step."""
    return float(np.asarray(optimizer.learning_rate))


def make_progress_callback(
    on_batch: Callable[[BatchReport], None] | None,
    on_epoch: Callable[[EpochReport], None] | None,
    should_stop: Callable[[], bool] | None,
    wait_while_paused: Callable[[], None] | None,
    train_size: int,
):
    """A Keras callback that reports per batch / per epoch and stops cooperatively between batches."""
    import keras

    class ProgressReporter(keras.callbacks.Callback):
        """Adapter from Keras callback hooks to Digit Lab's plain callables."""

        def __init__(self) -> None:
            super().__init__()
            self.stopped_by_user = False
            self.nan_batch: tuple[int, int] | None = None
            self.stopped_mid_epoch = False
            self.last_good_weights: list[np.ndarray] | None = None
            self.paused_seconds = 0.0

        def on_train_begin(self, logs=None) -> None:
            self.train_start = time.perf_counter()
            self.last_good_weights = self.model.get_weights()

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.epoch = epoch
            self.epoch_start = time.perf_counter()
            self.epoch_paused = 0.0
            self.seen = 0

        def on_train_batch_end(self, batch, logs=None) -> None:
            logs = logs or {}
            loss = float(logs.get("loss", math.nan))
            if not math.isfinite(loss):
                self.nan_batch = (self.epoch + 1, batch + 1)
                self.model.set_weights(self.last_good_weights)
                self.model.stop_training = True
                return
            steps = self.params.get("steps") or 0
            batch_size = math.ceil(train_size / steps) if steps else 0
            self.seen = min(train_size, self.seen + batch_size)
            running = max(time.perf_counter() - self.epoch_start - self.epoch_paused, 1e-9)
            if on_batch is not None:
                on_batch(
                    {
                        "epoch": self.epoch + 1,
                        "epochs": self.params.get("epochs"),
                        "batch": batch + 1,
                        "steps": steps,
                        "loss": loss,
                        "accuracy": float(logs.get("accuracy", math.nan)),
                        "samples_per_second": self.seen / running,
                    }
                )
            if wait_while_paused is not None:
                paused_at = time.perf_counter()
                wait_while_paused()
                waited = time.perf_counter() - paused_at
                self.epoch_paused += waited
                self.paused_seconds += waited
            if should_stop is not None and should_stop():
                self.stopped_by_user = True
                self.stopped_mid_epoch = bool(steps) and batch + 1 < steps
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None) -> None:
            if self.nan_batch is not None:
                return
            self.last_good_weights = self.model.get_weights()
            logs = logs or {}
            report = {key: float(value) for key, value in logs.items() if np.ndim(value) == 0}
            report.update(
                epoch=epoch + 1,
                epochs=self.params.get("epochs"),
                learning_rate=current_learning_rate(self.model.optimizer),
                elapsed=time.perf_counter() - self.train_start - self.paused_seconds,
            )
            if on_epoch is not None:
                on_epoch(report)

    return ProgressReporter()


def pipeline_options():
    """``tf.data`` options for every Digit Lab pipeline: autotuning off.

    With autotuning on, dropping an epoch's iterator waits for the autotuner's thread, which stalled the start of
    about one epoch in three by 2-3 s on a 2-core machine (and validation alike); fixed sizes cost nothing measurable.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def make_train_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int, augment: bool, seed: int):
    """A shuffled, batched (and optionally augmented) ``tf.data`` pipeline."""
    import tensorflow as tf

    from ml.augment import augment_batch

    pipeline = tf.data.Dataset.from_tensor_slices((x, y))
    pipeline = pipeline.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if augment:
        pipeline = pipeline.map(
            lambda images, labels: (augment_batch(images), labels), num_parallel_calls=os.cpu_count() or 1
        )
    return pipeline.prefetch(PREFETCHED_BATCHES).with_options(pipeline_options())


def make_eval_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int):
    """A batched ``tf.data`` pipeline in order, for validation and testing."""
    import tensorflow as tf

    pipeline = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    return pipeline.prefetch(PREFETCHED_BATCHES).with_options(pipeline_options())


def can_augment(dataset: Dataset) -> bool:
    """Augmentation applies to square image datasets, not to feature vectors."""
    shape = dataset.input_shape
    return len(shape) == 3 and shape[0] == shape[1]


def fit_inputs_to_model(model, x: np.ndarray) -> np.ndarray:
    """Reshape a dataset's images for a (loaded) model whose input has the same number of values."""
    expected = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) == expected:
        return x
    if None not in expected and int(np.prod(expected)) == int(np.prod(x.shape[1:])):
        return x.reshape((len(x), *expected))
    raise TrainingError(f"The model expects inputs of shape {expected}, but the dataset has {tuple(x.shape[1:])}.")


def make_callbacks(config: TrainConfig, reporter, stamp: str, metadata=None) -> tuple[list, str | None]:
    """The Keras callbacks the config asks for, and the TensorBoard run folder if any."""
    import keras

    callbacks = [reporter]  # first: it rolls NaN weights back before the others see the epoch end
    if config.schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_accuracy", mode="max", factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE
            )
        )
    if config.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=int(config.early_stopping_patience),
                restore_best_weights=bool(config.restore_best_weights),
            )
        )
    if config.checkpoint_path:
        from ml.checkpoint import BestModelCheckpoint

        callbacks.append(BestModelCheckpoint(config.checkpoint_path, config, metadata))
    run_dir = None
    if config.tensorboard_dir:
        run_dir = str(Path(config.tensorboard_dir) / f"{config.preset}-{stamp}")
        callbacks.append(make_tensorboard_logger(run_dir))
    return callbacks, run_dir


def make_tensorboard_logger(run_dir: str):
    """A Keras callback that writes each epoch's scalars as TensorBoard event files in ``run_dir``.

    Keras's own ``TensorBoard`` callback needs the ``tensorboard`` package, which TensorFlow 2.21 no longer
    installs; TensorFlow's summary writer does not. Same layout as Keras: ``train/`` and ``validation/``
    folders, tags ``epoch_loss``, ``epoch_accuracy``, ``epoch_learning_rate``. View with ``tensorboard --logdir``.
    """
    import keras
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    scalar = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))

    class TensorBoardScalars(keras.callbacks.Callback):
        """Per-epoch loss, accuracy and learning rate for TensorBoard's scalar dashboard."""

        def on_train_begin(self, logs=None) -> None:
            self.writers = {
                split: tf.summary.create_file_writer(str(Path(run_dir) / split)) for split in ("train", "validation")
            }

        def on_epoch_end(self, epoch, logs=None) -> None:
            values = {key: value for key, value in (logs or {}).items() if np.ndim(value) == 0}
            values.setdefault("learning_rate", current_learning_rate(self.model.optimizer))
            for key, value in values.items():
                split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
                with self.writers[split].as_default():
                    tf.summary.write(f"epoch_{name}", tf.constant(float(value)), step=epoch, metadata=scalar)
            for writer in self.writers.values():
                writer.flush()

        def on_train_end(self, logs=None) -> None:
            for writer in self.writers.values():
                writer.close()

    return TensorBoardScalars()


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
    """The model file to continue training, as a :class:`ml.modelio.LoadedModel`, or a TrainingError."""
    from ml.modelio import ModelFileError, load_model

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


def find_checkpoint(callbacks: list):
    """The run's :class:`ml.checkpoint.BestModelCheckpoint`, if it has one."""
    from ml.checkpoint import BestModelCheckpoint

    return next((callback for callback in callbacks if isinstance(callback, BestModelCheckpoint)), None)


def describe_stop(reporter, callbacks: list, config: TrainConfig) -> str | None:
    """Why training ended before its last epoch (NaN, checkpoint failure, the user, early stopping), if it did."""
    import keras

    if reporter.nan_batch is not None:
        epoch, batch = reporter.nan_batch
        return (
            f"The loss became NaN at epoch {epoch}, batch {batch}; training stopped and the last good "
            f"weights (end of epoch {epoch - 1}) were kept. Try a lower learning rate."
        )
    checkpoint = find_checkpoint(callbacks)
    if checkpoint is not None and checkpoint.error:
        return f"Training stopped: the best-model checkpoint could not be written: {checkpoint.error}"
    if reporter.stopped_by_user:
        return "Stopped by the user."
    stopper = next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)
    if stopper is not None and stopper.stopped_epoch > 0:
        kept = (
            f"the weights of the best epoch ({stopper.best_epoch + 1}) were restored"
            if config.restore_best_weights
            else "the last epoch's weights were kept"
        )
        return f"Early stopping: val_loss did not improve for {config.early_stopping_patience} epoch(s); {kept}."
    return None


def nested_layers(model) -> list:
    """Every layer of ``model``, including those inside nested models (a transfer preset's backbone)."""
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(nested_layers(layer))
    return found


def recalibrate_batch_norm(
    model, images: np.ndarray, batches: int = RECALIBRATION_BATCHES, batch_size: int = 128, seed: int = 0
) -> int:
    """Re-estimate trainable BatchNormalization layers' moving mean and variance; returns the batches used.

    A run stopped mid-epoch keeps moving averages that lag its weights (momentum 0.99 averages the last ~100
    batches, taken while the weights still changed fast): a stop at 97 % training accuracy tested at 27 %. This
    replaces them with the plain average of ``batches`` training batches' statistics under the final weights.
    Only moving_mean / moving_variance change; Dropout is held in inference mode; frozen layers are left alone.
    """
    import keras

    layers = nested_layers(model)
    norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
    if not norms or len(images) == 0:
        return 0
    dropouts = [layer for layer in layers if isinstance(layer, keras.layers.Dropout)]
    momenta = [layer.momentum for layer in norms]
    rates = [layer.rate for layer in dropouts]
    order = np.random.default_rng(seed).permutation(len(images))
    count = min(batches, math.ceil(len(images) / batch_size))
    try:
        for layer in dropouts:
            layer.rate = 0.0  # Dropout.call only drops when rate > 0
        for index in range(count):
            for layer in norms:
                layer.momentum = index / (index + 1)  # running mean over batches: the first batch replaces the old
            chosen = np.sort(order[index * batch_size : (index + 1) * batch_size])
            model(images[chosen], training=True)  # eager: each call reads the momentum just set
    finally:
        for layer, momentum in zip(norms, momenta, strict=True):
            layer.momentum = momentum
        for layer, rate in zip(dropouts, rates, strict=True):
            layer.rate = rate
    return count


@dataclass(frozen=True)
class ReferenceAccuracy:
    """Another model's test accuracy, to compare a new run with: on the run's own test set, or as recorded."""

    accuracy: float
    dataset: str | None
    same_test_set: bool


def has_same_test_set(metadata, config: TrainConfig) -> bool:
    """True when ``metadata``'s recorded test accuracy was measured on the test set ``config`` tests on."""
    recorded = metadata.hyperparameters or {}
    if metadata.dataset != config.dataset or recorded.get("data_file") != config.data_file:
        return False
    if recorded.get("max_test_samples") is not None or config.max_test_samples is not None:
        return False
    if config.dataset in FIXED_TEST_SETS:
        return True
    return config.dataset == "sklearn-digits" and recorded.get("seed") == config.seed  # its split follows the seed


def accuracy_on_test_set(loaded, result: TrainResult) -> float | None:
    """``loaded``'s accuracy on ``result``'s test set, or None when it cannot read those inputs or classes."""
    metadata = loaded.metadata
    if result.test_images is None or list(metadata.class_names) != list(result.class_names):
        return None
    same_scaling = (metadata.input_scale, metadata.input_mean, metadata.input_std) == (
        result.input_scale,
        result.input_mean,
        result.input_std,
    )
    if not same_scaling or metadata.input_polarity != "white_on_black":
        return None
    try:
        images = fit_inputs_to_model(loaded.model, result.test_images)
    except TrainingError:
        return None
    scores = loaded.model.predict(images, batch_size=TEST_BATCH_SIZE, verbose=0)
    return float(np.mean(np.argmax(scores, axis=-1) == np.asarray(result.test_labels)))


def reference_accuracy(path: str | os.PathLike, result: TrainResult) -> ReferenceAccuracy | None:
    """How well the model in ``path`` does on the test set ``result`` was tested on, to compare the two fairly.

    Its recorded accuracy when that was measured on the same test set; else it is evaluated on ``result``'s test
    images; else (other classes or inputs) its recorded accuracy on its own dataset; None when nothing is known.
    """
    from ml.modelio import ModelFileError, load_model

    try:
        loaded = load_model(path)
    except ModelFileError:
        return None
    metadata = loaded.metadata
    if metadata.test_accuracy is not None and has_same_test_set(metadata, result.config):
        return ReferenceAccuracy(float(metadata.test_accuracy), result.config.dataset, True)
    measured = accuracy_on_test_set(loaded, result)
    if measured is not None:
        return ReferenceAccuracy(measured, result.config.dataset, True)
    if metadata.test_accuracy is not None:
        return ReferenceAccuracy(float(metadata.test_accuracy), metadata.dataset, False)
    return None


def fit(
    config: TrainConfig,
    *,
    dataset: Dataset | None = None,
    model=None,
    on_batch: Callable[[BatchReport], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    wait_while_paused: Callable[[], None] | PauseGate | None = None,
) -> TrainResult:
    """Train ``config.preset``, or fine-tune ``model`` / ``config.fine_tune_from``, and evaluate it on the test set.

    ``model`` may be a Keras model or an ``ml.modelio.LoadedModel`` (whose input scaling is then kept);
    ``wait_while_paused`` a callable or a :class:`PauseGate` (which then also returns when ``should_stop``).
    """
    import keras

    from ml.modelio import outputs_probabilities

    if dataset is not None and config.dataset is None:
        config = replace(config, dataset=dataset.name)
    config = config.resolved()
    started = time.perf_counter()
    device = configure_device()
    keras.utils.set_random_seed(config.seed)
    if model is None and config.fine_tune_from:
        model = load_model_to_fine_tune(config.fine_tune_from)
    loaded_metadata = getattr(model, "metadata", None)
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
    metadata = model_metadata(config, dataset.class_names, dataset.input_scale, dataset.input_mean, dataset.input_std)
    callbacks, run_dir = make_callbacks(config, reporter, stamp, metadata)
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
        test_images=dataset.x_test,
        test_labels=dataset.y_test,
    )
