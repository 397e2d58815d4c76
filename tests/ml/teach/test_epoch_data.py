"""A teach's data: each epoch's samples and replay (a share sheared to the user's slant), targets, and the images
batch-norm statistics are measured on."""

from __future__ import annotations

import numpy as np
import pytest

from ml.teach.epoch_data import batch_norm_images, epoch_data, teaching_targets
from ml.teach.slant import slants
from ml.teach.teaching import TeachSettings
from tests.ml.teach.outline_samples import outline_samples


def test_replay_targets_blend_in_the_original_models_probabilities_and_samples_keep_their_labels():
    labels = np.asarray([3, 1, 0])
    from_replay = np.asarray([False, True, True])
    original = np.asarray([[0.0, 0.8, 0.2], [0.6, 0.0, 0.4]], np.float32)  # the replay rows only, in order
    targets = teaching_targets(labels, 4, from_replay, np.pad(original, ((0, 0), (0, 1))), share=0.5)
    np.testing.assert_allclose(targets[0], [0, 0, 0, 1])
    np.testing.assert_allclose(targets[1], [0, 0.9, 0.1, 0])
    np.testing.assert_allclose(targets[2], [0.8, 0, 0.2, 0])
    np.testing.assert_allclose(teaching_targets(labels, 4, from_replay), np.eye(4)[labels])


def test_replay_in_the_users_slant_shears_that_share_of_the_replay_digits(mnist):
    images, labels = outline_samples(mnist, 2)
    replay, replay_labels = mnist.x_train[:2000, ..., 0], mnist.y_train[:2000].astype(np.int64)
    settings = TeachSettings(sample_repeats=1, replay_per_sample=20, replay_in_user_slant=0.5, replay_slant_spread=0)
    x, _, from_replay = epoch_data(images, labels, replay, replay_labels, settings, np.random.default_rng(0), 1.5)
    assert from_replay.sum() == 200  # the replay digits left as they are
    leaning = slants(x) > 0.9  # plain digits lean about 0.1 pixels per row, sheared ones about 1.4
    assert 190 <= (leaning & ~from_replay).sum() <= 220 and (leaning & from_replay).mean() < 0.05
    x, _, from_replay = epoch_data(images, labels, replay, replay_labels, settings, np.random.default_rng(0), 0.0)
    assert from_replay.sum() == 400 and (slants(x[from_replay]) > 0.9).mean() < 0.1


def _one_digit_replay(mnist, copies: int = 400):
    """The same upright digit many times, labelled 0, and samples of classes 1 to 9: rows labelled 0 are replay."""
    samples, labels = outline_samples(mnist, 2, classes=range(1, 10))
    return samples, labels, np.repeat(mnist.x_train[:1, ..., 0], copies, axis=0), np.zeros(copies, np.int64)


def test_spread_shears_give_each_slanted_replay_digit_its_own_slant_around_the_hands(mnist):
    samples, labels, replay, replay_labels = _one_digit_replay(mnist)
    upright = slants(replay[:1])[0]
    measured = {}
    for spread in (0.0, 0.5):
        settings = TeachSettings(
            sample_repeats=1, replay_per_sample=10, replay_in_user_slant=1.0, replay_slant_spread=spread
        )
        x, y, _ = epoch_data(samples, labels, replay, replay_labels, settings, np.random.default_rng(1), 1.0)
        measured[spread] = slants(x[y == 0]) - upright
    assert np.ptp(measured[0.0]) < 1e-4  # every copy sheared alike
    exact = measured[0.0][0]  # a strong shear measures a little less than it is (ink leaves the frame)
    assert np.percentile(measured[0.5], 5) < exact - 0.2 and np.percentile(measured[0.5], 95) > exact + 0.15
    assert np.median(measured[0.5]) == pytest.approx(exact, abs=0.15)


def test_augmented_upright_replay_moves_the_upright_digits_and_leaves_the_slanted_ones(mnist):
    samples, labels, replay, replay_labels = _one_digit_replay(mnist)
    drawn = []
    for augment in (False, True):
        settings = TeachSettings(
            sample_repeats=1, replay_per_sample=10, replay_in_user_slant=0.5, augment_upright_replay=augment
        )
        drawn.append(epoch_data(samples, labels, replay, replay_labels, settings, np.random.default_rng(3), 1.5))
    (x0, y0, upright0), (x1, y1, upright1) = drawn
    assert np.array_equal(y0, y1) and np.array_equal(upright0, upright1)
    replayed = y0 == 0
    changed = np.abs(x0 - x1).reshape(len(x0), -1).max(axis=1) > 1e-4
    assert changed[replayed & upright0].mean() > 0.9
    assert not changed[replayed & ~upright0].any()  # the slanted copies are as before


def test_batch_norm_images_are_replay_digits_with_the_teachs_share_slanted_and_the_samples_when_asked(mnist):
    images, labels = outline_samples(mnist, 1)
    replay = mnist.x_train[:3000, ..., 0]
    settings = TeachSettings(replay_in_user_slant=0.7)
    mixed = batch_norm_images(images, replay, 1.5, settings, np.random.default_rng(0), True, count=1000)
    assert mixed.shape == (1010, 28, 28) and np.array_equal(mixed[-10:], images)
    assert 0.6 < (slants(mixed[:1000]) > 0.9).mean() < 0.8
    upright = batch_norm_images(images, replay, 0.0, settings, np.random.default_rng(0), False, count=1000)
    assert upright.shape == (1000, 28, 28) and (slants(upright) > 0.9).mean() < 0.05
