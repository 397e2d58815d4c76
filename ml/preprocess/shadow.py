"""A hard-edged shadow across the page: told from a desk round a sheet, and evened out.

A shadow falling across half the page makes a lit part with a straight step down to a darker one, which the sheet step
(``ml.preprocess.sheet``) takes for a sheet on a desk: the writing in the shadow was painted over ("no ink found").
Unlike a desk, the shadowed part is paper: even apart from the writing on it, which is much darker than it. So
:func:`relit_shadow` divides the photo by its paper (the photo with the strokes closed over) wherever that paper lies
in shade, which lights the shadowed part like the rest, its edge and writing included.
"""

from __future__ import annotations

import numpy as np

from ml.preprocess.sheet import Sheet

SHADOW_MIN_LEVEL = 0.25
"""Paper in shade keeps at least this share of the lit paper's brightness (a desk is often darker)..."""
SHADOW_MAX_LEVEL = 0.9
"""...and at most this share (a step this small is no edge the sheet step finds)."""
SHADOW_EVENNESS = 0.03
"""The shadowed paper varies by at most this share of its level (its median deviation, the writing aside): paper,
where a desk's grain, weave or sensor noise in the dark varies more."""
SHADOW_INK = 0.3
"""Writing in the shadow is at least this share darker than the paper round it..."""
SHADOW_MIN_INK = 0.002
"""...and covers at least this share of the shadowed part (a desk holds no writing, a shadow on written paper
does)..."""
SHADOW_MAX_INK = 0.25
"""...and at most this share (more is a desk's grain or pattern: writing leaves most of the paper bare)."""
_CLOSING = 0.04
"""The paper is the photo closed over strokes up to twice this share of its longer side wide."""
_LIT = 0.95
"""Paper under this share of the lit paper's level is in shade (the shadow's soft edge included)."""


def relit_shadow(gray: np.ndarray, sheet: Sheet) -> np.ndarray | None:
    """``gray`` with the shadow the sheet step took for a desk round ``sheet`` evened out, or None when what lies
    round the sheet is a desk (or anything other than paper in shade)."""
    height, width = gray.shape
    top, left, bottom, right = sheet.box
    lit = np.zeros(gray.shape, dtype=bool)
    lit[top:bottom, left:right] = sheet.mask
    lit_level = float(np.median(gray[lit]))
    paper = _closed(gray, max(2, round(_CLOSING * max(height, width))))
    shade = ~lit & (paper < np.float32(0.5 * lit_level + 0.5 * float(np.median(paper[~lit]))))
    if lit_level <= 0 or not shade.any():
        return None
    shade_level = float(np.median(paper[shade]))
    if not SHADOW_MIN_LEVEL <= shade_level / lit_level <= SHADOW_MAX_LEVEL:
        return None
    ratio = gray[shade] / np.maximum(paper[shade], np.float32(1e-3))
    ink = ratio < 1.0 - SHADOW_INK
    if not SHADOW_MIN_INK * ratio.size <= np.count_nonzero(ink) <= SHADOW_MAX_INK * ratio.size:
        return None
    if float(np.median(np.abs(ratio[~ink] - np.median(ratio[~ink])))) > SHADOW_EVENNESS:
        return None
    shaded = paper < np.float32(_LIT * lit_level)
    relit = np.array(gray, dtype=np.float32, copy=True)
    relit[shaded] = gray[shaded] * (np.float32(lit_level) / np.maximum(paper[shaded], np.float32(1e-3)))
    return np.clip(relit, 0.0, 1.0)


def _closed(gray: np.ndarray, radius: int) -> np.ndarray:
    """``gray`` closed by a square of ``radius`` (the largest, then the smallest, over it): dark strokes narrower
    than the square filled with the paper round them, a straight shadow's edge kept in place."""
    return _extreme(_extreme(gray, radius, np.maximum), radius, np.minimum)


def _extreme(image: np.ndarray, radius: int, combine: np.ufunc) -> np.ndarray:
    """The largest (``np.maximum``) or smallest (``np.minimum``) value over a square of ``radius`` round each pixel,
    edges extended: windows doubled in log steps, each way in turn."""
    result = image.astype(np.float32, copy=True)
    for axis in (0, 1):
        padded = np.pad(result, [(radius, radius) if index == axis else (0, 0) for index in (0, 1)], mode="edge")
        span, window = 1, 2 * radius + 1
        while span * 2 <= window:
            shifted = np.take(padded, np.arange(span, padded.shape[axis]), axis=axis)
            padded = combine(np.take(padded, np.arange(padded.shape[axis] - span), axis=axis), shifted)
            span *= 2
        size = result.shape[axis]
        first = np.take(padded, np.arange(size), axis=axis)  # windows of ``span`` starting at each pixel's left...
        second = np.take(padded, np.arange(window - span, window - span + size), axis=axis)  # ...and ending at right
        result = combine(first, second)
    return result
