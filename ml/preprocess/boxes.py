"""Printed boxes round the writing: a form's field, or a row of them (a comb, one digit per cell), taken out.

A digit written in a form's box touches it, or sits inside it, so the box is the largest piece of ink and the digit
was read as a square. A box is a piece of ink whose outermost rows and columns are thin straight lines running across
it, with writing inside; a row of boxes also has its inner walls, evenly spaced. The lines are found along their own
slope and taken out as ruled lines are (``ml.preprocess.ruling``); writing darker than a line stays where it lies on
it. A square drawn with the canvas's default brush is no thin line, a round digit's edges are curves, and a closed
square with nothing inside is left as it is.
"""

from __future__ import annotations

import numpy as np

from ml.preprocess.components import label_components
from ml.preprocess.ruling import RULE_MAX_TURN, RULE_MIN_SIDE, Lines, erase_lines, level_shifts, true_runs
from ml.preprocess.ruling import shear as shear_columns

BOX_SIDE_BAND = 0.2
"""A box's side lies in the outer band of this share of its piece of ink (deeper by the rise of a turned line)..."""
BOX_SIDE_COVER = 0.6
"""...and is ink across at least this share of the piece's width (its height, for a side wall); of that ink..."""
BOX_EDGE_STRAIGHT = 0.5
"""...this share of it (writing may reach past the line) lies within ``BOX_EDGE_WOBBLE`` of the piece's width of a
straight line (a round digit's edge is a curve)."""
BOX_EDGE_WOBBLE = 0.02
BOX_SPAN = 0.75
"""A box's line runs across at least this share of its piece of ink..."""
BOX_WALL_SPAN = 0.9
"""...and a comb's inner wall this share of the height between its top and bottom lines (a "1" written in a box
rarely reaches from one to the other)."""
BOX_OUTSIDE_INK = 0.03
"""At most this share of the piece's ink lies beyond a side (the side is outermost)."""
BOX_MIN_INSIDE = 0.1
"""Writing left inside holds at least this share of the ink taken out with the box (else it stays: an empty box)."""
BOX_MAX_PIECES = 6
"""The largest pieces of ink (by their ink) looked at as boxes."""
BOX_LINE_WIDTH = 0.03
"""A box's line is at most this share of the box thick, or ``_MIN_WIDTH_PIXELS`` (a photo's blur spreads a thin
printed line over several pixels); a desk's dark margin round a sheet, read as ink, is thicker."""
_MIN_WIDTH_PIXELS = 14
_MAX_RISE = float(np.tan(np.deg2rad(RULE_MAX_TURN)))


def remove_boxes(soft_ink: np.ndarray) -> tuple[np.ndarray, int]:
    """``soft_ink`` (white on black) with printed boxes round the writing taken out, and how many were."""
    labels, count = label_components(_grown(soft_ink > 0))
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    cleaned, removed = soft_ink, 0
    for piece in np.argsort(areas)[::-1][:BOX_MAX_PIECES]:
        if areas[piece] < 4 * RULE_MIN_SIDE:  # a box of the smallest side has at least this much ink
            break
        mine = labels == piece + 1  # grown a pixel: a faint line whole
        rows, columns = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
        top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1
        if min(bottom - top, right - left) < RULE_MIN_SIDE:
            continue
        unboxed = _without_box(cleaned[top:bottom, left:right], mine[top:bottom, left:right])
        if unboxed is not None:
            if removed == 0:
                cleaned = cleaned.copy()
            cleaned[top:bottom, left:right] = unboxed
            removed += 1
    return cleaned, removed


def _without_box(crop: np.ndarray, mine: np.ndarray) -> np.ndarray | None:
    """``crop`` with the box that ``mine`` (its piece of ink) draws taken out, or None when it draws none."""
    if not _sides_covered(mine):
        return None
    across = _box_lines(mine, walls=False)
    if across is None:
        return None
    down = _box_lines(mine.T, walls=True, length=across.bands[-1][1] - across.bands[0][0])
    if down is None:
        return None
    unmarked = np.zeros(crop.shape, dtype=bool)  # nothing counts as a stroke crossing: a faint line's halo would
    cleaned = erase_lines(crop, unmarked, across)  # (writing darker than the line stays, as on ruled paper)
    cleaned = erase_lines(cleaned.T, unmarked.T, down).T
    taken, inside = float(crop.sum() - cleaned.sum()), float(cleaned.sum())
    if taken <= 0 or inside < BOX_MIN_INSIDE * taken:
        return None
    return np.ascontiguousarray(cleaned, dtype=np.float32)


