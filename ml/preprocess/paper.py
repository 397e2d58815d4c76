"""The paper: uneven lighting, polarity, noise and background suppression."""

from __future__ import annotations

import functools
import math

import numpy as np
from PIL import Image

MIN_INK_CONTRAST = 0.08
"""The faintest ink read against the quadratic paper surface (grey levels 0-1)."""
LOCAL_MIN_INK_CONTRAST = 0.05
"""The faintest ink read against the local paper model (:func:`estimate_local_background`), whose residue on blank
paper is far smaller than the quadratic surface's under a shadow."""
LOCAL_MIN_SIDE = 48
"""Images smaller than this are never given a local paper model."""
_LOCAL_CELLS = 24
"""The local paper model's cells: this many across the shorter side."""
_LOCAL_WINDOW = 5
"""...smoothed by the median of this many cells square (a stroke filling a cell is outvoted by the paper round it)."""
_FRAME_STEP_NOISE = 6.0
"""A step on the frame counts as ink cut by it only this many times the spread of a step of pixel noise."""
_MIN_NOISE_MARGIN = 0.03
_BACKGROUND_GRID = 32


def estimate_background(gray: np.ndarray, ink_side: int = 0) -> np.ndarray | float:
    """The paper's brightness: a robust quadratic surface (uneven lighting), or one level when flat or small.

    ``ink_side`` -1 (dark ink) or +1 (light ink) clips the cells on the ink's side of the surface more tightly than
    the paper's: thick strokes over much of a photo otherwise pull the surface into the ink (the paper then looks
    brighter than itself, and its "noise" hides the ink)."""
    height, width = gray.shape
    if min(height, width) < 16:
        return _paper_level(gray)
    factors = (math.ceil(width / _BACKGROUND_GRID), math.ceil(height / _BACKGROUND_GRID))
    picture = Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32), mode="F")
    cells = np.asarray(picture.reduce(factors), dtype=np.float64)
    values = cells.ravel()
    level = _most_common_level(values)
    kept = np.abs(values - level) <= max(3.0 * 1.4826 * float(np.median(np.abs(values - level))), 0.01)
    if ink_side != 0:  # start from the half of the cells away from the ink: the paper covers most of a digit's photo
        kept = values * ink_side <= float(np.median(values)) * ink_side
    if kept.sum() < 0.3 * values.size:
        return float(np.median(values))
    if float(np.ptp(values[kept])) <= 0.02:
        return float(np.median(values[kept]))
    design = _cell_design(height, width, factors)
    coefficients = np.zeros(design.shape[1])
    for _ in range(6 if ink_side == 0 else 12):
        kept_design = design[kept]
        coefficients = _solve_least_squares(kept_design, values[kept])
        residuals = values - design @ coefficients
        spread = 1.4826 * float(np.median(np.abs(residuals[kept])))
        if ink_side == 0:
            now_kept = np.abs(residuals) <= max(3.0 * spread, 0.01)
        else:
            toward_ink = residuals * ink_side
            now_kept = (toward_ink <= max(1.5 * spread, 0.01)) & (toward_ink >= -max(4.0 * spread, 0.01))
        if now_kept.sum() < 0.3 * values.size:
            return float(np.median(values))
        if np.array_equal(now_kept, kept):
            break
        kept = now_kept
    surface = design @ coefficients
    if float(surface.max() - surface.min()) < 0.01:
        return float(np.median(values[kept]))
    full_rows = np.linspace(-1.0, 1.0, height, dtype=np.float32)
    full_columns = np.linspace(-1.0, 1.0, width, dtype=np.float32)
    c0, c_row, c_column, c_row2, c_both, c_column2 = coefficients.astype(np.float32)
    row_part = c0 + c_row * full_rows + c_row2 * full_rows**2
    column_part = c_column * full_columns + c_column2 * full_columns**2
    return row_part[:, None] + column_part[None, :] + c_both * np.outer(full_rows, full_columns)


