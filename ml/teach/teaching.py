"""Fine-tune a model on the user's samples mixed with a replay of its original training data, batch-norm frozen.

The active model is never changed: teaching works on a clone, and a stop or a failure leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import keras
import numpy as np
import tensorflow as tf

from ml.data.augment import AugmentSettings
from ml.data.datasets import DIGIT_CLASS_NAMES, load_mnist
from ml.errors import TrainingError
from ml.inference.model_input import prepare_for_model
from ml.inference.scoring import BatchScorer, as_probabilities
from ml.models.classifier import outputs_probabilities
from ml.models.files import LoadedModel
from ml.models.summary import DATASET_TITLES, file_name
from ml.teach.batch_norm import refresh_batch_norm
from ml.teach.epoch_data import batch_norm_images, epoch_data, teaching_targets
from ml.teach.held_back import HELD_BACK_FRACTION, split_held_back
from ml.teach.slant import matching_shear

logger = logging.getLogger(__name__)

REPLAY_DATASETS = ("mnist",)
HELD_BACK_MEASURED_EACH_EPOCH = 500  # up to this many held-back samples are also scored after every epoch
FORGETTING_WARNING = (
    "This model does not say what it was trained on, so it is taught on your samples alone: it may forget some of "
    "what it knew (the test-set change below shows how much)."
)
# Gentler augmentation than training's: a user's style (a slant, a stroke) must survive it.
TEACH_AUGMENTATION = AugmentSettings(
    rotation_degrees=8.0, shift_fraction=0.06, zoom_range=0.08, thickness_probability=0.0
)


@dataclass(frozen=True)
class TeachSettings:
    """How a teach runs: epochs, learning rate, replay images per sample, batch size, held-back share, seed."""

    epochs: int = 15
    learning_rate: float = 2e-3
    replay_per_sample: float = 5
    sample_repeats: int = 4
    batch_size: int = 32
    held_back_fraction: float = HELD_BACK_FRACTION
    test_images: int | None = None
    seed: int = 0
    augmentation: AugmentSettings = TEACH_AUGMENTATION
    freeze_batch_norm: bool = True
    elastic_alpha: float = 2.0
    """Strength of elastic distortions of the samples (pixels of displacement; 0: none)."""
    keep_ink_levels: bool = True
    """After augmenting, give each sample back its own pixel values (histogram matching): a crisp pen stays crisp.
    Tuned on MNIST's validation split (tools/tune_teach.py): outlines 94.3 -> 95.2 % mean of 3 sample draws."""
    average_last_epochs: int = 0
    """Average the weights at the end of this many last epochs (stochastic weight averaging; 0 or 1: the last)."""
    anchor_strength: float = 0.0
    """L2-SP: this times the sum of squared distances of the weights from the original ones is added to the loss,
    pulling the taught model towards the original (less forgetting); 0: no pull."""
    taught_share: float = 0.7
    """The taught weights' share in the result, the original weights' the rest (weight-space ensembling, WiSE-FT:
    a step back towards what the model knew); 1: the taught weights as they are. With ``cosine_decay`` at 2e-3,
    tuned on MNIST's validation split: outlines 93.9 -> 95.5 % mean of 3 draws, slant 90.0 -> 90.7 %, forgetting
    of plain digits 0.15 -> 0.06 points (README)."""
    cosine_decay: bool = True
    """Let the learning rate fall along a half cosine to 0 over the teach (else it stays constant)."""
    averaged_runs: int = 1
    """Teach this many times from the original (each ``epochs`` long, its own augmentations and replay) and average
    the results' weights (a model soup); 1: one run."""
    distill_replay: float = 0.0
    """Replay images as they are (not those sheared to the user's slant) learn this share of the original model's own
    probabilities (LwF distillation), the rest their labels; 0: labels only."""
    replay_in_user_slant: float = 0.6
    """This share of the replay images is sheared to the user's own slant (``ml.teach.slant``: the samples' median
    slant beyond their classes' mean slant in the replay data, when noticeable); 0: the replay as it is. Tuned on
    MNIST's validation split: slant 90.2 -> 93.8 % mean of 3 draws, forgetting 0.08 -> 0.14 points (README)."""
    freeze_full_resolution_convs: bool = False
    """Keep the convolutions that see the input at full resolution (before any pooling) as they are."""
    replay_slant_spread: float = 0.5
    """Each replay digit sheared to the user's slant gets its own shear, spread uniformly over the slant times
    1 ± this (0: all exactly the slant). With 4 repeats, 5 replay digits per sample and 60 % of them slanted, tuned on
    MNIST's validation split: slant 94.0 -> 94.5 % mean of 3 draws at 70 % of the change kept, forgetting of plain
    digits 0.15 -> 0.11 points (README)."""
    augment_upright_replay: bool = False
    """Give the replay digits left as they are the samples' augmentation too (with ``distill_replay``: the original
    model's probabilities on shifted, turned digits, where it is unsure, hold its boundaries in place)."""
    taught_share_in_user_slant: float | None = None
    """The taught weights' share when replay digits were sheared to the user's slant (thousands of labelled digits
    in the hand's style back the change, not the few samples alone); None: ``taught_share``. 0.8 over 15 epochs reads
    the benchmark's slant at 96.0 % (70 %: 95.6 %) but forgets 0.22 points of MNIST test (70 %: 0.18; README)."""
    refresh_batch_norm: str = ""
    """After the teach (and the blend), measure the batch-norm statistics afresh on: "replay" (replay digits as
    they are), "mix" (replay digits, the teach's share sheared to the user's slant, and the samples); "": keep."""


