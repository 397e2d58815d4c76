"""Where the digits of a number lie: ink grouped into digit candidates by pen strokes or by connected components.

Pieces that overlap in x belong to one digit (a "5" and its bar, a "4" or a "7" with a bar drawn in two strokes); a
fragment too small to be a digit joins its nearest neighbour. Touching digits stay one wide region here; the
segmentation cuts those by recognition (:mod:`ml.numbers.lattice`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw

from ml.preprocess.components import label_components

SAME_DIGIT_OVERLAP = 0.5
"""Pieces whose x-ranges overlap by this share of the narrower one (at least a third of its height) are one digit."""
CROSSING_OVERLAP = 0.35
"""Strokes whose ink crosses join when this share of the narrower one lies within the other's x-range."""
FRAGMENT_SIZE = 0.4
"""A piece whose longer side is under this share of the typical digit height is a fragment of a neighbour."""
FRAGMENT_INK = 0.12
"""A piece of an image's ink holding under this share of the ink of the number's typical digit (a faint sliver of a
broken stroke, however tall) is a fragment too: in 2,000 numbers of MNIST training digits, 5 pieces under it were
slivers read as a "1" and none was a digit."""
FRAGMENT_REACH = 0.5
"""A fragment joins a neighbour at most this many typical heights away; further ones are dropped as specks."""
SLIVER_SHARE = 0.1
"""Inside a cut, ink pieces under this share of the largest piece are a neighbour's slivers and are dropped."""
SPLIT_LEVELS = (0.0, 0.45, 0.6, 0.75)
"""Ink levels at which a wide piece of ink is looked at again: digits that only touch (their soft edges meet) fall
apart into digit-sized pieces at a higher level than the one that joined them."""
SPLIT_FROM = 0.5
"""Only pieces at least this wide for their height (at most 1.25 digit heights counted) are looked at: a "1" slid
into its neighbour's box makes a narrow piece. On numbers of held-out validation digits, lattices holding a path of
whole digits: 98.4 % from 0.75, 99.65 % from 0.5."""
SPLIT_HEIGHT, SPLIT_INK = 0.45, 0.12
"""A piece the higher level leaves counts as a digit when it is this share of the digit height tall and holds this
share of the piece's ink."""
_STROKE_MASK_MARGIN = 2.0  # document pixels added round a stroke's own width (antialiasing)


class PenStroke(Protocol):
    """A pen stroke as the canvas records it: points in the drawing's pixels, a width, and whether it erases."""

    points: Sequence[tuple[float, float]]
    width: float
    erases: bool


@dataclass(frozen=True)
class Region:
    """One digit candidate: its box in the ink map and its ink there (zero outside the candidate's own pixels)."""

    top: int
    left: int
    ink: np.ndarray

    @property
    def height(self) -> int:
        """Rows of the box."""
        return int(self.ink.shape[0])

    @property
    def width(self) -> int:
        """Columns of the box."""
        return int(self.ink.shape[1])


def component_regions(soft_ink: np.ndarray) -> list[Region]:
    """Digit candidates of an ink map from its connected components, left to right."""
    labels, count = label_components(soft_ink > 0)
    if count == 0:
        return []
    boxes = _label_boxes(labels, count)
    inks = np.bincount(labels.ravel(), weights=soft_ink.ravel(), minlength=count + 1)[1:]
    groups = group_by_x_overlap([(box[2], box[3]) for box in boxes], [box[1] - box[0] for box in boxes])
    groups = _attach_fragments(groups, boxes, inks)
    regions = []
    for members in groups:
        mask = np.isin(labels, np.asarray(members) + 1)
        region = _region_of(np.where(mask, soft_ink, np.float32(0.0)))
        if region is not None:
            regions.append(region)
    return sorted(regions, key=lambda region: region.left)


def stroke_regions(soft_ink: np.ndarray, strokes: Sequence[PenStroke]) -> list[Region]:
    """Digit candidates of a drawing from its pen strokes (grouped by x-overlap), left to right.

    Each group owns the ink its strokes cover; erasing strokes act through the ink itself. Coordinates of the
    strokes are the ink map's pixels.
    """
    pens = [stroke for stroke in strokes if not stroke.erases and len(stroke.points) > 0]
    if not pens:
        return []
    intervals = []
    for stroke in pens:
        xs = [point[0] for point in stroke.points]
        half = stroke.width / 2.0
        intervals.append((min(xs) - half, max(xs) + half))
    heights = []
    for stroke in pens:
        ys = [point[1] for point in stroke.points]
        heights.append(max(ys) - min(ys) + stroke.width)
    masks = [stroke_mask(soft_ink.shape, [stroke]) for stroke in pens]

    def crossing(first: int, second: int) -> bool:
        return bool(np.any(masks[first] & masks[second]))

    regions = []
    for members in group_by_x_overlap(intervals, heights, crossing):
        mask = np.logical_or.reduce([masks[index] for index in members])
        region = _region_of(np.where(mask, soft_ink, np.float32(0.0)))
        if region is not None:
            regions.append(region)
    return _merge_fragment_regions(sorted(regions, key=lambda region: region.left))


