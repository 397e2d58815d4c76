"""Points, commas, colons and dashes written between the digits of a number: "3.14", "1,5", "10:30", "12-34".

On the canvas a tap of the pen is a stroke of its own: a small mark low on the line between two digits is a point (a
comma when it trails down below the line), two marks one above the other, at mid-height and low, are a colon, and a
short level stroke at mid-height is a dash.
They are taken out before the digits are found (they used to join a neighbouring digit, and "3.14" read "314") and
put back into the number between the digits they stand between. In an opened image the same rules read its pieces
of ink, from before the preprocessing dropped its specks (a pen's dot holds a few percent of a digit's ink, and was
dropped as one); there a mark must be as wide as the digits' pen and about as dark as their ink.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from ml.numbers.segment import PenStroke, stroke_regions
from ml.preprocess.components import PEN_DOT, label_components, pen_width

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


@dataclass(frozen=True)
class _Mark:
    """A pen stroke or a piece of ink that may be a separator: where it lies, how far the pen moved across and down
    in it (a tap hardly moves), and the pen's width."""

    extent: _Extent
    across: float
    down: float
    pen: float


def find_separators(soft_ink: np.ndarray, strokes: Sequence[PenStroke]) -> tuple[list[Separator], list[PenStroke]]:
    """The separators among ``strokes`` (in ``soft_ink``'s pixels), left to right, and the strokes left for the
    digits. Marks that stand anywhere else (above the line, beside a single digit, outside the number) stay strokes."""
    pens = [stroke for stroke in strokes if not stroke.erases and len(stroke.points) > 0]
    if len(pens) < 3:
        return [], list(strokes)
    marks = [_stroke_mark(stroke) for stroke in pens]
    typical = _typical_height([mark.extent.height for mark in marks])
    small = [_small(mark, typical) for mark in marks]
    if not any(small):
        return [], list(strokes)  # no mark: the digits' regions are not found twice
    others = [stroke for stroke in strokes if stroke.erases or not stroke.points]
    digits = [stroke for stroke, tiny in zip(pens, small, strict=True) if not tiny] + others
    candidates = [(stroke, mark) for stroke, mark, tiny in zip(pens, marks, small, strict=True) if tiny]
    regions = stroke_regions(soft_ink, digits)
    boxes = [
        _Extent(region.top, region.top + region.height, region.left, region.left + region.width) for region in regions
    ]
    separators, used = _separators_among([mark for _, mark in candidates], boxes, typical)
    taken = {id(candidates[index][0]) for index in used}
    return separators, [stroke for stroke in strokes if id(stroke) not in taken]


def find_image_separators(soft_ink: np.ndarray, with_specks: np.ndarray) -> tuple[list[Separator], np.ndarray]:
    """The separators of an opened image, left to right, and its ink left for the digits: :func:`find_separators`'s
    rules on its pieces of ink (``with_specks``: the ink before the preprocessing dropped its specks, where a pen's dot
    still is). A piece counts as a mark only when it is as wide as the digits' pen and about as dark as their ink, so
    that dust and the paper's grain are not read as points, and there are none when such pieces outnumber the pieces
    of digits."""
    labels, count = label_components(with_specks > 0)
    if count < 3:
        return [], soft_ink
    slices = ndimage.find_objects(labels)
    heights = [float(piece[0].stop - piece[0].start) for piece in slices]
    typical = _typical_height(heights)
    low = [index for index, height in enumerate(heights) if height < MARK_SIZE * typical]  # a point's or a dash's
    if not low:
        return [], soft_ink
    tall = [index for index, height in enumerate(heights) if height >= MARK_SIZE * typical]
    big = np.isin(labels, [index + 1 for index in tall])
    pen = pen_width(big)
    darkness = float(np.median(with_specks[big]))
    marks, keys = [], []
    for index in low:
        rows, columns = slices[index]
        extent = _piece_extent(slices[index])
        mark = _Mark(extent, max(0.0, extent.width - pen), max(0.0, extent.height - pen), pen)
        peak = float(with_specks[rows, columns][labels[rows, columns] == index + 1].max())
        inked = min(mark.extent.height, mark.extent.width) >= PEN_DOT * pen and peak >= PEN_DOT * darkness
        if inked and _small(mark, typical):
            marks.append(mark)
            keys.append(index + 1)
    if not marks or len(marks) > len(tall):  # more marks than pieces of digits: the paper's grain or a pattern
        return [], soft_ink
    separators, used = _separators_among(marks, [_piece_extent(slices[index]) for index in tall], typical)
    if not separators:
        return [], soft_ink
    return separators, np.where(np.isin(labels, [keys[index] for index in used]), np.float32(0.0), soft_ink)


