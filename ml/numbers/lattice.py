"""Recognition-driven segmentation: candidate cuts, candidate parts, and the best left-to-right reading.

The ink's digit candidates (:mod:`ml.numbers.segment`: components or pen strokes grouped by x-overlap) are cut
further at candidate columns (:mod:`ml.numbers.cuts`: projection valleys and the valleys of the upper and lower
contours) into *atoms*; where a straight cut crosses much ink, a cut that follows the cheapest path near its column
(round a neighbour's overhang, between digits that overlap in x) is offered beside it.
Every run of consecutive atoms that could be one digit is a candidate part; each is preprocessed as a single digit
and scored by the classifier (all in one call). A dynamic program over the atoms then picks the parts whose summed
score is best: the classifier's log-probability of its winner, plus a bonus per digit, less priors on the part's
shape (a class's usual width for its height, a digit's height in this number) and the ink each cut crosses.

Pure numpy: the classifier is a function, so the search is testable without a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ml.numbers.context import number_ink
from ml.numbers.cuts import PATH_FROM, PATH_REACH, PATH_SAVING, cut_columns, cut_path, swept
from ml.numbers.segment import Region, drop_slivers
from ml.preprocess.pipeline import Stage, crop_to_mnist

Classify = Callable[[np.ndarray], np.ndarray]
"""(N, 28, 28) white-on-black images in [0, 1] -> (N, classes) probabilities."""

CLASS_LOG_ASPECT = (
    (-0.094, 0.184),
    (-0.862, 0.437),
    (-0.063, 0.206),
    (-0.213, 0.202),
    (-0.224, 0.201),
    (-0.073, 0.242),
    (-0.302, 0.210),
    (-0.240, 0.206),
    (-0.260, 0.213),
    (-0.366, 0.200),
)
"""Mean and spread of log(width / height) of each digit's ink in 30,000 MNIST training digits."""


@dataclass(frozen=True)
class SegmentationWeights:
    """The search's constants, tuned on numbers composed of MNIST *training* digits
    (``tools/tune_number_segmentation.py --doubt``): with the learned part scorer, its log P(one whole digit) and the
    judge's not-a-digit score carry the choice; the classifier's own log-probability adds nothing (class_weight 0)."""

    digit_bonus: float = 1.0
    """Log-score added per digit read: each part adds a log-probability <= 0, so fewer parts would gain by default."""
    aspect_weight: float = 0.25
    """Weight of the class's width prior, per squared spread beyond :attr:`aspect_free` spreads."""
    aspect_free: float = 1.0
    height_weight: float = 20.0
    """Weight of the squared shortfall of a part's height below :attr:`short_part` of the number's digit height."""
    short_part: float = 0.8
    cut_cost: float = 0.0
    """Log-score cost of each cut made inside a piece of ink."""
    crossing_cost: float = 2.0
    """Log-score cost per unit of ink a cut crosses (the ink in the cut column as a share of the digit height)."""
    merge_cost: float = 1.0
    """Log-score cost of joining two separate pieces of ink into one digit."""
    cut_from: float = 0.55
    """Only pieces of ink at least this wide for their height (:func:`region_aspect`) are cut (0.75 before: a "1"
    touching a narrow neighbour, "13" or "61", was never cut)."""
    squat_cut_weight: float = 0.0
    """Cost of a cut inside a piece of ink, per tenth by which its width over its height (:func:`region_aspect`) falls
    short of :attr:`squat_cut_from`: one wide digit (a 0, a 4, a 6 whose stem stands apart) is rarely as wide as two
    (off since the part scorer learnt that a fragment holds under 85 % of its digit: it keeps such digits whole)."""
    squat_cut_from: float = 1.1
    wider_weight: float = 0.0
    """Weight of the squared excess of a part's width over :attr:`wider_free` times the number's usual digit width."""
    wider_free: float = 1.4
    narrow_not_one: float = 1.0
    """Cost of a part narrower than a third of the digit height read as anything but a "1"."""
    doubt_weight: float = 1.0
    """Weight of log(1 - the not-a-digit score) of a part, when a judge scores the parts."""
    doubt_floor: float = 1e-6
    """1 - the not-a-digit score counts at least this much (a judge's certainty need not rule a part out)."""
    lone_margin: float = 2.0
    """A single piece of ink is cut only when cutting wins by this much (a lone digit reads as it always did)."""
    part_weight: float = 1.0
    """Weight of log P(one whole digit) of a part, when the learned part scorer (:mod:`ml.numbers.parts`) is used."""
    odds_weight: float = 1.0
    """Weight of -log(1 - P(one whole digit)) beside it: at 1 with :attr:`part_weight` 1, each part adds its log-odds of
    being whole, so two fragments no longer outscore the whole digit they come from by the bonus per digit alone (a 6
    read as "1" and "0"). Chosen with :attr:`digit_bonus` (3.5 -> 1.0) on the tuning numbers: 95.2 / 94.2 -> 95.3 /
    94.9 % read exactly (seeds 5 / 7, 1,000 numbers each)."""
    class_weight: float = 0.0
    """Weight of the log-probability of a part's winning class."""


