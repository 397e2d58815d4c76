"""What a candidate part looks like in its place: a window of the number round the part, scaled to the number's digit
height, with the part's own ink and all the number's ink as two channels.

The part scorer (:mod:`ml.numbers.parts`) reads cheap numbers about a part; this view lets a small network
(:mod:`ml.numbers.context_network`) see whether the ink beside a part belongs with it: the left stroke of a wide 0 has
the rest of the 0 touching it, a whole "1" stands alone. Pure numpy and Pillow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from ml.numbers.segment import Region

WINDOW_SHAPE = (40, 60)
"""Rows and columns of a part's window: the number's digit height becomes 20 pixels, so a window spans two digit
heights up and down and three across, centred on the part's box."""
WINDOW_HEIGHTS = (2.0, 3.0)
"""The window's height and width in the number's digit heights."""


def number_ink(regions: Sequence[Region]) -> np.ndarray:
    """The regions' ink in one map (zero elsewhere), big enough to hold every region at its place."""
    if not regions:
        return np.zeros((1, 1), dtype=np.float32)
    height = max(region.top + region.height for region in regions)
    width = max(region.left + region.width for region in regions)
    ink = np.zeros((height, width), dtype=np.float32)
    for region in regions:
        area = ink[region.top : region.top + region.height, region.left : region.left + region.width]
        np.maximum(area, region.ink, out=area)
    return ink


def context_windows(
    ink: np.ndarray, crops: Sequence[np.ndarray], boxes: Sequence[tuple[int, int, int, int]], typical: float
) -> np.ndarray:
    """(n, rows, columns, 2) float32 windows (:data:`WINDOW_SHAPE`): per part (its ``crops`` and ``boxes``, top,
    left, height, width in ``ink``), channel 0 its own ink, channel 1 all of ``ink``, round the part's box centre."""
    typical = max(float(typical), 4.0)
    span_rows = max(4, round(WINDOW_HEIGHTS[0] * typical))
    span_columns = max(6, round(WINDOW_HEIGHTS[1] * typical))
    margin_rows, margin_columns = span_rows, span_columns
    padded = np.pad(np.asarray(ink, dtype=np.float32), ((margin_rows, margin_rows), (margin_columns, margin_columns)))
    windows = np.zeros((len(boxes), *WINDOW_SHAPE, 2), dtype=np.float32)
    for index, (crop, (top, left, height, width)) in enumerate(zip(crops, boxes, strict=True)):
        row = round(top + height / 2 - span_rows / 2)
        column = round(left + width / 2 - span_columns / 2)
        rows = slice(row + margin_rows, row + margin_rows + span_rows)
        columns = slice(column + margin_columns, column + margin_columns + span_columns)
        own = np.zeros((span_rows, span_columns), dtype=np.float32)
        place_top, place_left = top - row, left - column
        clipped = crop[max(0, -place_top) : span_rows - place_top, max(0, -place_left) : span_columns - place_left]
        own[
            max(0, place_top) : max(0, place_top) + clipped.shape[0],
            max(0, place_left) : max(0, place_left) + clipped.shape[1],
        ] = clipped
        windows[index, :, :, 0] = _shrunk(own)
        windows[index, :, :, 1] = _shrunk(padded[rows, columns])
    return windows


def _shrunk(window: np.ndarray) -> np.ndarray:
    """A window resampled to :data:`WINDOW_SHAPE` (antialiased), values kept in [0, 1]."""
    picture = Image.fromarray(np.ascontiguousarray(window, dtype=np.float32), mode="F")
    resized = picture.resize((WINDOW_SHAPE[1], WINDOW_SHAPE[0]), Image.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