def group_by_x_overlap(
    intervals: Sequence[tuple[float, float]],
    heights: Sequence[float],
    crossing: Callable[[int, int], bool] | None = None,
) -> list[list[int]]:
    """Indices grouped so that pieces overlapping in x by :data:`SAME_DIGIT_OVERLAP` of the narrower are together.

    A narrow piece (a "1", a bar seen end on) counts as at least a third of its height wide, so that a "1" that
    only grazes its neighbour stays apart; but a narrow piece that ``crossing(i, j)`` says crosses the other's ink
    and lies mostly within its x-range (a 4's stem at the end of its bar) joins it.
    """
    order = sorted(range(len(intervals)), key=lambda index: intervals[index][0])
    groups: list[tuple[list[int], float, float, float]] = []  # members, left, right, height
    for index in order:
        left, right = intervals[index]
        height = float(heights[index])
        joined = [
            position
            for position, (members, group_left, group_right, group_height) in enumerate(groups)
            if _overlaps((left, right, height), (group_left, group_right, group_height))
            or (
                crossing is not None
                and _mostly_within((left, right), [intervals[member] for member in members])
                and any(crossing(index, member) for member in members)
            )
        ]
        members, new_left, new_right, new_height = [index], left, right, height
        for position in reversed(joined):
            old_members, old_left, old_right, old_height = groups.pop(position)
            members = old_members + members
            new_left, new_right = min(new_left, old_left), max(new_right, old_right)
            new_height = max(new_height, old_height)
        groups.append((sorted(members), new_left, new_right, new_height))
    return [members for members, *_ in sorted(groups, key=lambda group: group[1])]


def _overlaps(first: tuple[float, float, float], second: tuple[float, float, float]) -> bool:
    overlap = min(first[1], second[1]) - max(first[0], second[0])
    if overlap <= 0:
        return False
    narrower = min(max(first[1] - first[0], first[2] / 3.0), max(second[1] - second[0], second[2] / 3.0))
    return overlap >= SAME_DIGIT_OVERLAP * narrower


def _mostly_within(interval: tuple[float, float], others: Sequence[tuple[float, float]]) -> bool:
    """Whether :data:`CROSSING_OVERLAP` of ``interval`` lies within one of ``others``."""
    width = max(interval[1] - interval[0], 1e-6)
    return any(
        min(interval[1], other[1]) - max(interval[0], other[0]) >= CROSSING_OVERLAP * min(width, other[1] - other[0])
        for other in others
    )


def split_touching(regions: Sequence[Region], typical: float) -> list[Region]:
    """``regions`` with each wide one that falls apart at a higher ink level (:data:`SPLIT_LEVELS`) into digit-sized
    pieces replaced by those pieces, each grown back over the fainter ink nearest it; left to right.

    Two digits whose soft edges touch are one component at the reader's ink level but two at a higher one; the
    segmentation may still read the pieces as one digit (a 4 or a 5 whose strokes only touch)."""
    result: list[Region] = []
    for region in regions:
        if region.width < SPLIT_FROM * min(region.height, 1.25 * typical):
            result.append(region)
            continue
        result.extend(_touching_pieces(region, typical) or [region])
    return sorted(result, key=lambda region: region.left)


def _touching_pieces(region: Region, typical: float) -> list[Region] | None:
    """The digit-sized pieces a region falls into at the lowest of :data:`SPLIT_LEVELS` that parts it, or None."""
    total = float(region.ink.sum())
    for level in SPLIT_LEVELS:
        labels, count = label_components(region.ink > level)
        if count < 2:
            continue
        rows = np.arange(region.height)[:, None]
        big = []
        for label in range(1, count + 1):
            member = labels == label
            held = rows[member.any(axis=1)]
            if held.size and held.max() - held.min() + 1 >= SPLIT_HEIGHT * typical:
                if float(region.ink[member].sum()) >= SPLIT_INK * total:
                    big.append(label)
        if len(big) < 2:
            continue
        seeds = np.where(np.isin(labels, big), labels, 0)
        owners = _grown(seeds, region.ink > 0)
        pieces = []
        for label in big:
            ink = np.where(owners == label, region.ink, np.float32(0.0))
            piece = _region_of(ink)
            if piece is not None:
                pieces.append(Region(region.top + piece.top, region.left + piece.left, piece.ink))
        return pieces
    return None


