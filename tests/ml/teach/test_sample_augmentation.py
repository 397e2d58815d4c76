"""Augmentations of the user's samples: elastic warps and the samples' own ink levels."""

from __future__ import annotations

import numpy as np

from ml.teach.sample_augmentation import elastic_distort, match_ink_levels


def test_matching_ink_levels_gives_each_image_its_references_values_in_its_own_order():
    rng = np.random.default_rng(0)
    references = (rng.random((3, 28, 28)) > 0.8).astype(np.float32)  # a crisp pen: 0 or 1
    blurred = references + rng.normal(0, 0.1, references.shape).astype(np.float32)
    matched = match_ink_levels(blurred, references)
    for image, reference, original in zip(matched, references, blurred, strict=True):
        assert np.array_equal(np.sort(image.ravel()), np.sort(reference.ravel()))
        assert np.all(np.diff(image.ravel()[np.argsort(original.ravel())]) >= 0)  # brighter stays brighter


def test_an_elastic_warp_moves_the_ink_a_little_and_keeps_the_shape():
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 6:22, 12:16] = 1.0
    warped = elastic_distort(image, 2.0, np.random.default_rng(0))
    assert warped.shape == image.shape and not np.allclose(warped, image)
    assert np.abs(warped.sum() - image.sum()) < 0.1 * image.sum()
    assert warped[0, :, :6].max() < 0.01  # no pixel moves farther than the warp's few pixels
    assert np.array_equal(elastic_distort(image, 0.0, np.random.default_rng(0)), image)
