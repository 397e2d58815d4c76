"""The glyph: stroke width, crop, size, and centring by mass as MNIST does."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from ml.preprocess.geometry import MNIST_GLYPH_SIZE, MNIST_SIZE

MNIST_CENTER = 14.0
"""Mean centre of mass of MNIST digits in pixel-index coordinates (measured on x_test: 13.99, 14.01)."""
STROKE_WIDTH_RANGE = (2.1, 2.7)
"""Stroke widths (px at 28x28) kept as drawn; the middle half of MNIST x_test lies in 2.06..2.74."""
GLYPH_WORK_SIDE = 4 * MNIST_GLYPH_SIZE
"""The cropped glyph is normalised at 4x the final glyph size, where stroke widths are easy to adjust."""


def estimate_stroke_width(glyph: np.ndarray) -> float:
    """Mean stroke width in pixels: twice the ink area over the outline length (total variation)."""
    padded = np.pad(glyph.astype(np.float32, copy=False), 1)
    across = np.diff(padded, axis=1)[:-1, :]
    down = np.diff(padded, axis=0)[:, :-1]
    outline = float(np.sqrt(across * across + down * down).sum())
    return 2.0 * float(glyph.sum()) / outline if outline > 0 else 0.0


def normalize_stroke_width(
    glyph: np.ndarray,
    glyph_size: int = MNIST_GLYPH_SIZE,
    width_range: tuple[float, float] = STROKE_WIDTH_RANGE,
    *,
    allow_erosion: bool = True,
) -> np.ndarray:
    """Dilate thin or erode thick strokes so they fit ``width_range`` once the glyph is ``glyph_size`` px."""
    width = estimate_stroke_width(glyph)
    extent = max(glyph.shape)
    if width <= 0 or extent <= width:
        return glyph
    scaled_width = width * glyph_size / extent
    low, high = width_range
    if low <= scaled_width <= high or (scaled_width > high and not allow_erosion):
        return glyph
    target = low if scaled_width < low else high
    wanted_width = target * (extent - width) / (glyph_size - target)
    radius = (wanted_width - width) / 2.0
    if radius > 0:
        reshaped = _morph(np.pad(glyph, math.ceil(radius) + 1), radius, np.maximum)
    else:
        reshaped = _morph(glyph, -radius, np.minimum)
        if float(reshaped.max()) < 0.5 * float(glyph.max()):
            return glyph
    return _crop_to_nonzero(reshaped, 0.01)


def _morph(image: np.ndarray, radius: float, combine: np.ufunc) -> np.ndarray:
    """Grey dilation (np.maximum) or erosion (np.minimum) by an octagon of fractional ``radius``."""
    whole = int(radius)
    fraction = radius - whole
    result = image
    for step in range(whole):
        result = _morph_step(result, combine, square=step % 2 == 0)
    if fraction > 1e-3:
        further = _morph_step(result, combine, square=whole % 2 == 0)
        result = (1.0 - fraction) * result + fraction * further
    return result.astype(np.float32, copy=False)


def _morph_step(image: np.ndarray, combine: np.ufunc, *, square: bool) -> np.ndarray:
    padded = np.pad(image, 1)
    centre = padded[1:-1, 1:-1]
    if square:
        across = combine(combine(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
        return combine(combine(across[:-2], across[1:-1]), across[2:])
    result = combine(centre, padded[:-2, 1:-1])
    result = combine(result, padded[2:, 1:-1])
    result = combine(result, padded[1:-1, :-2])
    return combine(result, padded[1:-1, 2:])


def _crop_to_nonzero(image: np.ndarray, threshold: float) -> np.ndarray:
    rows = np.flatnonzero((image > threshold).any(axis=1))
    columns = np.flatnonzero((image > threshold).any(axis=0))
    if rows.size == 0:
        return image
    return image[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def _max_pool(image: np.ndarray, factor: int) -> np.ndarray:
    height, width = image.shape
    padded = np.pad(image, ((0, -height % factor), (0, -width % factor)))
    rows = padded[0::factor]
    for offset in range(1, factor):
        rows = np.maximum(rows, padded[offset::factor])
    pooled = rows[:, 0::factor]
    for offset in range(1, factor):
        pooled = np.maximum(pooled, rows[:, offset::factor])
    return pooled


def resize_glyph(crop: np.ndarray, longer_side: int = GLYPH_WORK_SIDE) -> np.ndarray:
    """Resize a cropped glyph so its longer side is ``longer_side``; thin lines survive by max-pooling first."""
    factor = max(crop.shape) // longer_side
    if factor >= 2:
        crop = _max_pool(crop, factor)
    height, width = crop.shape
    scale = longer_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return crop.astype(np.float32, copy=True)
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    picture = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32), mode="F")
    return np.clip(np.asarray(picture.resize(size, resample), dtype=np.float32), 0.0, 1.0)


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted (row, column) centre in pixel-index coordinates."""
    total = float(image.sum())
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    row = float(image.sum(axis=1) @ np.arange(image.shape[0])) / total
    column = float(image.sum(axis=0) @ np.arange(image.shape[1])) / total
    return row, column


def center_by_mass(
    glyph: np.ndarray, glyph_size: int = MNIST_GLYPH_SIZE, frame: int = MNIST_SIZE, center: float = MNIST_CENTER
) -> np.ndarray:
    """Scale a glyph's longer side to ``glyph_size`` and place it (subpixel) with its centre of mass at ``center``."""
    height, width = glyph.shape
    scale = glyph_size / max(height, width)
    window = frame / scale
    # The window never starts before (size - window) nor ends after window; add room for the filter's reach.
    row_margin = math.ceil(window - height) + 16
    column_margin = math.ceil(window - width) + 16
    padded = Image.fromarray(
        np.pad(glyph.astype(np.float32, copy=False), ((row_margin, row_margin), (column_margin, column_margin))),
        mode="F",
    )
    mass_row, mass_column = center_of_mass(glyph)
    top = _clamp(mass_row + 0.5 - (center + 0.5) / scale, height - window, 0.0)
    left = _clamp(mass_column + 0.5 - (center + 0.5) / scale, width - window, 0.0)
    result = np.zeros((frame, frame), dtype=np.float32)
    for _ in range(2):
        box = (left + column_margin, top + row_margin, left + column_margin + window, top + row_margin + window)
        resized = padded.resize((frame, frame), Image.Resampling.BICUBIC, box=box)
        result = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
        out_row, out_column = center_of_mass(result)
        error_row, error_column = out_row - center, out_column - center
        if abs(error_row) < 0.02 and abs(error_column) < 0.02:
            break
        top = _clamp(top + error_row / scale, height - window, 0.0)
        left = _clamp(left + error_column / scale, width - window, 0.0)
    return result


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def scaled_to_glyph_size(glyph: np.ndarray, glyph_size: int = MNIST_GLYPH_SIZE) -> np.ndarray:
    height, width = glyph.shape
    scale = glyph_size / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    picture = Image.fromarray(np.ascontiguousarray(glyph, dtype=np.float32), mode="F")
    return unit_max(np.asarray(picture.resize(size, Image.Resampling.BICUBIC), dtype=np.float32))


def unit_max(image: np.ndarray) -> np.ndarray:
    clipped = np.clip(image, 0.0, None).astype(np.float32)
    peak = float(clipped.max()) if clipped.size else 0.0
    return clipped / np.float32(peak) if peak > 0 else clipped