DEFAULT_WEIGHTS = SegmentationWeights()
LONE_PIECE_WEIGHTS = SegmentationWeights(
    digit_bonus=0.5,
    aspect_weight=1.0,
    height_weight=50.0,
    cut_cost=0.5,
    part_weight=0.0,
    class_weight=1.0,
    squat_cut_weight=0.0,
)
"""A single piece of ink (a lone digit, or a number whose digits all touch) is read by the classifier and the shape
priors alone: the part scorer learnt from numbers of several pieces and takes a lone wide digit for two."""
WIDEST_PART = 1.6
"""A candidate part made of several atoms is at most this many digit heights wide."""
MAX_ATOMS_PER_PART = 6
MAX_REGIONS_PER_PART = 2


@dataclass(frozen=True)
class Atom:
    """Columns ``start:stop`` of region ``region`` (a piece of ink the cuts leave whole); where a cut is a path, not
    a column, ``left``/``right`` give the atom's first column and the next atom's first column on each row."""

    region: int
    start: int
    stop: int
    left: np.ndarray | None = field(default=None, compare=False, repr=False)
    right: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Candidate:
    """A possible digit: atoms ``first:stop``, its ink cropped, its box (top, left, height, width) in the ink, and
    the stages of its preprocessing as one digit (:func:`crop_to_mnist`)."""

    first: int
    stop: int
    crop: np.ndarray
    box: tuple[int, int, int, int]
    stages: tuple[Stage, ...] = ()
    whole: float | None = None
    """log P(one whole digit) from the part scorer, on a chosen part once :func:`segment` has scored it."""

    @property
    def centre(self) -> float:
        """The column of its box's centre in the ink: where it stands in the number."""
        return self.box[1] + self.box[3] / 2


@dataclass(frozen=True)
class Lattice:
    """Atoms left to right, the candidate parts over them, and the cost of each boundary between atoms."""

    atoms: tuple[Atom, ...]
    candidates: tuple[Candidate, ...]
    images: np.ndarray  # (len(candidates), 28, 28): each candidate preprocessed as one digit
    crossing: tuple[float, ...]  # per boundary 1..len(atoms)-1: ink a cut there crosses (0 between regions)
    typical_height: float
    regions: int
    usual_width: float | None  # the width of this number's digits that are not as narrow as a "1"
    aspects: tuple[float, ...]  # per region: its width over its height (at most 1.25 digit heights)
    spans: tuple[tuple[int, int, int, int], ...] = ()  # per region: (top, left, height, width) in the ink
    ink: np.ndarray | None = field(default=None, compare=False, repr=False)  # the regions' ink in one map


def digit_height(regions: Sequence[Region]) -> float:
    """A digit's height in this number: the median height of its regions (fragments under half the tallest left out)."""
    if not regions:
        return 1.0
    heights = [region.height for region in regions]
    return float(np.median([height for height in heights if height >= 0.5 * max(heights)]))


def region_aspect(region: Region, typical: float) -> float:
    """A piece of ink's width over its height (taken as at most 1.25 digit heights: digits on different baselines
    that touch make a piece taller than any digit)."""
    return region.width / max(min(region.height, 1.25 * typical), 1.0)