@dataclass
class TeachProgress:
    """One finished epoch, for curves and progress bars."""

    epoch: int
    epochs: int
    loss: float
    accuracy: float
    held_back_loss: float | None = None
    held_back_accuracy: float | None = None


@dataclass
class TeachResult:
    """A taught model (not saved) with its card's teaching record; ``model`` is None when the teach was stopped."""

    model: keras.Model | None
    record: dict
    stopped: bool = False
    warnings: list[str] = field(default_factory=list)

    def taught(self, loaded: LoadedModel) -> LoadedModel:
        """The taught model with ``loaded``'s card plus the teaching record (the calibration no longer holds; the
        card's test accuracy becomes the taught model's when the teach measured the card's own test set)."""
        if self.model is None:
            raise TrainingError("The teach was stopped; there is no taught model.")
        history = [*loaded.metadata.hyperparameters.get("teaching_history", []), self.record]
        hyperparameters = {**loaded.metadata.hyperparameters, "teaching": self.record, "teaching_history": history}
        test_accuracy = loaded.metadata.test_accuracy
        if self.record.get("test_after") is not None and self.record.get("test_set") == loaded.metadata.dataset:
            test_accuracy = self.record["test_after"]
        metadata = dataclasses.replace(
            loaded.metadata,
            hyperparameters=hyperparameters,
            temperature=None,
            calibration={},
            created=None,
            test_accuracy=test_accuracy,
        )
        return LoadedModel(self.model, metadata, None, True)


def replay_source(loaded: LoadedModel) -> str | None:
    """The name of the original training data to replay, when the card names data Digit Lab has (else None)."""
    dataset = (loaded.metadata.dataset or "").lower()
    return dataset if dataset in REPLAY_DATASETS and _reads_digits(loaded) else None


def test_source(loaded: LoadedModel) -> str | None:
    """The test set a teach is measured on: MNIST test, for a digit model trained on MNIST or whose card names no set
    (a tutorial's .h5); None for a model of another set (an 8x8 digits model reads about 40 % of MNIST: no measure of
    what it forgets)."""
    dataset = (loaded.metadata.dataset or "").lower()
    return "mnist" if _reads_digits(loaded) and dataset in ("", "mnist") else None


def forgetting_warning(loaded: LoadedModel) -> str:
    """Why a teach without replay may forget: the card names no training set, or one that teaching does not replay."""
    dataset = loaded.metadata.dataset
    if not dataset:
        return FORGETTING_WARNING
    trained_on = DATASET_TITLES.get(str(dataset), file_name(str(dataset)))
    return (
        f"This model was trained on {trained_on}, which teaching does not replay, so it is taught on your samples "
        "alone: it may forget some of what it knew."
    )


def _reads_digits(loaded: LoadedModel) -> bool:
    return list(loaded.metadata.class_names) == list(DIGIT_CLASS_NAMES) and loaded.num_classes == 10


def frozen_batch_norm_clone(model: keras.Model, freeze: bool = True) -> keras.Model:
    """A copy of ``model`` with the same weights whose BatchNormalization layers are frozen (inference mode)."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    for layer in _nested_layers(clone) if freeze else []:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return clone


def _freeze_full_resolution_convs(model: keras.Model, input_shape: tuple) -> None:
    """Freeze the convolutions whose output keeps the input's height and width (those before any pooling)."""
    for layer in _nested_layers(model):
        shape = getattr(getattr(layer, "output", None), "shape", None)
        if isinstance(layer, keras.layers.Conv2D) and shape is not None and tuple(shape[1:3]) == tuple(input_shape[:2]):
            layer.trainable = False


def _nested_layers(model) -> list:
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_nested_layers(layer))
    return found


