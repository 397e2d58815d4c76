"""A writer's marks round a digit, taken out: a line drawn under it, a circle drawn round it.

An underlined 7 was one piece of ink with its line (or the line was the largest piece), read as a 1; a circled 3 was
read as a 0 or as "not a digit". An underline is a thin straight line below the rest of the ink that runs out past it
on both sides (a 2's base or a 1's foot stays within the digit, and a fraction's bar has ink under it); a circle is a
piece of ink round the rest, which lies in its hole apart from it (a dotted zero's dot is too small to be a digit).
"""

from __future__ import annotations

import numpy as np

from ml.preprocess.components import label_components, pen_width
from ml.preprocess.paper import box_blur
from ml.preprocess.ruling import RULE_MAX_TURN, Lines, erase_lines, level_shifts, shear, true_runs

UNDERLINE_SPAN = 0.8
"""An underline runs across at least this share of the ink's width..."""
UNDERLINE_OVERHANG = 0.1
"""...out past the rest of the ink on both sides by this share of the rest's width..."""
UNDERLINE_THICKNESS = 2.0
"""...within a band this many pen widths thick and two pixels (a steady hand's wobble included)..."""
UNDERLINE_TOUCHING = 0.2
"""...touched from above along at most this share of its length (a stem, not a bowl's sides)..."""
UNDERLINE_REST_HEIGHT = 0.3
"""...under ink at least this share of the line's length tall (a digit, not a speck over a line)..."""
UNDERLINE_INK_BELOW = 0.03
"""...with at most this share of the ink below it."""
CIRCLE_INSIDE = 0.95
"""The rest of the ink lies in the circle's hole, this share of it at least..."""
CIRCLE_GLYPH = 0.25
"""...and spans this share of the circle's height or width (a digit, not a dotted zero's dot)."""
CIRCLE_GAP = 0.06
"""A hand-drawn circle's gap this share of its size is closed before its hole is looked for."""
_LINE_ROW = 0.3
"""A row of the line's band holds ink across this share of the line's run."""
_MIN_SIDE = 24
"""Ink smaller than this (a 28x28 digit) is never read for marks."""
_MAX_RISE = float(np.tan(np.deg2rad(RULE_MAX_TURN)))
"""An underline is looked for up to ``RULE_MAX_TURN`` degrees off the horizontal."""


def remove_marks(soft_ink: np.ndarray) -> tuple[np.ndarray, int]:
    """``soft_ink`` (white on black) with a circle round the writing and a line under it taken out, and how many."""
    cleaned, removed = soft_ink, 0
    for remover in (_without_circle, _without_underline):
        unmarked = remover(cleaned)
        if unmarked is not None:
            cleaned, removed = unmarked, removed + 1
    return cleaned, removed


def _ink_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1


