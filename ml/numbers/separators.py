"""Points, commas, colons and dashes written between the digits of a number on the canvas: "3.14", "1,5", "10:30",
"12-34".

On the canvas a tap of the pen is a stroke of its own: a small mark low on the line between two digits is a point (a
comma when it trails down below the line), two marks one above the other, at mid-height and low, are a colon, and a
short level stroke at mid-height is a dash.
They are taken out before the digits are found (they used to join a neighbouring digit, and "3.14" read "314") and
put back into the number between the digits they stand between. An opened image is read as before: such a dot is
too small beside a digit to survive the preprocessing's speck removal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ml.numbers.segment import PenStroke, Region, stroke_regions

MARK_SIZE = 0.35
"""A mark spans less than this share of the digits' height each way (its points' spread plus the pen's width)."""
LOW = 0.6
"""A point's or a comma's centre lies below this share of the digits' band (0 its top, 1 its bottom)."""
MIDDLE = (0.2, 0.75)
"""A colon's upper mark's centre lies within this share of the band."""
DASH = 0.8
"""A dash is a stroke at most this share of the digits' height long, a tenth as tall (besides the pen's width)."""
COMMA = 1.5
"""A low mark whose pen moved at least this many times as far down as across, and over half its width down, reaching
below the band, is a comma (a tap hardly moves)."""


@dataclass(frozen=True)
class Separator:
    """A point, a comma, a colon or a dash between two digits: its mark, where it stands (x of its centre, and its box
    ``(top, left, height, width)`` in the drawing's pixels) and, once the digits are read, how many stand before it."""

    mark: str
    centre_x: float
    box: tuple[int, int, int, int]
    after: int = 0


@dataclass(frozen=True)
class _Extent:
    top: float
    bottom: float
    left: float
    right: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def centre(self) -> tuple[float, float]:
        return (self.top + self.bottom) / 2, (self.left + self.right) / 2


def find_separators(soft_ink: np.ndarray, strokes: Sequence[PenStroke]) -> tuple[list[Separator], list[PenStroke]]:
    """The separators among ``strokes`` (in ``soft_ink``'s pixels), left to right, and the strokes left for the
    digits. Marks that stand anywhere else (above the line, beside a single digit, outside the number) stay strokes."""
    pens = [stroke for stroke in strokes if not stroke.erases and len(stroke.points) > 0]
    extents = [_extent(stroke) for stroke in pens]
    if len(pens) < 3:
        return [], list(strokes)
    tall = [extent.height for extent in extents]
    typical = float(np.median([height for height in tall if height >= 0.5 * max(tall)]))
    small = [
        max(extent.height, extent.width) < MARK_SIZE * typical or _level_stroke(stroke, typical)
        for stroke, extent in zip(pens, extents, strict=True)
    ]
    if not any(small):
        return [], list(strokes)  # no mark: the digits' regions are not found twice
    others = [stroke for stroke in strokes if stroke.erases or not stroke.points]
    digits = [stroke for stroke, tiny in zip(pens, small, strict=True) if not tiny] + others
    regions = stroke_regions(soft_ink, digits)
    marks = [(stroke, extent) for stroke, extent, tiny in zip(pens, extents, small, strict=True) if tiny]
    if len(regions) < 2 or not marks:
        return [], list(strokes)
    band_top = float(np.median([region.top for region in regions]))
    band_bottom = float(np.median([region.top + region.height for region in regions]))
    band = max(band_bottom - band_top, 1.0)

    def level(extent: _Extent) -> float:
        return (extent.centre[0] - band_top) / band

    between = [(stroke, extent) for stroke, extent in marks if _between_digits(extent, regions)]
    used: set[int] = set()
    separators = []
    for index, (stroke, extent) in enumerate(between):
        if index in used:
            continue
        if _level_stroke(stroke, typical) and MIDDLE[0] <= level(extent) <= MIDDLE[1]:
            used.add(index)
            separators.append(_separator("-", extent))
            continue
        if level(extent) < LOW or max(extent.height, extent.width) >= MARK_SIZE * typical:
            continue
        above = [
            other
            for other, (_, upper) in enumerate(between)
            if other != index
            and other not in used
            and MIDDLE[0] <= level(upper) <= MIDDLE[1]
            and upper.left < extent.right
            and extent.left < upper.right
        ]
        if above:
            upper = between[above[0]][1]
            used.update((index, above[0]))
            separators.append(_separator(":", _joined(extent, upper)))
            continue
        used.add(index)
        separators.append(_separator("," if _trails_down(stroke, extent, band_bottom) else ".", extent))
    taken = {id(between[index][0]) for index in used}
    kept = [stroke for stroke in strokes if id(stroke) not in taken]
    return sorted(separators, key=lambda separator: separator.centre_x), kept


def placed(separators: Sequence[Separator], centres: Sequence[float]) -> tuple[Separator, ...]:
    """``separators`` with how many of the digits read (their centres in x) stand before each."""
    return tuple(replace(mark, after=sum(centre < mark.centre_x for centre in centres)) for mark in separators)


def with_separators(digits: str, separators: Sequence[Separator]) -> str:
    """``digits`` (one character per digit read) with each :func:`placed` separator put where it stands."""
    return "".join(
        "".join(mark.mark for mark in separators if mark.after == index) + digit for index, digit in enumerate(digits)
    )


def _extent(stroke: PenStroke) -> _Extent:
    xs = [point[0] for point in stroke.points]
    ys = [point[1] for point in stroke.points]
    half = stroke.width / 2.0
    return _Extent(min(ys) - half, max(ys) + half, min(xs) - half, max(xs) + half)


def _travel(stroke: PenStroke) -> tuple[float, float]:
    """How far the pen moved across and down, its width aside."""
    xs = [point[0] for point in stroke.points]
    ys = [point[1] for point in stroke.points]
    return max(xs) - min(xs), max(ys) - min(ys)


def _level_stroke(stroke: PenStroke, typical: float) -> bool:
    """Whether a stroke is a dash's shape: level, short, and moved across more than a pen's width."""
    across, down = _travel(stroke)
    return stroke.width < across <= DASH * typical and down <= 0.1 * typical


def _trails_down(stroke: PenStroke, extent: _Extent, band_bottom: float) -> bool:
    """Whether a low mark is a comma: the pen moved down more than across and reached below the digits' band."""
    across, down = _travel(stroke)
    return down >= COMMA * across and down > 0.5 * stroke.width and extent.bottom > band_bottom


def _between_digits(extent: _Extent, regions: Sequence[Region]) -> bool:
    """Whether a mark lies clear of every digit in x, with a digit on either side."""
    spans = [(region.left, region.left + region.width) for region in regions]
    if any(left < extent.right and extent.left < right for left, right in spans):
        return False
    return any(right <= extent.left for _, right in spans) and any(left >= extent.right for left, _ in spans)


def _joined(first: _Extent, second: _Extent) -> _Extent:
    return _Extent(
        min(first.top, second.top),
        max(first.bottom, second.bottom),
        min(first.left, second.left),
        max(first.right, second.right),
    )


def _separator(mark: str, extent: _Extent) -> Separator:
    top, left = int(round(extent.top)), int(round(extent.left))
    box = (top, left, max(1, int(round(extent.height))), max(1, int(round(extent.width))))
    return Separator(mark, extent.centre[1], box)
