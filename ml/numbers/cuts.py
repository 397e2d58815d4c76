"""Where to cut a piece of ink that may hold several touching digits: candidate columns (valleys of its column
profile and of its upper and lower contours) and, where a straight cut would cross much ink, the cheapest path near a
column (round a neighbour's overhang). :mod:`ml.numbers.lattice` builds its candidate parts from these cuts.

Pure numpy.
"""

from __future__ import annotations

import numpy as np

from ml.numbers.segment import Region

MAX_CUTS_PER_PIECE = 5
NARROWEST_ATOM = 0.12
"""Cuts are at least this share of the digit height apart and from a piece's edges."""

PATH_REACH = 0.3
"""A cut's path may wander this share of the digit height either side of its column (round a neighbour's overhang)."""
PATH_FROM = 0.75
"""Only pieces of ink at least this wide for their height (likely two digits; ``lattice.region_aspect``) get path
cuts."""
PATH_SAVING = 0.6
"""A path cut is offered beside the straight one when it crosses at most this share of the straight one's ink."""
PATH_STRAY = 0.02
"""Cost per row of each column a cut's path lies from its column (a path may not run off along the empty margin)."""
PATH_STEP = 0.05
"""Cost of each column a cut's path moves sideways (ink crossed costs 1 per full pixel)."""


def cut_columns(region: Region, typical: float) -> list[int]:
    """Candidate cut columns of a piece of ink: valleys of its column profile and of its upper and lower contours."""
    spacing = max(1, round(NARROWEST_ATOM * typical))
    if region.width <= 2 * spacing:
        return []
    ink = region.ink > 0
    profile = np.convolve(region.ink.sum(axis=0), np.ones(3) / 3.0, mode="same")
    has_ink = ink.any(axis=0)
    rows = np.arange(region.height)[:, None]
    top = np.where(ink, rows, region.height).min(axis=0).astype(np.float64)  # first ink row (from above)
    bottom = np.where(ink, rows, -1).max(axis=0).astype(np.float64)  # last ink row
    top[~has_ink], bottom[~has_ink] = region.height, 0
    strengths: dict[int, float] = {}
    for signal in (profile, -top, bottom):  # ink crossed; valleys from above and from below
        for column in _valleys(signal, spacing):
            strengths[column] = float(profile[column])
    chosen: list[int] = []
    for column in sorted(strengths, key=lambda c: (strengths[c], c)):
        if all(abs(column - other) >= spacing for other in chosen):
            chosen.append(column)
            if len(chosen) >= MAX_CUTS_PER_PIECE:
                break
    return sorted(chosen)


def cut_path(ink: np.ndarray, column: int, reach: int) -> np.ndarray:
    """The cheapest top-to-bottom cut near ``column``: per row, the first column right of the cut. From row to row it
    moves at most one column, and each row costs the ink of the cells its step sweeps (so a slanted cut cannot slip
    through a diagonal stroke) and :data:`PATH_STEP` per move, within ``reach`` of ``column`` (straight when nothing
    is cheaper)."""
    height, width = ink.shape
    low, high = max(1, column - reach), min(width - 1, column + reach + 1)
    band = ink[:, low:high].astype(np.float64) + PATH_STRAY * np.abs(np.arange(low, high) - column)
    count = high - low
    total = band[0].copy()
    moves = np.zeros((height, count), dtype=np.int8)
    for row in range(1, height):
        cells = band[row]
        stay = total + cells
        from_left = np.full(count, np.inf)  # from column c - 1: sweeps cells c - 1 and c
        from_left[1:] = total[:-1] + cells[:-1] + cells[1:] + PATH_STEP
        from_right = np.full(count, np.inf)  # from column c + 1: sweeps cells c and c + 1
        from_right[:-1] = total[1:] + cells[1:] + cells[:-1] + PATH_STEP
        options = np.stack([from_left, stay, from_right])
        best = np.argmin(options, axis=0)
        moves[row] = best - 1  # -1: came from the left, 0: straight, 1: from the right
        total = options[best, np.arange(count)]
    path = np.empty(height, dtype=np.int64)
    place = int(np.argmin(total))
    for row in range(height - 1, -1, -1):
        path[row] = low + place
        place += int(moves[row, place])
    return path


def swept(ink: np.ndarray, path: np.ndarray) -> float:
    """The ink a cut crosses: on each row, the cells from its column on the row above to its column on this row."""
    total = float(ink[0, path[0]]) if 0 <= path[0] < ink.shape[1] else 0.0
    for row in range(1, len(path)):
        low, high = sorted((int(path[row - 1]), int(path[row])))
        total += float(ink[row, max(low, 0) : high + 1].sum())
    return total


def _valleys(signal: np.ndarray, spacing: int) -> list[int]:
    """Columns (at least ``spacing`` from either end) where ``signal`` is lowest within ``spacing`` either side and
    rises on both sides (the middle of a flat bottom)."""
    length = len(signal)
    valleys = []
    column = spacing
    while column < length - spacing:
        end = column
        while end + 1 < length and signal[end + 1] == signal[column]:
            end += 1  # a flat run
        low, high = max(0, column - spacing), min(length, end + spacing + 1)
        window = signal[low:high]
        rises = signal[low] > signal[column] and signal[high - 1] > signal[column]
        if rises and signal[column] <= window.min():
            middle = (column + end) // 2
            if spacing <= middle < length - spacing:
                valleys.append(middle)
        column = end + 1
    return valleys
