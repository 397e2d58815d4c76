"""Teaching: a synthetic style is learnt, the test set barely moves, a stranger's model is warned about, a stop
leaves the active model as it was."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from ml.assets import bundled_model_path
from ml.errors import TrainingError
from ml.models.files import LoadedModel, load_model
from ml.models.metadata import ModelMetadata
from ml.teach.styles import outline_digits, slanted_digits
from ml.teach.teaching import (
    FORGETTING_WARNING,
    TeachSettings,
    forgetting_warning,
    slant_note,
    teach,
)
from tests.ml.teach.outline_samples import outline_samples

MNIST_DROP_ALLOWED = 0.005  # half a point on 1,000 test digits (the benchmark measures the full set: README)


def test_teaching_an_outline_style_raises_held_back_accuracy_and_keeps_the_test_accuracy(mnist):
    loaded = load_model(bundled_model_path())
    weights_before = [w.copy() for w in loaded.model.get_weights()]
    images, labels = outline_samples(mnist, 5)
    held = (outline_digits(mnist.x_test[:300, ..., 0]), mnist.y_test[:300].astype(np.int64))
    settings = TeachSettings(epochs=4, test_images=1000, replay_per_sample=3, sample_repeats=6, learning_rate=1e-3)
    result = teach(loaded, images, labels, settings, held_back=held)
    record = result.record
    assert record["samples_after"] >= record["samples_before"] + 0.10
    assert record["test_after"] >= record["test_before"] - MNIST_DROP_ALLOWED
    assert record["samples_per_class"] == {str(d): 5 for d in range(10)}
    assert record["replay"] == "mnist" and result.warnings == []
    assert all(np.array_equal(a, b) for a, b in zip(weights_before, loaded.model.get_weights(), strict=True))
    taught = result.taught(loaded)
    assert taught.metadata.hyperparameters["teaching"]["samples_after"] == record["samples_after"]
    assert taught.metadata.test_accuracy == record["test_after"]  # the card's figure is the taught model's
    norms = [layer for layer in result.model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.trainable for layer in norms)  # frozen only while teaching


def _stranger() -> LoadedModel:
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    return LoadedModel(model, ModelMetadata(), None, False)


def test_a_strangers_model_is_taught_with_a_forgetting_warning_and_its_test_set_measured(mnist):
    images, labels = outline_samples(mnist, 3)
    result = teach(_stranger(), images, labels, TeachSettings(epochs=1, test_images=200))
    assert result.warnings == [FORGETTING_WARNING]
    assert result.record["replay"] is None and result.record["test_set"] == "mnist"
    assert result.record["test_before"] is not None and result.record["test_after"] is not None
    assert result.record["held_back"] == 10  # one of each class's three


def test_a_model_of_another_set_is_not_measured_on_mnist_and_its_warning_names_its_set(mnist):
    images, labels = outline_samples(mnist, 3)
    stranger = _stranger()
    of_digits = LoadedModel(stranger.model, ModelMetadata(dataset="sklearn-digits"), None, True)
    result = teach(of_digits, images, labels, TeachSettings(epochs=1, test_images=200))
    assert result.warnings == [forgetting_warning(of_digits)] and "scikit-learn digits" in result.warnings[0]
    assert result.record["test_set"] is None and result.record["test_before"] is None  # not MNIST's meaningless 41 %


def test_each_batch_and_epoch_is_reported_with_the_held_back_samples_when_they_are_few(mnist):
    images, labels = outline_samples(mnist, 5)
    batches, epochs = [], []
    settings = TeachSettings(epochs=2, test_images=100, sample_repeats=2)
    teach(_stranger(), images, labels, settings, on_batch=batches.append, on_epoch=epochs.append)
    steps = batches[0]["steps"]
    assert steps == 3  # 40 samples taught (one of each class's five held back), twice each, in batches of 32
    assert [(b["epoch"], b["batch"]) for b in batches] == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    assert all(b["epochs"] == 2 and np.isfinite(b["loss"]) and 0 <= b["accuracy"] <= 1 for b in batches)
    assert [e.epoch for e in epochs] == [1, 2]
    assert all(0 <= e.held_back_accuracy <= 1 and e.held_back_loss > 0 for e in epochs)  # 10 held back
    many_held = (outline_digits(mnist.x_test[:600, ..., 0]), mnist.y_test[:600].astype(np.int64))
    epochs.clear()
    teach(
        _stranger(),
        images,
        labels,
        TeachSettings(epochs=1, test_images=10),
        held_back=many_held,
        on_epoch=epochs.append,
    )
    assert epochs[0].held_back_accuracy is None  # 600 held back: measured before and after only


def test_a_stop_asked_while_measuring_ends_the_teach_with_nothing(mnist):
    images, labels = outline_samples(mnist, 3)
    asked = iter([False, True])  # no at the first look, yes from then on
    answers = []

    def should_stop() -> bool:
        answers.append(next(asked, True))
        return answers[-1]

    result = teach(_stranger(), images, labels, TeachSettings(epochs=5, test_images=2000), should_stop=should_stop)
    assert result.stopped and result.model is None and len(answers) == 2  # stopped within the test set's scoring


def test_averaging_the_last_epochs_gives_the_mean_of_their_weights(mnist):
    images, labels = outline_samples(mnist, 3)
    stranger = _stranger()  # every teach starts from the same weights (teaching never changes them)

    def weights(**settings) -> list[np.ndarray]:
        settings = TeachSettings(test_images=10, learning_rate=0.01, cosine_decay=False, **settings)
        return teach(stranger, images, labels, settings).model.get_weights()

    first, second = weights(epochs=1), weights(epochs=2)
    averaged = weights(epochs=2, average_last_epochs=2)
    assert not np.allclose(first[0], second[0])  # the epochs did move the weights
    for mean, one, two in zip(averaged, first, second, strict=True):
        np.testing.assert_allclose(mean, (one + two) / 2, rtol=1e-4, atol=1e-6)


def test_a_stopped_teach_leaves_the_model_unchanged_and_returns_nothing(mnist):
    stranger = _stranger()
    before = [w.copy() for w in stranger.model.get_weights()]
    images, labels = outline_samples(mnist, 3)
    result = teach(stranger, images, labels, TeachSettings(epochs=3, test_images=100), should_stop=lambda: True)
    assert result.stopped and result.model is None
    assert all(np.array_equal(a, b) for a, b in zip(before, stranger.model.get_weights(), strict=True))
    with pytest.raises(TrainingError):
        result.taught(stranger)


def test_no_samples_or_a_class_the_model_lacks_is_refused():
    with pytest.raises(TrainingError, match="no samples"):
        teach(_stranger(), np.zeros((0, 28, 28), np.float32), np.zeros((0,), np.int64))
    with pytest.raises(TrainingError, match="classes"):
        teach(_stranger(), np.zeros((2, 28, 28), np.float32), np.asarray([3, 12]))


def test_an_anchor_keeps_the_taught_weights_nearer_the_original_ones(mnist):
    images, labels = outline_samples(mnist, 3)
    stranger = _stranger()
    original = stranger.model.get_weights()

    def distance(**settings) -> float:
        settings = TeachSettings(epochs=2, test_images=10, learning_rate=0.01, **settings)
        result = teach(stranger, images, labels, settings)
        moved = result.model.get_weights()
        return sum(float(np.sum((a - b) ** 2)) for a, b in zip(moved, original, strict=True))

    free, anchored = distance(), distance(anchor_strength=1.0)
    assert anchored < 0.5 * free


def test_a_taught_share_blends_the_taught_weights_with_the_original_ones(mnist):
    images, labels = outline_samples(mnist, 3)
    stranger = _stranger()
    original = stranger.model.get_weights()

    def weights(**settings) -> list[np.ndarray]:
        result = teach(
            stranger, images, labels, TeachSettings(epochs=1, test_images=10, learning_rate=0.01, **settings)
        )
        return result.model.get_weights()

    taught, blended = weights(taught_share=1.0), weights(taught_share=0.25)
    assert not np.allclose(taught[0], original[0])
    for mixed, full, start in zip(blended, taught, original, strict=True):
        np.testing.assert_allclose(mixed, 0.25 * full + 0.75 * start, rtol=1e-4, atol=1e-6)


def test_cosine_decay_brings_the_learning_rate_down_to_zero_by_the_last_batch(mnist):
    images, labels = outline_samples(mnist, 3)

    def last_learning_rate(cosine_decay: bool) -> float:
        settings = TeachSettings(epochs=2, test_images=10, learning_rate=0.01, cosine_decay=cosine_decay)
        return float(teach(_stranger(), images, labels, settings).model.optimizer.learning_rate)

    assert last_learning_rate(False) == pytest.approx(0.01)
    assert last_learning_rate(True) < 1e-4


def test_a_slanted_hand_is_measured_and_recorded_when_its_slant_is_replayed(mnist):
    chosen = np.concatenate([np.flatnonzero(mnist.y_val == digit)[:2] for digit in range(10)])
    images, labels = slanted_digits(mnist.x_val[chosen, ..., 0]), mnist.y_val[chosen].astype(np.int64)
    settings = TeachSettings(
        epochs=1,
        sample_repeats=1,
        replay_per_sample=1,
        test_images=10,
        replay_in_user_slant=0.5,
        taught_share=0.7,
        taught_share_in_user_slant=0.9,
    )
    record = teach(load_model(bundled_model_path()), images, labels, settings).record
    assert record["user_slant"] == pytest.approx(1.5, abs=0.25) and record["replay_in_user_slant"] == 0.5
    assert record["taught_share"] == 0.9  # the share kept when the replay is in the hand's slant
    upright = dataclasses.replace(settings, replay_in_user_slant=0.0)
    assert teach(load_model(bundled_model_path()), images, labels, upright).record["taught_share"] == 0.7


def _small_convnet() -> LoadedModel:
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, "softmax"),
        ]
    )
    return LoadedModel(model, ModelMetadata(), None, False)


def test_freezing_the_full_resolution_convolutions_keeps_them_for_the_teach_only(mnist):
    images, labels = outline_samples(mnist, 3)
    convnet = _small_convnet()
    first, second = (layer.kernel.numpy().copy() for layer in convnet.model.layers if "conv" in layer.name)
    settings = TeachSettings(
        epochs=1, test_images=10, learning_rate=0.01, taught_share=1.0, freeze_full_resolution_convs=True
    )
    taught = teach(convnet, images, labels, settings).model
    taught_first, taught_second = (layer for layer in taught.layers if isinstance(layer, keras.layers.Conv2D))
    assert np.array_equal(taught_first.kernel.numpy(), first)
    assert not np.allclose(taught_second.kernel.numpy(), second)
    assert taught_first.trainable and taught_second.trainable  # the saved version trains as the original did


def test_a_soup_of_two_runs_reports_every_epoch_and_averages_the_first_run_with_another(mnist):
    images, labels = outline_samples(mnist, 3)
    stranger = _stranger()
    settings = TeachSettings(epochs=1, test_images=10, learning_rate=0.01, taught_share=1.0, cosine_decay=False)
    single = teach(stranger, images, labels, settings).model.get_weights()
    epochs: list[tuple[int, int]] = []
    result = teach(
        stranger,
        images,
        labels,
        dataclasses.replace(settings, averaged_runs=2),
        on_epoch=lambda progress: epochs.append((progress.epoch, progress.epochs)),
    )
    assert epochs == [(1, 2), (2, 2)] and result.record["averaged_runs"] == 2
    soup = result.model.get_weights()
    second = [2 * mixed - first for mixed, first in zip(soup, single, strict=True)]  # the soup's other run
    assert not np.allclose(second[0], single[0], atol=1e-4)  # its own augmentations and replay
    original = stranger.model.get_weights()[0]
    assert np.abs(second[0] - original).max() > 1e-3  # it was taught too, from the original weights


def test_the_slant_note_says_which_way_the_hand_leans_and_what_share_is_slanted():
    assert slant_note(1.38, 0.7, "mnist") == (
        "Your digits lean right more than MNIST's (1.4 px per row): 70 % of the MNIST digits mixed in are slanted to "
        "match."
    )
    assert "lean left" in slant_note(-0.4, 0.5, "mnist")