def estimate_local_background(gray: np.ndarray) -> np.ndarray:
    """The paper's brightness where a quadratic cannot follow it (a soft shadow's edge): the quadratic surface plus
    the median of what it leaves in each cell, smoothed across cells by a median and interpolated bilinearly.

    Medians ignore thin strokes, and the median across cells outvotes a cell a thick stroke fills; both follow a
    ramp exactly, so a shadow's edge is not mistaken for ink."""
    height, width = gray.shape
    surface = estimate_background(gray)
    base = np.full(gray.shape, surface, np.float32) if np.isscalar(surface) else np.asarray(surface, np.float32)
    side = max(4, min(height, width) // _LOCAL_CELLS)
    rows, columns = math.ceil(height / side), math.ceil(width / side)
    residue = np.pad(gray - base, ((0, rows * side - height), (0, columns * side - width)), mode="reflect")
    cells = np.median(residue.reshape(rows, side, columns, side).transpose(0, 2, 1, 3).reshape(rows, columns, -1), -1)
    reach = _LOCAL_WINDOW // 2
    padded = np.pad(cells, reach, mode="edge")
    windows = [padded[i : i + rows, j : j + columns] for i in range(_LOCAL_WINDOW) for j in range(_LOCAL_WINDOW)]
    smoothed = np.median(np.stack(windows, axis=-1), axis=-1).astype(np.float32)
    grid = Image.fromarray(smoothed, mode="F").resize((columns * side, rows * side), Image.Resampling.BILINEAR)
    return base + np.asarray(grid, dtype=np.float32)[:height, :width]


@functools.lru_cache(maxsize=8)
def _cell_design(height: int, width: int, factors: tuple[int, int]) -> np.ndarray:
    """Quadratic terms at the centres of ``Image.reduce(factors)`` cells, in coordinates running -1..1."""
    column_factor, row_factor = factors
    rows = _block_centres(height, row_factor) * (2.0 / max(height - 1, 1)) - 1.0
    columns = _block_centres(width, column_factor) * (2.0 / max(width - 1, 1)) - 1.0
    row_grid, column_grid = np.meshgrid(rows, columns, indexing="ij")
    design = _quadratic_terms(row_grid.ravel(), column_grid.ravel())
    design.flags.writeable = False
    return design


def _block_centres(size: int, factor: int) -> np.ndarray:
    starts = np.arange(0, size, factor)
    return starts + (np.minimum(factor, size - starts) - 1) / 2.0


def _solve_least_squares(design: np.ndarray, values: np.ndarray) -> np.ndarray:
    normal = design.T @ design
    try:
        return np.linalg.solve(normal, design.T @ values)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(design, values, rcond=None)[0]


def _most_common_level(values: np.ndarray, bins: int = 50) -> float:
    """The centre of the fullest histogram bin: paper is the largest area of one brightness."""
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-6:
        return low
    indices = np.minimum(((values - low) * (bins / (high - low))).astype(np.intp), bins - 1)
    fullest = int(np.argmax(np.bincount(indices, minlength=bins)))
    return float(np.median(values[indices == fullest]))


def _paper_level(gray: np.ndarray) -> float:
    """One paper level: the median of the Otsu class (ink or paper) that the border mostly belongs to."""
    values = gray.ravel()
    ring_level = float(np.median(_border_ring(gray)))
    threshold = otsu_threshold(values)
    paper = values[values < threshold] if ring_level < threshold else values[values >= threshold]
    return float(np.median(paper)) if paper.size else ring_level


def _border_ring(image: np.ndarray) -> np.ndarray:
    """The outermost pixels, where paper is most likely."""
    if min(image.shape) <= 2:
        return image.ravel()
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def frame_cuts_ink(gray: np.ndarray, contrast: float = 0.1) -> bool:
    """True when a side of the image steps sharply between paper and ink: a digit cut by a tight crop.

    A lighting gradient or a soft shadow also spans ``contrast`` along the frame, but only over many pixels;
    ink cut by the frame changes within a few. Steps are taken over 1/60 of the longer side after a light
    smoothing (sensor noise), so a blurred, enlarged crop still counts and a sheet's gradient does not. On a grainy
    photo a step must also stand out from the noise (``_FRAME_STEP_NOISE`` times a smoothed step's spread): the
    largest of a long side's hundreds of noisy steps passes ``contrast`` by chance.
    """
    step = max(2, max(gray.shape) // 60)
    sides = (gray[0], gray[-1], gray[:, 0], gray[:, -1])
    threshold = max(contrast, _FRAME_STEP_NOISE * math.sqrt(2.0 / 3.0) * _frame_noise(sides))
    for side in sides:
        if side.size < 2 * step + 3:
            if float(np.ptp(side)) > contrast:
                return True
            continue
        smoothed = np.convolve(side.astype(np.float64), np.full(3, 1 / 3), mode="valid")
        if float(np.abs(smoothed[step:] - smoothed[:-step]).max()) > threshold:
            return True
    return False


def _frame_noise(sides: tuple[np.ndarray, ...]) -> float:
    """Robust standard deviation of the pixel noise along the frame, from second differences: zero along a ramp
    (lighting, an enlarged image's interpolation), so only grain counts."""
    bends = np.concatenate([np.abs(np.diff(side.astype(np.float64), 2)) for side in sides if side.size > 2])
    if bends.size < 32:
        return 0.0
    return 1.4826 * float(np.median(bends)) / math.sqrt(6.0)


def _quadratic_terms(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(rows), rows, columns, rows**2, rows * columns, columns**2], axis=1)


def pixel_noise(image: np.ndarray) -> float:
    """Robust standard deviation of pixel noise from neighbour differences (0 for tiny, mostly-edge images)."""
    if min(image.shape) < 32:
        return 0.0
    step = max(1, image.shape[0] // 48)
    across = np.abs(np.diff(image[::step], axis=1)).ravel()
    if across.size == 0:
        across = np.abs(np.diff(image, axis=0)).ravel()
    return 1.4826 / math.sqrt(2.0) * float(np.median(across)) if across.size else 0.0


def paper_noise(ink: np.ndarray) -> float:
    """Robust standard deviation of the paper around zero, from the pixels on the side away from the ink."""
    flat = ink.ravel()
    step = max(1, flat.size // 10000)
    paper_side = flat[::step]
    paper_side = paper_side[paper_side <= 0]
    return 1.4826 * float(np.median(-paper_side)) if paper_side.size else 0.0


def detect_polarity(difference: np.ndarray, paper_level: float, noise_sigma: float) -> bool:
    """True when the ink is darker than the paper, judged by which side of the paper has more contrast."""
    margin = max(3.0 * noise_sigma, 0.05)
    if difference.size > 40_000:
        difference = difference[::2]
    darker = float(np.maximum(-difference - margin, 0.0).sum())
    lighter = float(np.maximum(difference - margin, 0.0).sum())
    if darker == lighter:
        return paper_level > 0.5
    return darker > lighter


def box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2 radius + 1)-pixel square, edges extended: calms sensor noise before thresholding."""
    size = 2 * radius + 1
    blurred = image.astype(np.float64)
    for axis in (0, 1):
        widths = [(0, 0), (0, 0)]
        widths[axis] = (radius + 1, radius)
        sums = np.cumsum(np.pad(blurred, widths, mode="edge"), axis=axis)
        ahead = sums[size:] if axis == 0 else sums[:, size:]
        behind = sums[:-size] if axis == 0 else sums[:, :-size]
        blurred = (ahead - behind) / size
    return blurred.astype(np.float32)


def otsu_threshold(values: np.ndarray, bins: int = 64) -> float:
    """The threshold that best splits ``values`` into two classes (Otsu's method)."""
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-6:
        return low
    bin_width = (high - low) / bins
    indices = np.minimum(((values - low) * (1.0 / bin_width)).astype(np.intp), bins - 1)
    counts = np.bincount(indices, minlength=bins)
    edges = low + bin_width * np.arange(bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_below = np.cumsum(counts)
    weight_above = weight_below[-1] - weight_below
    sum_below = np.cumsum(counts * centres)
    mean_below = sum_below / np.maximum(weight_below, 1)
    mean_above = (sum_below[-1] - sum_below) / np.maximum(weight_above, 1)
    between = weight_below * weight_above * (mean_below - mean_above) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def suppress_background(
    ink: np.ndarray, noise_sigma: float, min_contrast: float = MIN_INK_CONTRAST
) -> np.ndarray | None:
    """Ink strength above the paper noise mapped softly to [0, 1] (anti-aliased edges kept); None if no ink."""
    floor = max(4.0 * noise_sigma, _MIN_NOISE_MARGIN)
    candidates = ink[ink > floor]
    if candidates.size == 0:
        return None
    core = candidates[candidates >= otsu_threshold(candidates)]
    ink_level = float(np.quantile(core, 0.75))
    if ink_level < max(6.0 * noise_sigma, min_contrast) or ink_level <= floor:
        return None
    soft = (ink - np.float32(floor)) * np.float32(1.0 / (ink_level - floor))
    return np.clip(soft, 0.0, 1.0, out=soft).astype(np.float32, copy=False)
