"""Ruled and squared paper: its printed lines found in the ink and taken out, the strokes that cross them kept.

A digit written on a notebook's lines touches them, so without this step the digit and the lines are one piece of
ink as wide as the photo: a "2" on lined paper read "Not a digit". A printed line is thin, straight, runs from side
to side, and comes with others at a regular spacing or is fainter than the writing; a digit's stroke is none of
these. Lines are found along their own slope (a photo taken askew), rows and columns alike, and taken out together,
so that where a column crosses a row neither passes for a stroke.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RULE_MIN_SIDE = 64
"""Images smaller than this (a 28x28 digit, an 8x8 one enlarged a little) are never read for lines."""
RULE_MIN_SPAN = 0.6
"""A line's ink covers at least this share of the image's width (of its height, for a column)."""
RULE_MAX_WIDTH = 0.025
"""...and is at most this share of the image's height thick (at least ``_MIN_WIDTH_PIXELS``)."""
RULE_MIN_LINES = 2
"""Lines come in a set, evenly spaced (``RULE_SPACING_SPREAD``): one long thin stroke alone (a tightly cropped 7's
bar) is not ruling..."""
RULE_SPACING_SPREAD = 1.4
"""The largest gap between neighbouring lines is at most this many times the smallest."""
RULE_FAINT = 0.6
"""...unless each line's ink is at most this share of the writing's (printed lines are lighter than pen or
pencil): a line or two in a cropped photo..."""
RULE_LONE_SPAN = 0.9
"""...and runs across this share of it (a digit's stroke never runs from side to side)."""
RULE_MAX_TURN = 10.0
"""Lines are looked for up to this many degrees off the horizontal (and the vertical)."""
_COARSE_SLOPES = np.tan(np.deg2rad(np.arange(-RULE_MAX_TURN, RULE_MAX_TURN + 0.5, 1.0)))
_FINE_STEPS = np.tan(np.deg2rad(np.arange(-0.5, 0.55, 0.1)))
_SIDE_BAND = 0.04
"""Lines reach into the bands this share of the width wide along both sides."""
_MAX_SAMPLES = 15_000
"""At most this many ink pixels are projected per slope."""
_CUT_LINE_SPAN = 0.1
"""A line the frame cuts short, in its place in a ruling, covers at least this share of the width."""
_MIN_WIDTH_PIXELS = 5
"""A line may always be this many pixels thick (a small photo's blurred line)."""
_MIN_WRITING_PIXELS = 50
"""A lone line is judged fainter than the writing only when there is this much writing to judge by."""
_EDGE = 0.3
"""A line's band reaches out to the rows whose ink covers this share of the width (its blurred edge)..."""
_FRINGE = 2
"""...by at most this many rows each side."""
_WRITING_OVER_LINE = 1.8
"""Ink in a line's band this many times the line's own is writing on top of it, and stays."""
_SQUARED_SPREAD = 1.3
"""Squared paper's columns, found only because its rows were, are spaced within this factor of the rows."""
_HALO = 2
"""A stroke crossing a line is looked for this many rows beyond its band (past the line's faint halo), and must be
at least half as dark as the line."""


@dataclass(frozen=True)
class Lines:
    """Lines running across an image: each column's shift that lays them flat, and their bands of sheared rows."""

    shifts: np.ndarray
    bands: list[tuple[int, int]]


def remove_ruled_lines(soft_ink: np.ndarray, frame: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, int]:
    """``soft_ink`` (white on black, any ink above the paper's noise) with ruled lines (rows) and squared paper's
    columns taken out, and how many lines were; a stroke crossing or touching a line is kept across it.

    ``frame`` (top, bottom, left, right) is where the photo lies in ``soft_ink`` when it was padded with paper:
    its lines run from side to side of the photo, not of the padding."""
    height, width = soft_ink.shape
    top, bottom, left, right = frame if frame is not None else (0, height, 0, width)
    if min(bottom - top, right - left) < RULE_MIN_SIDE:
        return soft_ink, 0
    inked = soft_ink > 0
    across, down = _find_lines(soft_ink, inked, (left, right)), _find_lines(soft_ink.T, inked.T, (top, bottom))
    if across is None and down is None:
        return soft_ink, 0
    if down is None:  # squared paper whose columns stop short of an edge (the sheet turned, or its grid's margin)
        down = _find_lines(soft_ink.T, inked.T, (top, bottom), spacing=_spacing(across.bands))
    elif across is None:
        across = _find_lines(soft_ink, inked, (left, right), spacing=_spacing(down.bands))
    printed = np.zeros(soft_ink.shape, dtype=bool)
    if across is not None:
        printed |= _band_mask(across, soft_ink.shape)
    if down is not None:
        printed |= _band_mask(down, soft_ink.shape[::-1]).T
    writing = inked & ~printed
    cleaned = soft_ink
    if across is not None:
        cleaned = erase_lines(cleaned, writing, across)
    if down is not None:
        cleaned = erase_lines(cleaned.T, writing.T, down).T
    count = sum(len(lines.bands) for lines in (across, down) if lines is not None)
    return np.ascontiguousarray(cleaned, dtype=np.float32), count