def build_lattice(
    regions: Sequence[Region], typical: float | None = None, cut_from: float = DEFAULT_WEIGHTS.cut_from
) -> Lattice:
    """The atoms and candidate parts of a number's regions (left to right), each candidate as a 28x28; only pieces
    of ink wider than ``cut_from`` (:func:`region_aspect`) are cut."""
    typical = typical if typical is not None else digit_height(regions)
    aspects = tuple(region_aspect(region, typical) for region in regions)
    atoms: list[Atom] = []
    crossing: list[float] = []
    for index, region in enumerate(regions):
        cuts = cut_columns(region, typical) if aspects[index] >= cut_from else []
        bounds = [np.zeros(region.height, dtype=np.int64)]
        for column in cuts:
            straight = np.full(region.height, column, dtype=np.int64)
            bounds.append(straight)
            if aspects[index] < PATH_FROM:
                continue
            path = cut_path(region.ink, column, max(1, round(PATH_REACH * typical)))
            if np.abs(path - column).max() >= 2 and swept(region.ink, path) <= PATH_SAVING * swept(
                region.ink, straight
            ):
                bounds.append(path)  # a cut round an overhang, as well as the straight one
        bounds.sort(key=lambda bound: (float(bound.mean()), int(bound.min())))
        bounds.append(np.full(region.height, region.width, dtype=np.int64))
        for left, right in zip(bounds[:-1], bounds[1:], strict=True):
            if atoms:
                same = atoms[-1].region == index
                crossing.append(swept(region.ink, left) / max(typical, 1.0) if same else 0.0)
            atoms.append(Atom(index, int(min(left.min(), right.min())), int(max(right.max(), left.max())), left, right))
    candidates: list[Candidate] = []
    images: list[np.ndarray] = []
    for first in range(len(atoms)):
        for stop in range(first + 1, len(atoms) + 1):
            chosen = atoms[first:stop]
            whole = _covers_whole_regions(chosen, regions)
            if not whole and not _may_be_one_digit(chosen, regions, typical):
                continue
            part = _part_ink(chosen, regions, cut=not whole)
            image, stages = crop_to_mnist(part[0]) if part is not None else (None, ())
            if part is None or image is None:
                continue
            candidates.append(Candidate(first, stop, part[0], part[1], stages))
            images.append(image)
    stacked = np.stack(images) if images else np.zeros((0, 28, 28), dtype=np.float32)
    spans = tuple((region.top, region.left, region.height, region.width) for region in regions)
    return Lattice(
        tuple(atoms),
        tuple(candidates),
        stacked,
        tuple(crossing),
        typical,
        len(regions),
        usual_width(regions),
        aspects,
        spans,
        number_ink(regions),
    )


def usual_width(regions: Sequence[Region]) -> float | None:
    """A digit's width in this number: the median width of its regions not as narrow as a "1" (of two, the
    narrower: the other may be two touching digits); None with a single region."""
    widths = [region.width for region in regions if region.width >= 0.35 * region.height]
    if len(regions) < 2 or not widths:
        return None
    return float(min(widths)) if len(widths) == 2 else float(np.median(widths))


def part_score(
    probabilities: np.ndarray,
    box: tuple[int, int, int, int],
    typical: float,
    weights: SegmentationWeights,
    usual: float | None = None,
) -> float:
    """A candidate's log-score as one digit: the winner's log-probability and the digit bonus, less the shape priors
    (the class's usual width for its height, the number's digit height and width, a narrow part not read as "1")."""
    _, _, height, width = box
    winner = int(np.argmax(probabilities))
    score = weights.class_weight * math.log(max(float(probabilities[winner]), 1e-9)) + weights.digit_bonus
    aspect = width / max(height, 0.5 * typical, 1.0)
    if winner < len(CLASS_LOG_ASPECT):
        mean, spread = CLASS_LOG_ASPECT[winner]
        excess = max(0.0, abs(math.log(max(aspect, 1e-3)) - mean) / spread - weights.aspect_free)
        score -= weights.aspect_weight * excess * excess
    if winner != 1 and width < typical / 3.0:
        score -= weights.narrow_not_one
    if usual:
        wider = max(0.0, width / usual - weights.wider_free)
        score -= weights.wider_weight * wider * wider / 0.0625
    shortfall = max(0.0, weights.short_part - height / max(typical, 1.0))
    return score - weights.height_weight * shortfall * shortfall