class TeachStopped(Exception):
    """Raised inside a teach when its ``should_stop`` says so; ``teach`` turns it into a stopped result."""


def accuracy(
    loaded: LoadedModel,
    images28: np.ndarray,
    labels: np.ndarray,
    model: keras.Model | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> float:
    """Top-1 accuracy of ``loaded`` (or of ``model`` read with ``loaded``'s card) on (N, 28, 28) images; raises
    TeachStopped between batches of 500 once ``should_stop`` is true."""
    if len(labels) == 0:
        return float("nan")
    scorer = BatchScorer(loaded if model is None else LoadedModel(model, loaded.metadata, None, True))
    hits = 0
    for start in range(0, len(labels), 500):
        if should_stop():
            raise TeachStopped
        batch = scorer.prepare(images28[start : start + 500])
        hits += int((scorer.raw_outputs(batch).argmax(axis=-1) == labels[start : start + 500]).sum())
    return hits / len(labels)


class _StopAndReport(keras.callbacks.Callback):
    """Stops at a batch's end when asked, and reports each batch as training runs do (running epoch means)."""

    def __init__(self, should_stop: Callable[[], bool], on_batch: Callable[[dict], None] | None, epochs: int) -> None:
        super().__init__()
        self.should_stop = should_stop
        self.on_batch = on_batch
        self.epochs = epochs
        self.epoch = 1  # the teach's epoch (each is one ``fit`` call)
        self.stopped = False

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.on_batch is not None:
            logs = logs or {}
            self.on_batch(
                {
                    "epoch": self.epoch,
                    "epochs": self.epochs,
                    "batch": batch + 1,
                    "steps": int(self.params.get("steps") or 0),
                    "loss": float(logs.get("loss", math.nan)),
                    "accuracy": float(logs.get("categorical_accuracy", math.nan)),
                }
            )
        if self.should_stop():
            self.stopped = True
            self.model.stop_training = True


def teach(
    loaded: LoadedModel,
    images28: np.ndarray,
    labels: np.ndarray,
    settings: TeachSettings = TeachSettings(),
    *,
    held_back: tuple[np.ndarray, np.ndarray] | None = None,
    on_epoch: Callable[[TeachProgress], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_message: Callable[[str], None] | None = None,
    on_batch: Callable[[dict], None] | None = None,
) -> TeachResult:
    """Teach ``loaded`` the samples (``labels`` index its classes); hold back a fifth of each class unless
    ``held_back`` (images, labels) is given. Returns the clone and the card's record; ``loaded`` is unchanged.
    ``should_stop`` is checked at every batch, while measuring and between the stages: a stopped teach returns a
    result with no model. ``on_batch`` gets each batch's running epoch means (``epoch``, ``batch``, ``steps``,
    ``loss``, ``accuracy``), ``on_epoch`` each epoch, with the held-back samples' loss and accuracy when they are
    few (the window's fifth of My samples; never used to choose anything)."""
    say = on_message or (lambda text: logger.info(text))
    try:
        return _teach(loaded, images28, labels, settings, held_back, on_epoch, on_batch, should_stop, say)
    except TeachStopped:
        say("Teaching stopped; the model was left as it was.")
        return TeachResult(None, {}, stopped=True)


def _teach(
    loaded: LoadedModel,
    images28: np.ndarray,
    labels: np.ndarray,
    settings: TeachSettings,
    held_back: tuple[np.ndarray, np.ndarray] | None,
    on_epoch: Callable[[TeachProgress], None] | None,
    on_batch: Callable[[dict], None] | None,
    should_stop: Callable[[], bool],
    say: Callable[[str], None],
) -> TeachResult:
    images28 = np.asarray(images28, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    _check_samples(loaded, images28, labels)
    if held_back is None:
        teach_index, held_index = split_held_back(labels, settings.held_back_fraction, settings.seed)
        held_images, held_labels = images28[held_index], labels[held_index]
        images28, labels = images28[teach_index], labels[teach_index]
    else:
        held_images, held_labels = np.asarray(held_back[0], np.float32), np.asarray(held_back[1], np.int64)
    started = time.perf_counter()
    warnings: list[str] = []
    replay_name = replay_source(loaded)
    test_images = test_labels = None
    replay_images = np.zeros((0, 28, 28), np.float32)
    replay_labels = np.zeros((0,), np.int64)
    if test_source(loaded):
        say("Reading MNIST for replay and the test set…")
        mnist = load_mnist()
        test_images, test_labels = mnist.x_test[..., 0], mnist.y_test.astype(np.int64)
        if settings.test_images:
            test_images, test_labels = test_images[: settings.test_images], test_labels[: settings.test_images]
        if replay_name:
            replay_images, replay_labels = mnist.x_train[..., 0], mnist.y_train.astype(np.int64)
    if not replay_name:
        warnings.append(forgetting_warning(loaded))
    say("Measuring the model before teaching…")
    style_before = accuracy(loaded, held_images, held_labels, should_stop=should_stop)
    test_before = (
        accuracy(loaded, test_images, test_labels, should_stop=should_stop) if test_images is not None else None
    )

    model = frozen_batch_norm_clone(loaded.model, settings.freeze_batch_norm)
    if settings.freeze_full_resolution_convs:
        _freeze_full_resolution_convs(model, loaded.input_shape)
    user_slant = 0.0
    if settings.replay_in_user_slant > 0 and len(replay_labels):
        user_slant = matching_shear(images28, labels, replay_images, replay_labels)
        if user_slant:
            say(slant_note(user_slant, settings.replay_in_user_slant, replay_name))
    from_logits = not outputs_probabilities(model)
    trainer = _AnchoredModel(model, settings.anchor_strength) if settings.anchor_strength > 0 else model
    rng = np.random.default_rng(settings.seed)
    tf.random.set_seed(settings.seed)
    runs = max(1, settings.averaged_runs)
    epochs = runs * settings.epochs
    stopper = _StopAndReport(should_stop, on_batch, epochs)
    teacher = BatchScorer(loaded) if settings.distill_replay > 0 else None
    measure_each_epoch = 0 < len(held_labels) <= HELD_BACK_MEASURED_EACH_EPOCH
    held_batch = prepare_for_model(held_images, loaded.input_shape, loaded.metadata) if measure_each_epoch else None
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    soup: list[np.ndarray] | None = None
    for run in range(runs):
        if run:
            model.set_weights(loaded.model.get_weights())  # each run starts from the original with a fresh optimizer
        trainer.compile(
            optimizer=keras.optimizers.Adam(_learning_rate(settings, len(labels), bool(replay_name))),
            loss=keras.losses.CategoricalCrossentropy(from_logits=from_logits),
            metrics=["categorical_accuracy"],
        )
        averaged: list[np.ndarray] | None = None
        averaged_count = 0
        for epoch in range(settings.epochs):
            stopper.epoch = run * settings.epochs + epoch + 1
            x, y, from_replay = epoch_data(images28, labels, replay_images, replay_labels, settings, rng, user_slant)
            batch = prepare_for_model(x, loaded.input_shape, loaded.metadata)
            original = teacher.raw_probabilities(batch[from_replay]) if teacher and from_replay.any() else None
            targets = teaching_targets(y, loaded.num_classes, from_replay, original, settings.distill_replay)
            logs = trainer.fit(batch, targets, batch_size=settings.batch_size, epochs=1, verbose=0, callbacks=[stopper])
            if stopper.stopped or should_stop():
                raise TeachStopped
            history["loss"].append(float(logs.history["loss"][-1]))
            history["accuracy"].append(float(logs.history["categorical_accuracy"][-1]))
            if settings.epochs - epoch <= settings.average_last_epochs:
                weights = model.get_weights()
                averaged = weights if averaged is None else [a + w for a, w in zip(averaged, weights, strict=True)]
                averaged_count += 1
            if on_epoch is not None:
                progress = TeachProgress(stopper.epoch, epochs, history["loss"][-1], history["accuracy"][-1])
                if measure_each_epoch:
                    held = as_probabilities(model.predict(held_batch, batch_size=256, verbose=0), from_logits)
                    chosen = held[np.arange(len(held_labels)), held_labels]
                    progress.held_back_loss = float(-np.mean(np.log(np.maximum(chosen, 1e-7))))
                    progress.held_back_accuracy = float(np.mean(held.argmax(axis=-1) == held_labels))
                on_epoch(progress)
        final = model.get_weights() if averaged is None else [total / averaged_count for total in averaged]
        soup = final if soup is None else [a + w for a, w in zip(soup, final, strict=True)]
    model.set_weights([total / runs for total in soup])
    share = _taught_share(settings, user_slant)
    if share < 1:
        originals = loaded.model.get_weights()
        model.set_weights([share * w + (1 - share) * o for w, o in zip(model.get_weights(), originals, strict=True)])
    for original, layer in zip(_nested_layers(loaded.model), _nested_layers(model), strict=True):
        if isinstance(layer, (keras.layers.BatchNormalization, keras.layers.Conv2D)):
            layer.trainable = original.trainable  # frozen for the teach only: the version trains as the original did
    if settings.refresh_batch_norm and len(replay_labels):
        mixed = settings.refresh_batch_norm == "mix"
        refresh_images = batch_norm_images(images28, replay_images, user_slant if mixed else 0.0, settings, rng, mixed)
        refresh_batch_norm(model, prepare_for_model(refresh_images, loaded.input_shape, loaded.metadata))
    teach_seconds = time.perf_counter() - started
    say("Measuring the taught model…")
    style_after = accuracy(loaded, held_images, held_labels, model, should_stop)
    test_after = accuracy(loaded, test_images, test_labels, model, should_stop) if test_images is not None else None
    if should_stop():
        raise TeachStopped
    names = loaded.metadata.class_names
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "samples_per_class": {names[i]: int((labels == i).sum()) for i in np.unique(labels)},
        "held_back": int(len(held_labels)),
        "samples_before": _rounded(style_before),
        "samples_after": _rounded(style_after),
        "test_set": "mnist" if test_images is not None else None,
        "test_images": int(len(test_labels)) if test_labels is not None else 0,
        "test_before": _rounded(test_before),
        "test_after": _rounded(test_after),
        "replay": replay_name,
        "replay_images_per_epoch": int(round(len(labels) * settings.sample_repeats * settings.replay_per_sample))
        if replay_name
        else 0,
        "epochs": settings.epochs,
        "learning_rate": settings.learning_rate,
        "learning_rate_schedule": "cosine decay" if settings.cosine_decay else "constant",
        "taught_share": share,
        "averaged_runs": runs,
        "replay_in_user_slant": settings.replay_in_user_slant,
        "user_slant": round(user_slant, 3),
        "batch_norm": "frozen" if settings.freeze_batch_norm else "trained",
        "seconds": round(time.perf_counter() - started, 1),
        "teach_seconds": round(teach_seconds, 1),
        "history": history,
    }
    return TeachResult(model, record, warnings=warnings)


def _taught_share(settings: TeachSettings, user_slant: float) -> float:
    slanted = user_slant != 0 and settings.replay_in_user_slant > 0
    if slanted and settings.taught_share_in_user_slant is not None:
        return settings.taught_share_in_user_slant
    return settings.taught_share


def slant_note(user_slant: float, share: float, replay_name: str | None) -> str:
    """One line for the user: how their samples lean and what the teach does about it."""
    side = "right" if user_slant > 0 else "left"
    data = "MNIST" if replay_name == "mnist" else "replay"
    return (
        f"Your digits lean {side} more than {data}'s ({abs(user_slant):.1f} px per row): "
        f"{100 * share:.0f} % of the {data} digits mixed in are slanted to match."
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 5)


def _check_samples(loaded: LoadedModel, images28: np.ndarray, labels: np.ndarray) -> None:
    if len(labels) == 0:
        raise TrainingError("There are no samples to teach: correct a few drawings or import a folder first.")
    if images28.shape[1:] != (28, 28) or len(images28) != len(labels):
        raise TrainingError(f"Samples must be (N, 28, 28) with one label each, not {images28.shape}.")
    if labels.min() < 0 or labels.max() >= loaded.num_classes:
        raise TrainingError(f"A sample's class is not one of the model's {loaded.num_classes} classes.")
    if len(loaded.input_shape) not in (1, 2, 3):
        raise TrainingError(f"Digit Lab cannot teach a model whose input is {loaded.input_shape}.")


def _learning_rate(
    settings: TeachSettings, samples: int, replays: bool
) -> float | keras.optimizers.schedules.CosineDecay:
    """The teach's learning rate: constant, or a cosine decay over all its batches."""
    if not settings.cosine_decay:
        return settings.learning_rate
    per_epoch = samples * settings.sample_repeats * (1 + (settings.replay_per_sample if replays else 0))
    steps = settings.epochs * math.ceil(per_epoch / settings.batch_size)
    return keras.optimizers.schedules.CosineDecay(settings.learning_rate, max(steps, 1))


class _AnchoredModel(keras.Model):
    """Trains ``inner``'s weights (shared, not copied) with an L2-SP penalty towards their values at the start."""

    def __init__(self, inner: keras.Model, strength: float) -> None:
        super().__init__(name="anchored")
        self.inner = inner
        self.strength = strength
        self.anchors = [tf.constant(weight.numpy()) for weight in inner.trainable_weights]

    def call(self, inputs, training=False):
        return self.inner(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x, y, y_pred, sample_weight, training)
        pull = tf.add_n(
            [tf.reduce_sum(tf.square(w - a)) for w, a in zip(self.inner.trainable_weights, self.anchors, strict=True)]
        )
        return loss + self.strength * pull
