"""Big images reduced while converting: the same pixels as converting whole, without whole-image copies."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ml.preprocess import gray


def random_image(mode: str, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode == "P":
        return Image.fromarray(rng.integers(0, 256, (403, 601), dtype=np.uint8)).convert("P")
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    pixels = rng.integers(0, 256, (403, 601, channels), dtype=np.uint8)
    return Image.fromarray(pixels.squeeze(axis=2) if channels == 1 else pixels, mode)


@pytest.mark.parametrize(
    ("mode", "target"),
    [("L", "L"), ("L", "RGB"), ("LA", "RGBA"), ("RGBA", "RGBA"), ("RGBA", "RGB"), ("RGB", "RGB"), ("RGB", "L"),
     ("P", "L")],
)  # fmt: skip
def test_reducing_in_bands_gives_the_pixels_of_converting_then_reducing(
    monkeypatch: pytest.MonkeyPatch, mode: str, target: str
) -> None:
    monkeypatch.setattr(gray, "_BAND_BYTES", 50_000)  # bands of about 20 rows
    image = random_image(mode)
    expected = np.asarray(image.convert(target).reduce(3), dtype=np.int16)
    reduced = np.asarray(gray._reduce_in_bands(image, target, 3), dtype=np.int16)
    assert reduced.shape == expected.shape
    assert np.abs(reduced - expected).max() == 0


def test_an_image_without_alpha_is_reduced_without_copying_a_band(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gray, "_BAND_BYTES", 50_000)
    image = random_image("L")
    monkeypatch.setattr(Image.Image, "crop", lambda *args, **kwargs: pytest.fail("a band was copied"))
    assert gray._reduce_in_bands(image, "RGB", 4).size == (151, 101)


def test_block_means_of_float_extremes_do_not_overflow() -> None:
    values = np.full((40, 60), 3.4e38, dtype=np.float32)
    values[:4, :4] = -3.4e38
    values[4:8, :4] = np.inf
    means = gray._block_means(Image.fromarray(values, mode="F"), 4)
    assert means.shape == (10, 15)
    assert means[0, 0] == pytest.approx(-3.4e38, rel=1e-6)
    assert means[0, 1] == pytest.approx(3.4e38, rel=1e-6)
    assert means[1, 0] == np.inf
    assert np.isfinite(means).sum() == means.size - 1


def test_block_means_average_ragged_edges_over_the_pixels_they_hold() -> None:
    values = np.arange(7 * 5, dtype=np.int32).reshape(7, 5)
    means = gray._block_means(Image.fromarray(values, mode="I"), 3)
    assert means.shape == (3, 2)
    assert means[2, 1] == pytest.approx(values[6:, 3:].mean())
    assert means[0, 0] == pytest.approx(values[:3, :3].mean())