def best_segmentation(
    lattice: Lattice,
    probabilities: np.ndarray,
    weights: SegmentationWeights = DEFAULT_WEIGHTS,
    doubts: np.ndarray | None = None,
    wholes: np.ndarray | None = None,
) -> list[int]:
    """The candidates (indices, left to right) that cover every atom with the best total score; ``doubts``: each
    candidate's not-a-digit score in [0, 1] (``ml.doubt``), when known; ``wholes``: each candidate's log P(one whole
    digit) from the part scorer (:mod:`ml.numbers.parts`), when used."""
    count = len(lattice.atoms)
    if count == 0 or not lattice.candidates:
        return []
    if lattice.regions == 1 and weights.part_weight:
        weights = replace(LONE_PIECE_WEIGHTS, cut_from=weights.cut_from, lone_margin=weights.lone_margin)
    scores = [
        part_score(row, candidate.box, lattice.typical_height, weights, lattice.usual_width)
        - _joins(candidate, lattice, weights)
        for row, candidate in zip(probabilities, lattice.candidates, strict=True)
    ]
    if doubts is not None:
        scores = [
            score + weights.doubt_weight * math.log(max(1.0 - float(doubt), weights.doubt_floor, 1e-9))
            for score, doubt in zip(scores, doubts, strict=True)
        ]
    if wholes is not None and weights.part_weight:
        scores = [
            score + weights.part_weight * float(whole) + weights.odds_weight * _not_whole_cost(float(whole))
            for score, whole in zip(scores, wholes, strict=True)
        ]
    ending: dict[int, list[int]] = {}
    for index, candidate in enumerate(lattice.candidates):
        ending.setdefault(candidate.stop, []).append(index)
    best = [-math.inf] * (count + 1)
    previous: list[int | None] = [None] * (count + 1)
    best[0] = 0.0
    for stop in range(1, count + 1):
        boundary = _boundary_cost(lattice, stop, weights)
        for index in ending.get(stop, []):
            start = lattice.candidates[index].first
            if best[start] == -math.inf:
                continue
            total = best[start] + scores[index] + boundary
            if total > best[stop]:
                best[stop], previous[stop] = total, index
    path: list[int] = []
    stop = count
    while stop > 0:
        index = previous[stop]
        if index is None:
            return _whole_regions(lattice)  # atoms no candidate covers (inkless after preprocessing)
        path.append(index)
        stop = lattice.candidates[index].first
    path.reverse()
    if lattice.regions == 1 and len(path) > 1:
        whole = _whole_regions(lattice)
        if whole and sum(scores[index] for index in whole) + weights.lone_margin > best[count]:
            return whole
    return path


def segment(
    regions: Sequence[Region],
    classify: Classify,
    weights: SegmentationWeights = DEFAULT_WEIGHTS,
    typical: float | None = None,
    doubt: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    whole: Callable[[Lattice, np.ndarray], np.ndarray] | None = None,
) -> tuple[list[Candidate], np.ndarray, np.ndarray]:
    """The best reading of ``regions``: its parts (with their :attr:`Candidate.whole` when scored), their 28x28
    images and their probabilities (one classifier call).

    ``doubt(images, probabilities)``: each candidate's not-a-digit score in [0, 1], when a judge is at hand;
    ``whole(lattice, probabilities)``: each candidate's log P(one whole digit) (:mod:`ml.numbers.parts`).
    """
    lattice = build_lattice(regions, typical, weights.cut_from)
    if not lattice.candidates:
        return [], np.zeros((0, 28, 28), dtype=np.float32), np.zeros((0, 0))
    probabilities = np.asarray(classify(lattice.images))
    doubts = None if doubt is None or not weights.doubt_weight else np.asarray(doubt(lattice.images, probabilities))
    wholes = None if whole is None or not weights.part_weight else np.asarray(whole(lattice, probabilities))
    chosen = _left_to_right(lattice, best_segmentation(lattice, probabilities, weights, doubts, wholes))
    parts = [lattice.candidates[i] for i in chosen]
    if wholes is not None:
        parts = [replace(part, whole=float(wholes[i])) for part, i in zip(parts, chosen, strict=True)]
    return parts, lattice.images[chosen], probabilities[chosen]


# ------------------------------------------------------------------------------------------- helpers


def _left_to_right(lattice: Lattice, chosen: Sequence[int]) -> list[int]:
    """The chosen candidates in the order of their boxes' centres. The lattice orders pieces of ink by their left
    edges, which puts a "3" before a slanted "1" whose foot reaches under it ("8135" read "8315")."""
    return sorted(chosen, key=lambda index: lattice.candidates[index].centre)


def _not_whole_cost(log_whole: float) -> float:
    """-log(1 - P(one whole digit)) from log P (P taken as at most 1 - 1e-6)."""
    return -math.log1p(-math.exp(min(log_whole, math.log1p(-1e-6))))


