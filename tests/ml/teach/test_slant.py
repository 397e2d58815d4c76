"""A hand's slant: measured from moments, matched against the replay data's classes, and given to replay digits."""

from __future__ import annotations

import numpy as np
import pytest

from ml.teach.slant import class_mean_slants, extra_slant, matching_shear, sheared, slants
from ml.teach.styles import outline_digits, slanted_digits


def _bar(top_column: int, bottom_column: int) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    for row in range(4, 24):
        image[row, round(top_column + (bottom_column - top_column) * (row - 4) / 19)] = 1.0
    return image


def test_a_bar_leaning_right_has_a_positive_slant_and_an_upright_one_none():
    measured = slants(np.stack([_bar(16, 12), _bar(14, 14), _bar(12, 16), np.zeros((28, 28), np.float32)]))
    assert measured[0] == pytest.approx(4 / 19, abs=0.03)
    assert measured[1] == pytest.approx(0.0, abs=1e-9)
    assert measured[2] == pytest.approx(-4 / 19, abs=0.03)
    assert measured[3] == 0.0  # a blank image has no slant


def test_shearing_matches_the_slant_style_and_adds_its_slant(mnist):
    digits = mnist.x_val[:200, ..., 0]
    assert np.allclose(sheared(digits, 1.5), slanted_digits(digits), atol=1e-5)
    gained = np.median(slants(sheared(digits, 0.5)) - slants(digits))
    assert gained == pytest.approx(0.5, abs=0.1)
    assert np.array_equal(sheared(digits, 0.0), digits) and sheared(digits, 0.0) is not digits


def test_a_slanted_hand_measures_its_extra_slant_and_plain_or_outlined_digits_none(mnist):
    reference = class_mean_slants(mnist.x_train[:10000, ..., 0], mnist.y_train[:10000], 10)
    assert reference.shape == (10,) and np.all(np.abs(reference) < 0.5)
    digits, labels = mnist.x_val[:50, ..., 0], mnist.y_val[:50]
    assert extra_slant(slanted_digits(digits), labels, reference) == pytest.approx(1.3, abs=0.25)
    assert abs(extra_slant(digits, labels, reference)) < 0.15
    assert abs(extra_slant(outline_digits(digits), labels, reference)) < 0.15
    assert extra_slant(np.zeros((0, 28, 28)), np.zeros(0, np.int64), reference) == 0.0


def test_the_matching_shear_gives_replay_digits_the_hands_slant_and_none_to_an_upright_hand(mnist):
    replay, replay_labels = mnist.x_train[:4000, ..., 0], mnist.y_train[:4000].astype(np.int64)
    digits, labels = mnist.x_val[:50, ..., 0], mnist.y_val[:50].astype(np.int64)
    measured = extra_slant(slanted_digits(digits), labels, class_mean_slants(replay, replay_labels, 10))
    shear = matching_shear(slanted_digits(digits), labels, replay, replay_labels)
    assert shear == pytest.approx(1.5, abs=0.2) and shear > measured  # corrected for the ink pushed out of frame
    assert matching_shear(digits, labels, replay, replay_labels) == 0.0
    assert matching_shear(outline_digits(digits), labels, replay, replay_labels) == 0.0


def test_each_image_can_get_its_own_shear_the_same_as_shearing_it_alone(mnist):
    digits = mnist.x_val[:4, ..., 0]
    per_image = np.asarray([0.0, 0.5, 1.5, -0.7], np.float32)
    together = sheared(digits, per_image)
    for index, slant in enumerate(per_image):
        np.testing.assert_allclose(together[index], sheared(digits[index : index + 1], float(slant))[0], atol=1e-6)
    assert np.array_equal(together[0], digits[0]) and not np.array_equal(together[2], digits[2])
