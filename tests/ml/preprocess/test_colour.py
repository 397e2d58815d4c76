"""Colour to gray: ink that only its colour shows (red on green of the same brightness) is read; ordinary photos keep
their brightness."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from ml.preprocess.colour import ink_by_colour, luma_of
from ml.preprocess.gray import to_gray
from ml.preprocess.pipeline import preprocess_file, to_mnist

GREEN_PAPER = (40, 122, 40)
RED_INK = (200, 40, 40)
"""Both of luma 88/255: a brightness-only gray shows nothing of the digit."""


def three_on_paper(ink: tuple[int, int, int], paper: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """A pen-drawn 3 of colour ``ink`` on ``paper``, photographed: soft edges, lighting falling off, sensor noise."""
    picture = Image.new("RGB", (320, 240), paper)
    points = [(130, 55), (160, 40), (190, 60), (155, 115), (195, 160), (160, 200), (125, 185)]
    ImageDraw.Draw(picture).line(points, fill=ink, width=12, joint="curve")
    pixels = np.asarray(picture.filter(ImageFilter.GaussianBlur(1.0)), dtype=np.float32)
    lighting = np.linspace(1.1, 0.9, pixels.shape[1], dtype=np.float32)[None, :, None]
    noise = np.random.default_rng(seed).normal(0.0, 3.0, pixels.shape)
    return np.clip(pixels * lighting + noise, 0, 255).astype(np.uint8)


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def correlation(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.corrcoef(first.ravel(), second.ravel())[0, 1])


@pytest.fixture(scope="module")
def black_three() -> np.ndarray:
    return to_mnist(three_on_paper((0, 0, 0), (255, 255, 255))).image


@pytest.mark.parametrize(
    ("ink", "paper"), [(RED_INK, GREEN_PAPER), (GREEN_PAPER, RED_INK), ((240, 230, 40), (250, 250, 250))]
)
def test_a_digit_shown_by_its_colour_alone_is_read_from_a_file_and_an_array(
    black_three: np.ndarray, ink: tuple[int, int, int], paper: tuple[int, int, int]
) -> None:
    pixels = three_on_paper(ink, paper)
    assert abs(float(luma_of(np.float32(ink) / 255)) - float(luma_of(np.float32(paper) / 255))) < 0.16
    for result in (preprocess_file(png(pixels)), to_mnist(pixels)):
        assert not result.blank, result.reason
        assert correlation(result.image, black_three) > 0.95


def test_the_colour_gray_shows_the_ink_dark_on_light_paper() -> None:
    gray = to_gray(three_on_paper(RED_INK, GREEN_PAPER))
    paper, ink = float(np.median(gray)), float(gray[40:200, 120:200].min())
    assert paper > 0.7
    assert paper - ink > 0.4


@pytest.mark.parametrize(
    ("ink", "paper"),
    [((20, 20, 20), (235, 235, 230)), ((30, 40, 150), (230, 230, 230)), ((200, 30, 30), (240, 240, 240))],
)
def test_ink_that_brightness_shows_keeps_the_brightness_gray(
    ink: tuple[int, int, int], paper: tuple[int, int, int]
) -> None:
    pixels = three_on_paper(ink, paper)
    assert ink_by_colour(pixels) is None
    expected = np.asarray(Image.fromarray(pixels).convert("L"), dtype=np.float32) / 255.0
    np.testing.assert_array_equal(to_gray(pixels), expected)


def test_blank_coloured_paper_with_colour_noise_stays_blank() -> None:
    rng = np.random.default_rng(1)
    paper = np.full((240, 320, 3), GREEN_PAPER, dtype=np.float32) + rng.normal(0.0, 8.0, (240, 320, 3))
    pixels = np.clip(paper, 0, 255).astype(np.uint8)
    assert preprocess_file(png(pixels)).blank
    assert to_mnist(pixels).blank


def test_a_gray_canvas_given_as_rgb_is_never_read_by_colour() -> None:
    blank = np.full((280, 280, 3), 255, dtype=np.uint8)
    assert ink_by_colour(blank) is None
