"""Evidence maps of the 28x28 placed back on the picture that was predicted."""

from __future__ import annotations

import numpy as np

from app.inspect.evidence_geometry import bilinear, ink_box, map_to_picture
from ml.preprocess.pipeline import to_mnist


def drawn_seven() -> np.ndarray:
    """A 280x280 canvas (1 = white paper) with a thick black 7 drawn off-centre."""
    canvas = np.ones((280, 280), np.float32)
    canvas[40:60, 60:200] = 0.0
    for row in range(60, 250):
        column = int(200 - (row - 60) * 0.5)
        canvas[row, column - 10 : column + 10] = 0.0
    return canvas


def test_ink_box_and_bilinear_sampling():
    image = np.zeros((5, 5), np.float32)
    image[1:3, 2:4] = 1.0
    assert ink_box(image) == (1.0, 3.0, 2.0, 4.0)
    assert ink_box(np.zeros((3, 3))) is None
    assert bilinear(image, np.array([1.0]), np.array([2.0]))[0, 0] == 1.0
    assert bilinear(image, np.array([1.0]), np.array([1.5]))[0, 0] == 0.5
    assert bilinear(image, np.array([-5.0]), np.array([2.0]))[0, 0] == 0.0  # outside: nothing


def test_the_28x28_digit_mapped_back_lies_on_the_drawn_ink():
    canvas = drawn_seven()
    prepared = to_mnist(canvas)
    stages = [(stage.name, stage.image) for stage in prepared.stages]
    placed = map_to_picture(prepared.image, prepared.image, stages)
    assert placed.shape == (140, 140)
    ink = (1.0 - canvas).reshape(140, 2, 140, 2).mean(axis=(1, 3))  # the overlay's pixels are 2x2 canvas pixels
    correlation = np.corrcoef(placed.ravel(), ink.ravel())[0, 1]
    assert correlation > 0.8, correlation
    assert placed[:15].max() < 0.05 and placed[:, :20].max() < 0.05  # nothing where there is no ink


def test_a_large_picture_gets_an_overlay_of_at_most_140_pixels():
    picture = np.ones((1000, 700), np.float32)
    picture[300:700, 300:360] = 0.0
    prepared = to_mnist(picture)
    placed = map_to_picture(prepared.image, prepared.image, [(s.name, s.image) for s in prepared.stages])
    assert max(placed.shape) <= 140
    assert abs(placed.shape[0] / placed.shape[1] - 1000 / 700) < 0.01


def test_no_map_or_no_stages_gives_none():
    assert map_to_picture(None, np.zeros((28, 28)), []) is None
    assert map_to_picture(np.ones((28, 28)), np.zeros((28, 28)), []) is None
