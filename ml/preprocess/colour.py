"""Colour to gray when brightness hides the ink: red ink on green paper of the same brightness, yellow on white.

Gray is brightness (luma), which is right for nearly every photo. When the luma shows almost no local contrast but
the colours do, :func:`ink_by_colour` projects each pixel's colour onto the direction in which the strokes differ
most from the paper round them (the principal axis of the colours' local deviations), signed so that the ink is dark
on light paper, as the rest of the pipeline expects.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ml.preprocess.paper import box_blur

FLAT_LUMA = 0.2
"""Luma whose strokes stand out by less than this (grey levels 0-1, beside the paper round them) may hide ink that
only its colour shows; ink with more contrast is read by its brightness, untouched."""
COLOUR_GAIN = 3.0
"""Colour is used only when its strokes stand out at least this many times more than luma's (gray ink: about 1.7)."""
MIN_COLOUR_CONTRAST = 0.15
"""...and by at least this much (in RGB distance, 0-1 per channel): colour noise on blank paper does not."""
PAPER_LEVEL = 0.85
"""The paper's grey in the colour projection; the ink lies darker by its colour distance from the paper."""
_ANALYSIS_SIDE = 160
"""The colours are compared on a copy reduced (by block means, which also calm the noise) to at most this side."""
_GRAY_TINT = 0.02
"""An image whose channels differ by less than this everywhere has no colour to read (a gray canvas as RGB)."""
_TAIL = 0.995
"""The strokes' contrast: this quantile of the local deviations (strokes cover at least a share of a percent)."""


def luma_of(rgb: np.ndarray) -> np.ndarray:
    """The brightness (ITU-R 601 luma) of an (H, W, 3) float array in [0, 1]."""
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (rgb.astype(np.float32, copy=False) @ weights).astype(np.float32, copy=False)


def luma_contrast(luma: np.ndarray) -> float:
    """How far the strokes of a 2-D gray image stand out from the paper round them (0 for tiny images)."""
    small = _reduced(luma)
    return _stroke_contrast(_local_deviation(small)) if min(small.shape) >= 8 else 0.0


def luma_may_hide_ink(luma: np.ndarray) -> bool:
    """Whether a colour image's luma is flat enough that its colours might show ink it hides (cheap: luma only)."""
    return min(luma.shape) >= 8 and luma_contrast(luma) < FLAT_LUMA


def ink_by_colour(rgb: np.ndarray, luma: np.ndarray | None = None) -> np.ndarray | None:
    """``rgb`` (H, W, 3: uint8, or floats in [0, 1]) as gray with its ink dark on light paper, by colour, when its
    luma (``luma``, computed when None) hides strokes its colours show; None when brightness is the better gray."""
    luma = luma_of(_unit_floats(rgb)) if luma is None else luma
    brightness_contrast = luma_contrast(luma)
    if min(luma.shape) < 8 or brightness_contrast >= FLAT_LUMA:
        return None
    small_rgb = _reduced(rgb)
    if float(np.ptp(small_rgb, axis=-1).max()) < _GRAY_TINT:
        return None
    deviations = _local_deviation(small_rgb).reshape(-1, 3).astype(np.float64)
    _, vectors = np.linalg.eigh(deviations.T @ deviations)
    direction = vectors[:, -1]
    along = deviations @ direction
    colour_contrast = _stroke_contrast(along)
    if colour_contrast < max(COLOUR_GAIN * brightness_contrast, MIN_COLOUR_CONTRAST):
        return None
    if np.quantile(along, _TAIL) > -np.quantile(along, 1.0 - _TAIL):
        direction = -direction  # the ink (the heavier tail, the strokes) goes dark
    paper = np.median(small_rgb.reshape(-1, 3), axis=0)
    projected = (_unit_floats(rgb) - paper.astype(np.float32)) @ direction.astype(np.float32)
    return np.clip(projected + np.float32(PAPER_LEVEL), 0.0, 1.0).astype(np.float32, copy=False)


def _unit_floats(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) * np.float32(1.0 / 255.0)
    return rgb.astype(np.float32, copy=False)


def _reduced(image: np.ndarray) -> np.ndarray:
    """Block means (float32 in [0, 1]) of a 2-D float image or an (H, W, 3) uint8 or float one, so that its longer
    side is at most ``_ANALYSIS_SIDE``."""
    factor = max(1, -(-max(image.shape[:2]) // _ANALYSIS_SIDE))
    if image.ndim == 3 and image.dtype == np.uint8:
        return _unit_floats(np.asarray(Image.fromarray(np.ascontiguousarray(image)).reduce(factor)))
    if image.ndim == 3:
        return np.stack([_reduced(image[..., channel]) for channel in range(3)], axis=-1)
    picture = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F")
    return np.asarray(picture.reduce(factor), dtype=np.float32)


def _local_deviation(image: np.ndarray) -> np.ndarray:
    """``image`` less its blurred self (per channel): strokes stand out, lighting and large regions do not."""
    radius = max(2, max(image.shape[:2]) // 16)
    if image.ndim == 2:
        return image - box_blur(image, radius)
    return np.stack([image[..., channel] - box_blur(image[..., channel], radius) for channel in range(3)], axis=-1)


def _stroke_contrast(deviations: np.ndarray) -> float:
    """How far the strokes stand out: a high quantile of the deviations' size."""
    return float(np.quantile(np.abs(deviations), _TAIL))
