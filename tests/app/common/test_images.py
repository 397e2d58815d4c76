"""Image conversions: gray arrays to QImages and back, and large images shrunk by area averaging for small views."""

from __future__ import annotations

import numpy as np

from app.common.images import array_to_qimage, qimage_to_array, shrunk_to_fit


def test_a_gray_array_survives_a_round_trip_through_a_qimage():
    gray = np.linspace(0.0, 1.0, 12 * 7, dtype=np.float32).reshape(12, 7)
    back = qimage_to_array(array_to_qimage(gray))
    assert back.shape == (12, 7) and np.abs(back - gray).max() <= 0.5 / 255 + 1e-6


def test_a_large_image_is_area_averaged_by_the_largest_whole_factor_that_keeps_the_side():
    rng = np.random.default_rng(0)
    image = rng.random((280, 280), dtype=np.float32)
    small = shrunk_to_fit(image, 56)
    assert small.shape == (56, 56) and small.dtype == np.float32
    assert np.isclose(small[3, 7], image[15:20, 35:40].mean())
    assert shrunk_to_fit(image, 100).shape == (140, 140)  # factor 2: never below the side asked for


def test_a_tall_thin_image_keeps_its_aspect_and_small_images_are_left_alone():
    tall = np.ones((160, 20), dtype=np.float32)
    assert shrunk_to_fit(tall, 56).shape == (80, 10)
    image = np.zeros((28, 28), dtype=np.float32)
    assert shrunk_to_fit(image, 56) is image
    assert shrunk_to_fit(np.ones((300, 1), np.float32), 56).shape == (300, 1)  # one column: no block fits