def _separators_among(marks: Sequence[_Mark], digits: Sequence[_Extent], typical: float) -> tuple[list, set[int]]:
    """The separators that ``marks`` make between the ``digits`` (their ink's boxes), left to right, and which marks
    they use."""
    if len(digits) < 2:
        return [], set()
    band_top = float(np.median([digit.top for digit in digits]))
    band_bottom = float(np.median([digit.bottom for digit in digits]))
    band = max(band_bottom - band_top, 1.0)

    def level(extent: _Extent) -> float:
        return (extent.centre[0] - band_top) / band

    between = [index for index, mark in enumerate(marks) if _between_digits(mark.extent, digits)]
    used: set[int] = set()
    separators = []
    for index in between:
        mark, extent = marks[index], marks[index].extent
        if index in used:
            continue
        if _level(mark, typical) and MIDDLE[0] <= level(extent) <= MIDDLE[1]:
            used.add(index)
            separators.append(_separator("-", extent))
            continue
        if level(extent) < LOW or max(extent.height, extent.width) >= MARK_SIZE * typical:
            continue
        above = [
            other
            for other in between
            if other != index
            and other not in used
            and MIDDLE[0] <= level(marks[other].extent) <= MIDDLE[1]
            and marks[other].extent.left < extent.right
            and extent.left < marks[other].extent.right
        ]
        if above:
            used.update((index, above[0]))
            separators.append(_separator(":", _joined(extent, marks[above[0]].extent)))
            continue
        used.add(index)
        separators.append(_separator("," if _trails_down(mark, band_bottom) else ".", extent))
    return sorted(separators, key=lambda separator: separator.centre_x), used


def placed(separators: Sequence[Separator], centres: Sequence[float]) -> tuple[Separator, ...]:
    """``separators`` with how many of the digits read (their centres in x) stand before each; only those between
    two digits read, and one to a gap (a second mark in a gap is no punctuation: both are left out)."""
    marks = [replace(mark, after=sum(centre < mark.centre_x for centre in centres)) for mark in separators]
    gaps = Counter(mark.after for mark in marks)
    return tuple(mark for mark in marks if 0 < mark.after < len(centres) and gaps[mark.after] == 1)


def with_separators(digits: str, separators: Sequence[Separator]) -> str:
    """``digits`` (one character per digit read) with each :func:`placed` separator put where it stands."""
    return "".join(
        "".join(mark.mark for mark in separators if mark.after == index) + digit for index, digit in enumerate(digits)
    )


def _stroke_mark(stroke: PenStroke) -> _Mark:
    """A pen stroke as a mark: its points' spread plus the pen's width, and how far the pen moved across and down."""
    xs = [point[0] for point in stroke.points]
    ys = [point[1] for point in stroke.points]
    half = stroke.width / 2.0
    extent = _Extent(min(ys) - half, max(ys) + half, min(xs) - half, max(xs) + half)
    return _Mark(extent, max(xs) - min(xs), max(ys) - min(ys), stroke.width)


def _piece_extent(piece: tuple[slice, slice]) -> _Extent:
    """A piece of ink's box, from its rows' and columns' slices."""
    rows, columns = piece
    return _Extent(rows.start, rows.stop, columns.start, columns.stop)


def _typical_height(heights: Sequence[float]) -> float:
    """A digit's height: the median of the heights of at least half the tallest."""
    return float(np.median([height for height in heights if height >= 0.5 * max(heights)]))


def _small(mark: _Mark, typical: float) -> bool:
    """Whether a mark may be a separator: small each way, or a dash's shape."""
    return max(mark.extent.height, mark.extent.width) < MARK_SIZE * typical or _level(mark, typical)


def _level(mark: _Mark, typical: float) -> bool:
    """Whether a mark is a dash's shape: level, short, and moved across more than a pen's width."""
    return mark.pen < mark.across <= DASH * typical and mark.down <= 0.1 * typical


def _trails_down(mark: _Mark, band_bottom: float) -> bool:
    """Whether a low mark is a comma: the pen moved down more than across and reached below the digits' band."""
    return mark.down >= COMMA * mark.across and mark.down > 0.5 * mark.pen and mark.extent.bottom > band_bottom


def _between_digits(extent: _Extent, digits: Sequence[_Extent]) -> bool:
    """Whether a mark lies clear of every digit in x, with a digit on either side."""
    if any(digit.left < extent.right and extent.left < digit.right for digit in digits):
        return False
    return any(digit.right <= extent.left for digit in digits) and any(digit.left >= extent.right for digit in digits)


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
