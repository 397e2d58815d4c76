"""A writer's marks round a digit: an underline and a circle are taken out, the digit read; digits that only look a
little like marks (a 2's base, a 0, a dotted zero) are left whole."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from ml.preprocess.marks import remove_marks
from ml.preprocess.pipeline import to_mnist

Drawing = Callable[[ImageDraw.ImageDraw], object]
INK = 30


def photo(drawing: Drawing, seed: int = 0) -> np.ndarray:
    """``drawing`` in pen on light paper, photographed: soft edges and sensor noise."""
    picture = Image.new("L", (400, 300), 235)
    drawing(ImageDraw.Draw(picture))
    pixels = np.asarray(picture.filter(ImageFilter.GaussianBlur(1.0)), dtype=np.float32)
    noisy = pixels + np.random.default_rng(seed).normal(0.0, 3.0, pixels.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def seven(draw: ImageDraw.ImageDraw) -> None:
    draw.line([(150, 40), (250, 40), (185, 230)], fill=INK, width=12, joint="curve")


def three(draw: ImageDraw.ImageDraw) -> None:
    points = [(160, 80), (200, 70), (235, 95), (195, 150), (240, 190), (200, 230), (160, 215)]
    draw.line(points, fill=INK, width=12, joint="curve")


def two(draw: ImageDraw.ImageDraw) -> None:
    draw.line([(155, 80), (200, 50), (240, 90), (160, 220), (255, 220)], fill=INK, width=12, joint="curve")


def zero(draw: ImageDraw.ImageDraw) -> None:
    draw.ellipse((150, 50, 250, 240), outline=INK, width=12)


def dotted_zero(draw: ImageDraw.ImageDraw) -> None:
    zero(draw)
    draw.ellipse((192, 137, 208, 153), fill=INK)


def correlation(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.corrcoef(first.ravel(), second.ravel())[0, 1])


def with_marks(digit: Drawing, *marks: Drawing) -> Drawing:
    return lambda draw: [digit(draw), *(mark(draw) for mark in marks)]


MARKED = {
    "a line under it": (seven, lambda draw: draw.line([(60, 260), (340, 255)], fill=INK, width=10)),
    "a line under it, touching it": (seven, lambda draw: draw.line([(100, 236), (320, 230)], fill=INK, width=10)),
    "a wavy line under it": (
        seven,
        lambda draw: draw.line([(80, 262), (150, 258), (220, 264), (300, 257), (340, 261)], fill=INK, width=9),
    ),
    "a circle round it": (three, lambda draw: draw.ellipse((100, 30, 300, 275), outline=INK, width=9)),
    "a circle round it with a gap": (three, lambda draw: draw.arc((100, 30, 300, 275), 20, 5, fill=INK, width=9)),
}


@pytest.mark.parametrize("mark", list(MARKED))
def test_a_marked_digit_reads_as_the_digit_alone(mark: str) -> None:
    digit, drawn_mark = MARKED[mark]
    alone = to_mnist(photo(digit)).image
    result = to_mnist(photo(with_marks(digit, drawn_mark)))
    assert not result.blank, result.reason
    assert correlation(result.image, alone) > 0.95
    assert "underline or circle removed" in [stage.name for stage in result.stages]


@pytest.mark.parametrize("digit", [two, zero, dotted_zero], ids=["2", "0", "dotted 0"])
def test_digits_with_a_base_or_a_hole_are_left_whole(digit: Drawing) -> None:
    result = to_mnist(photo(digit))
    assert "underline or circle removed" not in [stage.name for stage in result.stages]


def test_a_line_with_ink_under_it_is_no_underline() -> None:
    ink = np.zeros((200, 200), dtype=np.float32)
    ink[20:90, 95:105] = 1.0  # a numerator
    ink[100:106, 30:170] = 1.0  # the bar
    ink[115:185, 95:105] = 1.0  # a denominator
    cleaned, removed = remove_marks(ink)
    assert removed == 0
    np.testing.assert_array_equal(cleaned, ink)


def test_marks_are_not_looked_for_on_the_canvas() -> None:
    canvas = 255 - photo(with_marks(seven, MARKED["a line under it"][1]))
    result = to_mnist(canvas, canvas=True)
    assert "underline or circle removed" not in [stage.name for stage in result.stages]