def _sides_covered(mine: np.ndarray) -> bool:
    """A quick look before the lines are sought: three of the four sides at least (writing may run out past one),
    seen from outside, are ink along a straight line across most of the piece (a round digit's edge is a curve)."""
    return sum(_straight_edge(side) for side in (mine, mine[::-1], mine.T, mine.T[::-1])) >= 3


def _straight_edge(mine: np.ndarray) -> bool:
    """Whether the first ink met coming down the columns of ``mine`` lies on a straight line across most of them
    (deep enough to meet a line turned ``RULE_MAX_TURN`` degrees)."""
    height, width = mine.shape
    depth = min(height, round(BOX_SIDE_BAND * height + _MAX_RISE * width))
    reached = mine[:depth].any(axis=0)
    if reached.mean() < BOX_SIDE_COVER:
        return False
    columns = np.flatnonzero(reached)
    first = mine[:depth, columns].argmax(axis=0)
    half = columns.size // 2  # a line through the two halves' medians: the ends beyond a turned side do not pull it
    if half == 0:
        return False
    rise = np.median(first[half:]) - np.median(first[:half])
    slope = rise / max(1.0, float(np.median(columns[half:]) - np.median(columns[:half])))
    offset = np.median(first - slope * columns)
    straight = np.abs(first - (slope * columns + offset)) <= max(2.0, BOX_EDGE_WOBBLE * width)
    return bool(straight.sum() >= BOX_EDGE_STRAIGHT * columns.size)


def _box_lines(mine: np.ndarray, walls: bool, length: int | None = None) -> Lines | None:
    """The piece's outermost two lines running across it (``length`` long: its width unless given), and with
    ``walls`` the evenly spaced ones between them (a comb's inner walls; a digit's stroke off that spacing is
    writing); None when its first or last is no thin line running across it."""
    height, width = mine.shape
    shifts = level_shifts(mine)
    sheared = shear_columns(mine, shifts)
    coverage = sheared.sum(axis=1) / (length or width)
    widest = max(_MIN_WIDTH_PIXELS, round(BOX_LINE_WIDTH * height))
    bands = [(start, stop) for start, stop in true_runs(coverage >= BOX_SPAN) if stop - start <= widest]
    if len(bands) < 2:
        return None
    ink = np.concatenate([[0], np.cumsum(sheared.sum(axis=1))])  # ink above each row
    (first, _), (_, last) = bands[0], bands[-1]
    beyond = ink[max(0, first - widest)] + ink[-1] - ink[min(ink.size - 1, last + widest)]  # past the lines' halos
    if beyond > BOX_OUTSIDE_INK * ink[-1]:
        return None
    if last - first < 4 * widest:
        return None
    if not walls:
        return Lines(shifts, [bands[0], bands[-1]])
    inner = [band for band in bands[1:-1] if coverage[band[0] : band[1]].max() >= BOX_WALL_SPAN]
    return Lines(shifts, _evenly_spaced([bands[0], *inner, bands[-1]], widest))


def _evenly_spaced(bands: list[tuple[int, int]], tolerance: int) -> list[tuple[int, int]]:
    """The first and last band and, for the most cells that fit, a band at each of the even steps between them, no
    thicker than the outer two."""
    thickest = max(bands[0][1] - bands[0][0], bands[-1][1] - bands[-1][0]) + 1
    walls = [band for band in bands[1:-1] if band[1] - band[0] <= thickest]
    candidates = [bands[0], *walls, bands[-1]]
    centres = np.array([(start + stop) / 2 for start, stop in candidates])
    for cells in range(len(candidates) - 1, 1, -1):
        steps = centres[0] + (centres[-1] - centres[0]) * np.arange(cells + 1) / cells
        nearest = np.abs(centres[None, :] - steps[:, None]).argmin(axis=1)
        if np.all(np.abs(centres[nearest] - steps) <= tolerance):
            return [candidates[index] for index in nearest]
    return [bands[0], bands[-1]]


def _grown(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by a pixel each way: a faint printed line's broken pieces joined."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    return grown