def _find_lines(
    soft_ink: np.ndarray, inked: np.ndarray, sides: tuple[int, int], spacing: float | None = None
) -> Lines | None:
    """The lines running across ``soft_ink`` between the photo's ``sides`` (first and last column), or None when
    there are none (or they are no ruling). With ``spacing`` (the other way's lines', on squared paper) they need
    reach only one side, and must come at about that spacing."""
    height, width = inked.shape
    first, last = sides
    span = last - first
    edge = max(2, round(_SIDE_BAND * span))
    reaching = [np.count_nonzero(inked[:, first : first + edge].any(axis=1))]
    reaching.append(np.count_nonzero(inked[:, last - edge : last].any(axis=1)))
    if (max(reaching) if spacing else min(reaching)) < 2:
        return None  # printed lines run from side to side; a drawing on a canvas rarely touches either side
    if np.count_nonzero(inked) < RULE_MIN_SPAN * span:
        return None
    shifts = level_shifts(inked)
    coverage = shear(inked, shifts).sum(axis=1) / span
    bands = _line_bands(coverage, height)
    if not bands:
        return None
    if _regularly_spaced(bands):
        if spacing and not 1 / _SQUARED_SPREAD <= _spacing(bands) / spacing <= _SQUARED_SPREAD:
            return None
        return Lines(shifts, _with_cut_lines(bands, coverage, height))
    if spacing:
        return None
    whole = all(coverage[start:stop].max() >= RULE_LONE_SPAN for start, stop in bands)
    if whole and _fainter_than_writing(shear(soft_ink, shifts), bands):
        return Lines(shifts, bands)
    return None


def level_shifts(inked: np.ndarray) -> np.ndarray:
    """Each column's shift (rows up) that lays the straightest lines in ``inked`` flat: the slope, up to
    ``RULE_MAX_TURN`` degrees either way, along which the ink piles up into the fewest rows."""
    rows, columns = np.nonzero(inked)
    if rows.size > _MAX_SAMPLES:
        keep = np.linspace(0, rows.size - 1, _MAX_SAMPLES).astype(np.intp)
        rows, columns = rows[keep], columns[keep]
    slope = _flattest_slope(rows, columns, _COARSE_SLOPES)
    slope = _flattest_slope(rows, columns, (slope + _FINE_STEPS) / (1 - slope * _FINE_STEPS))
    return np.rint(np.arange(inked.shape[1]) * slope).astype(np.intp)


def _flattest_slope(rows: np.ndarray, columns: np.ndarray, slopes: np.ndarray) -> float:
    """The slope along which the ink piles up most into a few rows (the sum of squared row counts)."""
    energies = []
    for slope in slopes:
        projected = rows - np.rint(columns * slope).astype(np.intp)
        counts = np.bincount(projected - projected.min()).astype(np.float64)
        energies.append(float(counts @ counts))
    return float(slopes[int(np.argmax(energies))])