def _grown(seeds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Every cell of ``mask`` labelled as the nearest labelled cell of ``seeds`` (0 = none) is: one distance
    transform, however far the fainter ink reaches."""
    from scipy.ndimage import distance_transform_edt

    _, (rows, columns) = distance_transform_edt(seeds == 0, return_indices=True)
    return np.where(mask, seeds[rows, columns], 0)


def drop_slivers(ink: np.ndarray) -> np.ndarray:
    """``ink`` without its pieces under :data:`SLIVER_SHARE` of the largest (a neighbour's slivers inside a cut)."""
    labels, count = label_components(ink > 0)
    if count < 2:
        return ink
    areas = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]
    kept = np.flatnonzero(areas >= SLIVER_SHARE * areas.max()) + 1
    return ink if kept.size == count else np.where(np.isin(labels, kept), ink, np.float32(0.0))


# ------------------------------------------------------------------------------------------- helpers


def _label_boxes(labels: np.ndarray, count: int) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of each label 1..count."""
    boxes = []
    rows, columns = np.nonzero(labels)
    values = labels[rows, columns] - 1
    for label in range(count):
        member = values == label
        member_rows, member_columns = rows[member], columns[member]
        boxes.append(
            (
                int(member_rows.min()),
                int(member_rows.max()) + 1,
                int(member_columns.min()),
                int(member_columns.max()) + 1,
            )
        )
    return boxes


def _attach_fragments(
    groups: list[list[int]], boxes: list[tuple[int, int, int, int]], inks: np.ndarray | None = None
) -> list[list[int]]:
    """Join groups too small to be a digit (by size, or by ``inks``: each label's ink) to their nearest neighbour in x
    (or drop them when far from any)."""
    spans = [_group_box(members, boxes) for members in groups]
    heights = [bottom - top for top, bottom, _, _ in spans]
    typical = float(np.median([height for height in heights if height >= 0.5 * max(heights)]))
    small = [max(bottom - top, right - left) < FRAGMENT_SIZE * typical for top, bottom, left, right in spans]
    if inks is not None and len(groups) > 1:
        group_inks = [float(np.sum(inks[members])) for members in groups]
        tall = [ink for ink, height in zip(group_inks, heights, strict=True) if height >= 0.5 * max(heights)]
        usual_ink = float(np.median(tall))
        small = [tiny or ink < FRAGMENT_INK * usual_ink for tiny, ink in zip(small, group_inks, strict=True)]
    if not any(small) or all(small):
        return groups
    result = {index: list(members) for index, members in enumerate(groups) if not small[index]}
    for index, members in enumerate(groups):
        if not small[index]:
            continue
        _, _, left, right = spans[index]
        distances = {
            other: max(spans[other][2] - right, left - spans[other][3], 0) for other in result
        }  # horizontal gaps
        nearest = min(distances, key=distances.get)
        if distances[nearest] <= FRAGMENT_REACH * typical:
            result[nearest] = sorted(result[nearest] + members)
    return [result[index] for index in sorted(result)]


def _group_box(members: list[int], boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    chosen = [boxes[index] for index in members]
    return (
        min(box[0] for box in chosen),
        max(box[1] for box in chosen),
        min(box[2] for box in chosen),
        max(box[3] for box in chosen),
    )


def _merge_fragment_regions(regions: list[Region]) -> list[Region]:
    """Stroke groups too small to be a digit (a dot, a flick) join the nearest region; far ones are dropped."""
    if len(regions) < 2:
        return regions
    heights = [region.height for region in regions]
    typical = float(np.median([height for height in heights if height >= 0.5 * max(heights)]))
    small = [max(region.height, region.width) < FRAGMENT_SIZE * typical for region in regions]
    if not any(small) or all(small):
        return regions
    kept = [region for region, tiny in zip(regions, small, strict=True) if not tiny]
    for region, tiny in zip(regions, small, strict=True):
        if not tiny:
            continue
        gaps = [
            max(other.left - (region.left + region.width), region.left - (other.left + other.width), 0)
            for other in kept
        ]
        nearest = int(np.argmin(gaps))
        if gaps[nearest] <= FRAGMENT_REACH * typical:
            kept[nearest] = _union(kept[nearest], region)
    return kept


def _union(first: Region, second: Region) -> Region:
    """One region holding both regions' ink."""
    top, left = min(first.top, second.top), min(first.left, second.left)
    bottom = max(first.top + first.height, second.top + second.height)
    right = max(first.left + first.width, second.left + second.width)
    ink = np.zeros((bottom - top, right - left), dtype=np.float32)
    for region in (first, second):
        rows = slice(region.top - top, region.top - top + region.height)
        columns = slice(region.left - left, region.left - left + region.width)
        ink[rows, columns] = np.maximum(ink[rows, columns], region.ink)
    return Region(top, left, ink)


def _region_of(ink: np.ndarray) -> Region | None:
    """The region holding a full-size ink map's nonzero pixels, or None when it has none."""
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero(ink.any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1
    return Region(top, left, np.ascontiguousarray(ink[top:bottom, left:right], dtype=np.float32))


def stroke_mask(shape: tuple[int, int], strokes: Sequence[PenStroke]) -> np.ndarray:
    """Where ``strokes`` put ink, widened a little for antialiasing, as a boolean mask of ``shape``."""
    picture = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(picture)
    for stroke in strokes:
        radius = stroke.width / 2.0 + _STROKE_MASK_MARGIN
        points = [(float(x), float(y)) for x, y in stroke.points]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(2 * radius)))
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(picture) > 0
