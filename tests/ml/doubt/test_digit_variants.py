"""Digits in writers' variants for the not-a-digit detector: each variant draws its digit as the window reads it,
with random proportions, the same seed draws the same, and a slashed zero's slash is never upright (that is a phi)."""

from __future__ import annotations

import numpy as np

from ml.doubt.digit_variants import (
    VARIANT_FAMILIES,
    VARIANTS,
    slashed_zero,
    variant_families,
    writers_variants,
)
from ml.doubt.material import DIGIT


def test_the_family_draws_labelled_window_like_digits_and_the_same_seed_draws_the_same():
    (family,) = variant_families()
    assert family.name == VARIANT_FAMILIES[0] and family.kind == DIGIT
    material = family.make(40, 5)
    assert material.images.shape[1:] == (28, 28) and len(material.images) + material.blank == 40
    assert material.images.dtype == np.float32 and 0.0 <= material.images.min() <= material.images.max() <= 1.0
    assert set(material.labels.tolist()) <= {0, 1, 2, 4, 6, 7, 9}
    assert (material.labels == 0).sum() >= 5  # slashed and dotted zeros are the largest share
    assert np.array_equal(material.images, family.make(40, 5).images)
    assert not np.array_equal(material.images, family.make(40, 6).images)


def test_every_variant_draws_its_own_digit_with_random_proportions():
    rng = np.random.default_rng(0)
    for maker, _ in VARIANTS:
        first, label = maker(rng)
        second, again = maker(rng)
        assert label == again and 0 <= label <= 9, maker.__name__
        assert first != second, maker.__name__  # a program, not one template
        points = np.concatenate([np.asarray(stroke) for stroke in first])
        assert points.min() > -0.3 and points.max() < 1.3, maker.__name__  # inside the digit's box, give or take


def test_a_slashed_zero_is_slanted_and_crosses_its_oval():
    rng = np.random.default_rng(1)
    for _ in range(200):
        (oval, slash), label = slashed_zero(rng)
        (x0, y0), (x1, y1) = slash
        assert label == 0
        assert abs(x1 - x0) >= 0.45 * abs(y1 - y0)  # never an upright bar
        oval = np.asarray(oval)
        assert y0 < oval[:, 1].mean() < y1  # from above the oval's middle to below it


def test_a_drawn_variant_is_one_digit_of_ink_in_the_28x28():
    draw = writers_variants(photo_share=0.0)
    rng = np.random.default_rng(2)
    from ml.doubt.drawing import read_as_window

    for _ in range(20):
        canvas, label = draw(rng)
        image = read_as_window(canvas)
        assert image is not None and 0 <= label <= 9
        ink_rows = np.flatnonzero(image.max(axis=1) > 0.3)
        assert 16 <= ink_rows[-1] - ink_rows[0] + 1 <= 24  # scaled to MNIST's 20 px box