def shear(image: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each column moved up by its shift, on a canvas tall enough to keep every pixel."""
    height, width = image.shape
    sheared = np.zeros((height + int(shifts.max() - shifts.min()), width), dtype=image.dtype)
    sheared[_sheared_rows(height, shifts), np.arange(width)[None, :]] = image
    return sheared


def _sheared_rows(height: int, shifts: np.ndarray) -> np.ndarray:
    return np.arange(height)[:, None] - shifts[None, :] + int(shifts.max())


def _line_bands(coverage: np.ndarray, length: int) -> list[tuple[int, int]]:
    """The (start, stop) of each thin band whose ink spans the image."""
    widest = max(_MIN_WIDTH_PIXELS, round(RULE_MAX_WIDTH * length))
    bands: list[tuple[int, int]] = []
    for start, stop in true_runs(coverage >= RULE_MIN_SPAN):
        if stop - start > widest:
            continue
        for _ in range(_FRINGE):  # the line's blurred edge, not a stroke lying along it
            start -= int(start > 0 and coverage[start - 1] >= _EDGE)
            stop += int(stop < coverage.size and coverage[stop] >= _EDGE)
        if not bands or start > bands[-1][1]:
            bands.append((start, stop))
    return bands


def _with_cut_lines(bands: list[tuple[int, int]], coverage: np.ndarray, length: int) -> list[tuple[int, int]]:
    """The ruling's bands and, one spacing on from either end, lines the frame cuts short (a turned photo's first
    and last lines leave it through its top or bottom): any run of ink there that is as thin."""
    widest = max(_MIN_WIDTH_PIXELS, round(RULE_MAX_WIDTH * length))
    spacing = _spacing(bands)
    found = list(bands)
    for direction, (start, stop) in ((-1, bands[0]), (1, bands[-1])):
        centre = (start + stop) / 2 + direction * spacing
        while 0 <= centre < coverage.size:
            low, high = max(0, round(centre - widest)), min(coverage.size, round(centre + widest) + 1)
            runs = [(low + a, low + b) for a, b in true_runs(coverage[low:high] >= _CUT_LINE_SPAN) if b - a <= widest]
            if not runs:
                break
            found.append(max(runs, key=lambda run: coverage[run[0] : run[1]].sum()))
            centre += direction * spacing
    return sorted(found)


def true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    changes = np.flatnonzero(np.diff(np.concatenate([[False], flags, [False]]).astype(np.int8)))
    return list(zip(changes[0::2].tolist(), changes[1::2].tolist(), strict=True))


def _regularly_spaced(bands: list[tuple[int, int]]) -> bool:
    """Whether the bands are a ruling: at least ``RULE_MIN_LINES``, evenly spaced, far apart for the widest's width
    (each at most ``RULE_MAX_WIDTH``; a wide photo's squared columns are as close as its rows)."""
    if len(bands) < RULE_MIN_LINES:
        return False
    gaps = np.diff([(start + stop) / 2 for start, stop in bands])
    widest = max(_MIN_WIDTH_PIXELS, max(stop - start for start, stop in bands))
    return bool(gaps.min() >= 3 * widest and gaps.max() <= RULE_SPACING_SPREAD * gaps.min())


def _spacing(bands: list[tuple[int, int]]) -> float:
    """The median distance between neighbouring lines' middles."""
    return float(np.median(np.diff([(start + stop) / 2 for start, stop in bands]))) if len(bands) > 1 else 0.0


def _fainter_than_writing(sheared: np.ndarray, bands: list[tuple[int, int]]) -> bool:
    """Whether every band's ink is much fainter than the writing's: a printed line under pen or pencil, where a thin
    pen's own stroke (a tightly cropped 7's bar) is as dark as the rest of the digit."""
    in_bands = np.zeros(sheared.shape[0], dtype=bool)
    for start, stop in bands:
        in_bands[start:stop] = True
    writing = sheared[~in_bands]
    writing = writing[writing > 0]
    if writing.size < _MIN_WRITING_PIXELS:
        return False
    level = float(np.quantile(writing, 0.9))
    for start, stop in bands:
        line = sheared[start:stop]
        if float(np.median(line[line > 0])) > RULE_FAINT * level:
            return False
    return True


def _band_mask(lines: Lines, shape: tuple[int, int]) -> np.ndarray:
    """The pixels of the lines' bands, in the image's own rows and columns."""
    height, width = shape
    in_bands = np.zeros(height + int(lines.shifts.max() - lines.shifts.min()), dtype=bool)
    for start, stop in lines.bands:
        in_bands[start:stop] = True
    return in_bands[_sheared_rows(height, lines.shifts)]


def erase_lines(soft_ink: np.ndarray, writing: np.ndarray, lines: Lines) -> np.ndarray:
    """The lines' bands and halos cleared, except for ink well over the line's own (writing on top of it), and
    under a stroke of writing that reaches a band from above or below: there the band is filled from the ink on
    either side of it."""
    height, width = soft_ink.shape
    sheared, sheared_writing = shear(soft_ink, lines.shifts), shear(writing, lines.shifts)
    rows = sheared.shape[0]
    for start, stop in lines.bands:
        low, high = max(start - _HALO, 0), min(stop + _HALO, rows)
        peaks = sheared[start:stop].max(axis=0)
        level = float(np.median(peaks[peaks > 0])) if peaks.any() else 0.0  # the line's own ink, at its middle
        sides = [row for row in (low - 1, high) if 0 <= row < rows]
        stroke = np.zeros(width, dtype=bool)
        for row in sides:
            stroke |= sheared_writing[row] & (sheared[row] > 0.5 * level)
        filled = np.max([sheared[row] for row in sides], axis=0) if sides else np.zeros(width, np.float32)
        band = sheared[low:high]
        over_line = band > _WRITING_OVER_LINE * level
        sheared[low:high] = np.where(over_line, band, np.where(stroke, filled, np.float32(0.0))[None, :])
    return sheared[_sheared_rows(height, lines.shifts), np.arange(width)[None, :]]