def _boundary_cost(lattice: Lattice, stop: int, weights: SegmentationWeights) -> float:
    """The cost of a part ending at atom boundary ``stop`` (a cut inside a piece of ink costs; its end does not)."""
    if stop >= len(lattice.atoms) or lattice.atoms[stop].region != lattice.atoms[stop - 1].region:
        return 0.0
    aspect = lattice.aspects[lattice.atoms[stop].region]
    if aspect < weights.cut_from:
        return -math.inf  # too narrow to hold two digits
    squat = weights.squat_cut_weight * max(0.0, weights.squat_cut_from - aspect) / 0.1
    return -(weights.cut_cost + weights.crossing_cost * lattice.crossing[stop - 1] + squat)


def _joins(candidate: Candidate, lattice: Lattice, weights: SegmentationWeights) -> float:
    """The cost of the separate pieces of ink a candidate joins."""
    regions = {atom.region for atom in lattice.atoms[candidate.first : candidate.stop]}
    return weights.merge_cost * (len(regions) - 1)


def _whole_regions(lattice: Lattice) -> list[int]:
    """Each region read whole (the candidates that cover exactly one region's atoms), or [] if one is missing."""
    path = []
    for region in range(lattice.regions):
        atoms = [i for i, atom in enumerate(lattice.atoms) if atom.region == region]
        match = [
            index
            for index, candidate in enumerate(lattice.candidates)
            if candidate.first == atoms[0] and candidate.stop == atoms[-1] + 1
        ]
        if not match:
            return []
        path.append(match[0])
    return path


def _may_be_one_digit(atoms: Sequence[Atom], regions: Sequence[Region], typical: float) -> bool:
    """Whether a run of atoms is worth scoring as one digit: few atoms, at most two pieces, not too wide."""
    if len(atoms) > MAX_ATOMS_PER_PART or len({atom.region for atom in atoms}) > MAX_REGIONS_PER_PART:
        return False
    left = min(regions[atom.region].left + atom.start for atom in atoms)
    right = max(regions[atom.region].left + atom.stop for atom in atoms)
    return len(atoms) == 1 or right - left <= WIDEST_PART * typical


def _covers_whole_regions(atoms: Sequence[Atom], regions: Sequence[Region]) -> bool:
    """Whether ``atoms`` make up whole regions (no cut inside a piece of ink)."""
    first, last = atoms[0], atoms[-1]
    return first.start == 0 and last.stop == regions[last.region].width


def _part_ink(
    atoms: Sequence[Atom], regions: Sequence[Region], cut: bool
) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """The ink of ``atoms`` (a neighbour's slivers dropped when cut), cropped, and its box in the ink map."""
    pieces = []
    for region_index in sorted({atom.region for atom in atoms}):
        run = [atom for atom in atoms if atom.region == region_index]
        region = regions[region_index]
        start, stop = min(atom.start for atom in run), max(atom.stop for atom in run)
        piece = region.ink[:, start:stop]
        first, last = run[0], run[-1]
        if first.left is not None and last.right is not None and (first.left.any() or last.right.min() < region.width):
            columns = np.arange(start, stop)
            inside = (columns >= first.left[:, None]) & (columns < last.right[:, None])
            piece = np.where(inside, piece, np.float32(0.0))
        pieces.append((region.top, region.left + start, piece))
    top = min(piece[0] for piece in pieces)
    left = min(piece[1] for piece in pieces)
    bottom = max(piece[0] + piece[2].shape[0] for piece in pieces)
    right = max(piece[1] + piece[2].shape[1] for piece in pieces)
    ink = np.zeros((bottom - top, right - left), dtype=np.float32)
    for piece_top, piece_left, piece in pieces:
        row, column = piece_top - top, piece_left - left
        area = ink[row : row + piece.shape[0], column : column + piece.shape[1]]
        np.maximum(area, piece, out=area)
    if cut:
        ink = drop_slivers(ink)
    rows = np.flatnonzero(ink.any(axis=1))
    columns = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    crop_top, crop_bottom = int(rows[0]), int(rows[-1]) + 1
    crop_left, crop_right = int(columns[0]), int(columns[-1]) + 1
    crop = np.ascontiguousarray(ink[crop_top:crop_bottom, crop_left:crop_right])
    return crop, (top + crop_top, left + crop_left, crop_bottom - crop_top, crop_right - crop_left)
