"""A hard-edged shadow across the page is evened out and the digit read; a sheet on a desk is still read alone."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from ml.preprocess.pipeline import to_mnist
from ml.preprocess.shadow import relit_shadow
from ml.preprocess.sheet import find_sheet


def written_seven(size: tuple[int, int] = (400, 300), at: int = 150) -> np.ndarray:
    """A pen's 7 on paper filling the frame (float, 0-255)."""
    picture = Image.new("L", size, 230)
    ImageDraw.Draw(picture).line([(at, 50), (at + 100, 50), (at + 35, 250)], fill=40, width=12, joint="curve")
    return np.asarray(picture, dtype=np.float32)


def photographed(pixels: np.ndarray, seed: int = 0, edge_blur: float = 1.0) -> np.ndarray:
    picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    blurred = np.asarray(picture.filter(ImageFilter.GaussianBlur(edge_blur)), dtype=np.float32)
    noisy = blurred + np.random.default_rng(seed).normal(0.0, 3.0, blurred.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def shadowed(pixels: np.ndarray, shade: np.ndarray, depth: float = 0.45) -> np.ndarray:
    return pixels * np.where(shade, np.float32(depth), np.float32(1.0))


def correlation(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.corrcoef(first.ravel(), second.ravel())[0, 1])


@pytest.fixture(scope="module")
def lit_seven() -> np.ndarray:
    return to_mnist(photographed(written_seven())).image


rows, columns = np.mgrid[0:300, 0:400]
SHADOWS = {
    "the left half, across the digit": columns < 190,
    "the right half, the digit all in it": columns >= 130,
    "the top, slanting across the digit": rows < 120 + 0.2 * columns,
}


@pytest.mark.parametrize("shade", list(SHADOWS))
def test_a_digit_on_a_page_half_in_hard_shadow_is_read(lit_seven: np.ndarray, shade: str) -> None:
    photo = photographed(shadowed(written_seven(), SHADOWS[shade]))
    result = to_mnist(photo)
    assert not result.blank, result.reason
    assert correlation(result.image, lit_seven) > 0.9
    assert "shadow evened out" in [stage.name for stage in result.stages]


def test_a_soft_edged_shadow_is_evened_out_too(lit_seven: np.ndarray) -> None:
    shade = np.asarray(Image.fromarray(np.where(columns < 190, 0, 255).astype(np.uint8)).filter(ImageFilter.BoxBlur(4)))
    depth = 0.45 + 0.55 * shade.astype(np.float32) / 255.0
    result = to_mnist(photographed(written_seven() * depth))
    assert not result.blank, result.reason
    assert correlation(result.image, lit_seven) > 0.9


@pytest.mark.parametrize("desk_level", [20, 60, 100])
def test_a_sheet_on_a_plain_desk_on_one_side_is_no_shadow(desk_level: int) -> None:
    sheet = written_seven((300, 300), at=100)
    photo = photographed(np.pad(sheet, ((0, 0), (100, 0)), constant_values=desk_level))
    found = find_sheet(photo.astype(np.float32) / 255.0)
    assert found is not None
    assert relit_shadow(photo.astype(np.float32) / 255.0, found) is None
    assert "the sheet alone" in [stage.name for stage in to_mnist(photo).stages]


def test_a_sheet_on_a_grained_wooden_desk_is_no_shadow() -> None:
    sheet = written_seven((300, 300), at=100)
    grain = 90 + 25 * np.sin(np.arange(300)[:, None] / 3.0 + np.arange(100)[None, :] / 40.0)
    photo = photographed(np.concatenate([grain.astype(np.float32), sheet], axis=1))
    found = find_sheet(photo.astype(np.float32) / 255.0)
    assert found is not None
    assert relit_shadow(photo.astype(np.float32) / 255.0, found) is None
