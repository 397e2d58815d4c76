"""The sheet of paper in a photo that shows the desk round it: found, and everything off the sheet painted over.

A photo of a digit on a sheet lying on a dark desk has two "papers": the sheet and the desk. Judged on the whole
photo, the desk can pass for the paper and the sheet for light ink on it. So :func:`find_sheet` looks for one light
region, large and nearly a rectangle, that does not reach all four sides, with a step down to a darker surround and a
little dark ink on it; :func:`isolate_sheet` then keeps the sheet's box and paints the desk within it the sheet's own
grey. Numpy and Pillow only (no SciPy on the window's start-up path).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ml.preprocess.components import label_components
from ml.preprocess.paper import box_blur, otsu_threshold

SHEET_MIN_AREA = 0.3
"""The sheet covers at least this share of the photo (or it is a note, below)..."""
NOTE_MIN_AREA = 0.06
"""A smaller sheet, a sticky note or a card, covers at least this share of the photo..."""
NOTE_MIN_INK = 0.01
"""...and holds writing: at least this share of it is darker than paper (a light stroke on a dark board holds none)."""
SHEET_MIN_FILL = 0.88
"""...and this share of the smallest rectangle round it at any turn: a sheet is a rectangle (seen at a slant, nearly
one); a bold digit's blob, holes filled, is an oval at best (0.79)."""
SHEET_MIN_PAPER = 0.8
"""At least this share of the sheet is light paper (the rest is the ink on it)."""
SHEET_MIN_SURROUND = 0.04
"""The desk covers at least this share of the photo outside the sheet's box."""
SHEET_MIN_CONTRAST = 0.2
"""The sheet's paper is at least this much lighter than the desk (grey levels 0-1)."""
SHEET_MIN_SIDE = 48
"""A photo this small (a 28x28 digit, an icon) is never read for a sheet."""
_LIGHTEST = 100 * (1 - NOTE_MIN_AREA / 2)
"""The percentile of the photo's grey that a sheet or note (half of it at least, its writing aside) lies above."""
_SMALL_SIDE = 160
"""The photo is looked at with its longer side at most this long."""
_EDGE_BAND = 0.02
"""The bands either side of the sheet's edge compared for its step: this share of the photo's longer side."""
_EDGE = 0.03
"""The sheet's edge (shaded, blurred) is left out: this share of its shorter side."""


@dataclass(frozen=True)
class Sheet:
    """Where the sheet lies: its box (top, left, bottom, right, in the photo's pixels) and its mask within the box."""

    box: tuple[int, int, int, int]
    mask: np.ndarray


def find_sheet(gray: np.ndarray) -> Sheet | None:
    """The light sheet of paper lying on a darker surround in ``gray`` (2-D float in [0, 1]), or None when the photo
    shows no such sheet (a canvas, a scan, a tight crop, light ink on a dark ground)."""
    height, width = gray.shape
    if min(height, width) < SHEET_MIN_SIDE:
        return None
    darkest_side = min(float(np.median(side)) for side in (gray[0], gray[-1], gray[:, 0], gray[:, -1]))
    if darkest_side > 1.0 - SHEET_MIN_CONTRAST:
        return None  # every side is light (a canvas, a scan): nothing can be much lighter than the desk
    if float(np.percentile(gray[::4, ::4], _LIGHTEST)) - darkest_side < SHEET_MIN_CONTRAST:
        return None  # nothing in the photo is much lighter than its darkest side
    factor = max(1, int(np.ceil(max(height, width) / _SMALL_SIDE)))
    small = np.asarray(
        Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32), mode="F").reduce(factor), dtype=np.float32
    )
    bright = small > otsu_threshold(small.ravel())
    labels, count = label_components(_holes_filled(bright))
    if count == 0:
        return None
    sheet = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    rows, columns = np.flatnonzero(sheet.any(axis=1)), np.flatnonzero(sheet.any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1
    area, box_area = int(sheet.sum()), (bottom - top) * (right - left)
    held = top == 0 and left == 0 and bottom == small.shape[0] and right == small.shape[1]
    if (
        held
        or area < NOTE_MIN_AREA * small.size
        or (area < SHEET_MIN_AREA * small.size and (sheet & ~bright).sum() < NOTE_MIN_INK * area)
        or area < SHEET_MIN_FILL * _smallest_rectangle(sheet)
        or box_area > (1.0 - SHEET_MIN_SURROUND) * small.size
        or (bright & sheet).sum() < SHEET_MIN_PAPER * area
        or float(np.median(small[bright & sheet])) - float(np.median(small[~sheet])) < SHEET_MIN_CONTRAST
        or _edge_step(small, sheet, bright) < SHEET_MIN_CONTRAST
    ):
        return None
    edge = max(1, round(_EDGE * min(bottom - top, right - left)))
    inner = _eroded(sheet, edge)
    mask = np.kron(inner, np.ones((factor, factor), dtype=bool))[:height, :width]  # reduce() keeps partial cells
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    box = (int(rows[0]), int(columns[0]), int(rows[-1]) + 1, int(columns[-1]) + 1)
    return Sheet(box, mask[box[0] : box[2], box[1] : box[3]])


def isolate_sheet(gray: np.ndarray, sheet: Sheet) -> np.ndarray:
    """The sheet's box of ``gray``, the desk within it painted the sheet's median grey."""
    top, left, bottom, right = sheet.box
    crop = np.array(gray[top:bottom, left:right], dtype=np.float32, copy=True)
    crop[~sheet.mask] = np.float32(np.median(crop[sheet.mask]))
    return crop


def _smallest_rectangle(mask: np.ndarray) -> float:
    """The area of the smallest rectangle round ``mask``'s pixels, turned in steps of 3 degrees."""
    rows, columns = np.nonzero(mask & ~_eroded(mask, 1))
    best = float(mask.size)
    for angle in np.deg2rad(np.arange(-45, 46, 3)):
        along = columns * np.cos(angle) + rows * np.sin(angle)
        across = rows * np.cos(angle) - columns * np.sin(angle)
        best = min(best, float((np.ptp(along) + 1) * (np.ptp(across) + 1)))
    return best


def _edge_step(small: np.ndarray, sheet: np.ndarray, bright: np.ndarray) -> float:
    """How much lighter the sheet is just inside its edge than the desk just outside it: a sheet's edge is a step; a
    strong lighting gradient that Otsu's threshold cuts in two is not."""
    width = max(2, round(_EDGE_BAND * max(small.shape)))
    inside = sheet & bright & ~_eroded(sheet, width)
    outside = ~sheet & ~_eroded(~sheet, width)
    if not inside.any() or not outside.any():
        return 0.0
    return float(np.median(small[inside])) - float(np.median(small[outside]))


def _holes_filled(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every hole filled: the background components that do not reach the frame."""
    labels, _ = label_components(~mask)
    frame = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return mask | ~np.isin(labels, frame)


def _eroded(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` eroded by a square of ``radius`` (the frame counts as inside)."""
    return box_blur(mask.astype(np.float32), radius) > np.float32(1.0 - 1e-4)