def _without_underline(soft_ink: np.ndarray) -> np.ndarray | None:
    """``soft_ink`` with the line under its writing taken out, or None when there is none."""
    box = _ink_box(soft_ink > 0)
    if box is None or min(box[1] - box[0], box[3] - box[2]) < _MIN_SIDE:
        return None
    top, bottom, left, right = box
    crop = soft_ink[top:bottom, left:right]
    inked = crop > 0
    height, width = inked.shape
    pen = pen_width(inked)
    thickness = round(UNDERLINE_THICKNESS * pen) + 2
    lowest = inked[max(0, height - thickness - round(_MAX_RISE * width)) :]
    if lowest.any(axis=0).sum() < UNDERLINE_SPAN * width:
        return None  # nothing runs across the bottom of the ink
    shifts = level_shifts(inked[height // 2 :])
    sheared = shear(inked, shifts)
    band = _lowest_line(sheared, thickness, UNDERLINE_SPAN * width)
    if band is None:
        return None
    start, stop, (line_left, line_right) = band
    ink_rows = sheared.sum(axis=1)
    if ink_rows[stop:].sum() > UNDERLINE_INK_BELOW * ink_rows.sum():
        return None
    if stop - start > thickness or not _runs_across(sheared[start:stop], line_left, line_right):
        return None  # no straight line: a bowl's curved bottom (a 6's loop) spans many rows
    edge = max(0, start - max(2, round(pen / 2)))  # past the line's blurred edge
    risen = sheared[max(0, start - thickness) : max(0, start - thickness // 2), line_left:line_right]
    touching = risen.any(axis=0)  # strokes clear of the line's wobble
    if touching.mean() > UNDERLINE_TOUCHING:
        return None  # strokes rise from it all along: a bowl's bottom, not a line under writing
    above = sheared[:edge]
    rest_rows, rest_columns = np.flatnonzero(above.any(axis=1)), np.flatnonzero(above.any(axis=0))
    if rest_rows.size == 0 or start - rest_rows[0] < UNDERLINE_REST_HEIGHT * (line_right - line_left):
        return None
    overhang = max(2.0, UNDERLINE_OVERHANG * (rest_columns[-1] + 1 - rest_columns[0]))
    if line_left > rest_columns[0] - overhang or line_right < rest_columns[-1] + 1 + overhang:
        return None
    lines = Lines(shifts, [(start, stop)])
    writing = inked.copy()
    writing[_in_band(inked.shape, shifts, start, stop)] = False
    cleaned = soft_ink.copy()
    cleaned[top:bottom, left:right] = erase_lines(crop, writing, lines)
    return cleaned


def _runs_across(band: np.ndarray, first: int, last: int) -> bool:
    """Whether ``band``'s ink runs unbroken from column ``first`` to ``last``."""
    return bool(band[:, first:last].any(axis=0).all())


def _lowest_line(sheared: np.ndarray, thickness: int, span: float) -> tuple[int, int, tuple[int, int]] | None:
    """The lowest band of rows, at most ``thickness`` thick, whose ink runs unbroken across ``span`` columns: its
    (start, stop) rows and the (first, last) columns of its run; None when there is none."""
    counts = np.concatenate([np.zeros((1, sheared.shape[1]), np.int32), np.cumsum(sheared, axis=0, dtype=np.int32)])
    covered = counts[thickness:] - counts[:-thickness] > 0  # each window of rows: the columns it has ink in
    for start in np.flatnonzero(covered.sum(axis=1) >= span)[::-1]:
        runs = [run for run in true_runs(covered[start]) if run[1] - run[0] >= span]
        if not runs:
            continue
        first, last = runs[0]
        low = max(0, start - thickness + 1)  # the lowest window holds the line's last row: look above it as well
        rows = np.flatnonzero(sheared[low : start + thickness, first:last].sum(axis=1) >= _LINE_ROW * (last - first))
        if rows.size:
            return int(low + rows[0]), int(low + rows[-1] + 1), (first, last)
    return None


def _in_band(shape: tuple[int, int], shifts: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The pixels of the sheared rows ``start`` to ``stop``, in the image's own rows and columns."""
    height, _ = shape
    sheared_rows = np.arange(height)[:, None] - shifts[None, :] + int(shifts.max())
    return (sheared_rows >= start) & (sheared_rows < stop)


def _without_circle(soft_ink: np.ndarray) -> np.ndarray | None:
    """``soft_ink`` with the piece of ink round the rest of its writing taken out, or None when there is none."""
    box = _ink_box(soft_ink > 0)
    if box is None or min(box[1] - box[0], box[3] - box[2]) < _MIN_SIDE:
        return None
    top, bottom, left, right = box
    inked = soft_ink[top:bottom, left:right] > 0
    labels, count = label_components(inked)
    sides = (labels[0], labels[-1], labels[:, 0], labels[:, -1])
    common = set(np.unique(sides[0]).tolist()).intersection(*(np.unique(side).tolist() for side in sides[1:]))
    common.discard(0)
    if count < 2 or len(common) != 1:
        return None  # one piece of ink, or none reaching all four sides of the ink round the rest
    ring = labels == common.pop()
    rest = inked & ~ring
    rest_box = _ink_box(rest)
    height, width = inked.shape
    if (
        rest_box is None
        or max((rest_box[1] - rest_box[0]) / height, (rest_box[3] - rest_box[2]) / width) < CIRCLE_GLYPH
    ):
        return None  # specks, or a dotted zero's dot
    closed = box_blur(ring.astype(np.float32), max(1, round(CIRCLE_GAP * max(height, width)))) > np.float32(1e-3)
    hole = _holes(closed)
    inside = np.count_nonzero(rest & (hole | closed))
    if inside < CIRCLE_INSIDE * np.count_nonzero(rest) or not (rest & hole).any():
        return None
    cleaned = np.array(soft_ink, dtype=np.float32, copy=True)
    cleaned[top:bottom, left:right][ring] = 0.0
    return cleaned


def _holes(mask: np.ndarray) -> np.ndarray:
    """The background inside ``mask``: its components that do not reach the frame."""
    labels, _ = label_components(~mask)
    frame = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return ~mask & ~np.isin(labels, frame)
