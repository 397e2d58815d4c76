"""Read a whole number: find each digit, split touching digits by recognition, and read each as one digit is read.

Each part goes through the single-digit preprocessing (:func:`ml.preprocess.pipeline.crop_to_mnist`) and the
model's fast path. A region wider than a digit is cut where the classifier is surest: each cut at a candidate column
(little ink crossed) is scored by both sides' log-confidences, a prior on a digit's width and the ink it crosses,
against the region read whole (all candidates scored in one batch); a side still too wide is cut again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ml.numbers.segment import (
    PenStroke,
    Region,
    component_regions,
    crossing_ink,
    cut_candidates,
    segment_ink,
    stroke_regions,
)
from ml.preprocess.pipeline import InkMap, Stage, crop_to_mnist, find_ink

SPLIT_FROM_ASPECT = 0.95
SPLIT_FROM_WIDTH = 1.45
"""In a number, only regions this many times wider than the other digits are tried for cuts (touching pairs are
about twice as wide; a wide single digit cut in two was the commonest error)."""
TALL_REGION = 1.25
"""Heights are compared with the number's digit height at most this many times (digits on different baselines
that touch make a region taller than any digit)."""
"""Regions wider than this times their height may hold touching digits and are tried for cuts."""
WIDE_DIGIT_ASPECT = 1.1
"""A digit's width rarely passes this share of its height; beyond it a part's log-score drops as a Gaussian tail of
spread :data:`WIDTH_SPREAD`. (A per-class tail from MNIST's widths cut more lone wide digits in two.)"""
WIDTH_SPREAD = 0.25
WIDER_THAN_OTHERS = 1.4
"""In a number of two or more regions, a part wider than this times the others' median width is penalised too
(spread :data:`WIDTH_SPREAD`): two touching digits are about twice as wide as one."""
SHORT_DIGIT = 0.7
"""A part shorter than this share of the number's digit height is penalised (spread :data:`HEIGHT_SPREAD`)."""
HEIGHT_SPREAD = 0.12
NARROW_DIGIT = 0.35
NARROW_NOT_ONE = 1.0
"""Log-score cost of a part narrower than :data:`NARROW_DIGIT` heights read as anything but a "1"."""
CUT_PENALTY = 1.0
"""Log-score cost of a cut per unit of ink crossed (a share of the region's height)."""
SPLIT_GAIN = 0.2
LONE_SPLIT_GAIN = 2.0
"""The gain a cut needs when the ink is one region: a lone digit must read as today (0.5 % of MNIST test digits
were cut in two with :data:`SPLIT_GAIN`)."""
"""A split must beat the region read whole by this much log-score."""
NARROWEST_PART = 0.12
"""Candidate parts narrower than this share of the region's height are not tried."""
WIDEST_PART = 1.25
SHORTEST_PART = 0.4
"""A part whose ink is shorter than this share of the region's height is a piece of a digit, not a digit."""
MAX_CUT_CANDIDATES = 12
MAX_SPLIT_DEPTH = 3
MAX_DIGITS = 12


class DigitScorer(Protocol):
    """What the reader needs of a model: :class:`ml.inference.predictor.Predictor` has it."""

    class_names: list[str]

    def predict_one(self, image28: np.ndarray) -> np.ndarray: ...

    def predict_batch(self, images28: np.ndarray, batch_size: int = 256, calibrated: bool = True) -> np.ndarray: ...


class VerdictJudge(Protocol):
    """The not-a-digit judge (``ml.doubt``): one verdict per digit image and its probabilities."""

    def judge_batch(self, images28: np.ndarray, probabilities: np.ndarray) -> list: ...


@dataclass(frozen=True)
class DigitReading:
    """One digit of a number: where it is (x, y, w, h in the input's pixels), what the model saw and said."""

    box: tuple[int, int, int, int]
    image28: np.ndarray
    stages: tuple[Stage, ...]
    probabilities: np.ndarray
    label: str
    verdict: dict | None = None

    @property
    def prediction(self) -> int:
        """The winning class's index."""
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        """The winning class's probability."""
        return float(np.max(self.probabilities))

    @property
    def is_digit(self) -> bool:
        """False when the not-a-digit judge refused this part."""
        return self.verdict is None or self.verdict.get("status") != "not_a_digit"

    def as_dict(self, digit_classes: bool) -> dict:
        """The CLI's JSON for this digit (the class as an int for digit models, its name otherwise)."""
        record: dict = {
            "box": list(self.box),
            "prediction": self.prediction if digit_classes else self.label,
            "confidence": round(self.confidence, 6),
            "probabilities": [round(float(value), 6) for value in self.probabilities],
        }
        if self.verdict is not None:
            record["verdict"] = self.verdict
        return record


@dataclass(frozen=True)
class NumberReading:
    """A number read from an image: its digits left to right, and the number (None with a reason when unreadable)."""

    digits: tuple[DigitReading, ...]
    number: str | None
    reason: str | None
    blank: bool = False
    split: bool = field(default=False)  # some digits were cut apart by recognition (they touched)

    def as_dict(self, digit_classes: bool = True) -> dict:
        """``{"number", "reason"?, "digits": [...]}`` as ``digitlab predict --number --json`` prints it."""
        record: dict = {"number": self.number}
        if self.reason is not None:
            record["reason"] = self.reason
        record["digits"] = [digit.as_dict(digit_classes) for digit in self.digits]
        return record


def read_number(
    image: np.ndarray,
    scorer: DigitScorer,
    *,
    strokes: Sequence[PenStroke] | None = None,
    judge: VerdictJudge | None = None,
    polarity: str = "auto",
    ink: InkMap | None = None,
) -> NumberReading:
    """Read every digit of ``image`` (any image :func:`ml.preprocess.pipeline.to_mnist` takes) left to right.

    ``strokes`` (the canvas's pen strokes, in the image's pixels) group the ink by stroke; without them connected
    components do. ``judge`` (``ml.doubt``) may refuse parts that are not digits: the number is then None and the
    reason names the part. ``ink``: :func:`find_ink`'s result when the caller already has it.
    """
    ink = ink if ink is not None else find_ink(image, polarity=polarity)
    if ink.soft_ink is None:
        return NumberReading((), None, ink.reason or "no ink found", blank=True)
    if strokes and ink.scale == 1.0 and ink.offset == (0, 0):
        regions = stroke_regions(ink.soft_ink, strokes) or component_regions(ink.soft_ink)
    else:
        regions = component_regions(ink.soft_ink)
    parts: list[tuple[np.ndarray, tuple[int, int, int, int]]] = []  # crop, (top, left, height, width) in the ink
    split = False
    typical = typical_height(regions)
    usual_width = typical_width(regions) if len(regions) > 1 else None
    for region in regions:
        wide = region.width > SPLIT_FROM_ASPECT * min(region.height, TALL_REGION * typical)
        if usual_width is not None:  # in a number: only regions clearly wider than their neighbours
            wide = wide and region.width > SPLIT_FROM_WIDTH * usual_width
        gain = SPLIT_GAIN if len(regions) > 1 else LONE_SPLIT_GAIN  # a lone region is most often one digit
        pieces = split_region(region, scorer, typical, gain=gain, usual_width=usual_width) if wide else None
        if pieces is None:
            parts.append((region.ink, (region.top, region.left, region.height, region.width)))
            continue
        split = split or len(pieces) > 1
        for crop, (top, left, height, width) in pieces:
            parts.append((crop, (region.top + top, region.left + left, height, width)))
    parts = parts[:MAX_DIGITS]
    readings = _read_parts(parts, ink, scorer, judge)
    if not readings:
        return NumberReading((), None, "no digit found", blank=True)
    number, reason = _number_of(readings, scorer.class_names)
    return NumberReading(tuple(readings), number, reason, split=split)


def typical_height(regions: Sequence[Region]) -> float:
    """A digit's height in this number: the median of the regions' heights (fragments left out)."""
    if not regions:
        return 1.0
    heights = [region.height for region in regions]
    return float(np.median([height for height in heights if height >= 0.5 * max(heights)]))


def typical_width(regions: Sequence[Region]) -> float | None:
    """A digit's width in this number: the median width of its regions that are not as narrow as a "1" (of two,
    the narrower: the other may be two touching digits)."""
    widths = [region.width for region in regions if region.width >= NARROW_DIGIT * region.height]
    if not widths:
        return None
    return float(min(widths)) if len(widths) == 2 else float(np.median(widths))


def split_region(
    region: Region,
    scorer: DigitScorer,
    typical: float | None = None,
    depth: int = 0,
    gain: float = 0.0,
    usual_width: float | None = None,
) -> list[tuple[np.ndarray, tuple[int, int, int, int]]] | None:
    """The best way to cut a wide region into digits, or None when it reads best whole.

    Tries one cut at each candidate column (both sides read as digits in one batch) against the region read whole;
    a side still wider than a digit is split again. ``typical``: a digit's height in this number (the region's
    own height when None); ``gain``: how much more log-score a cut needs than the region read whole;
    ``usual_width``: the width of this number's other digits (regions twice as wide are likely two digits). Each
    piece is (crop, (top, left, height, width) in the region).
    """
    height = min(region.height, TALL_REGION * typical) if typical else region.height
    whole = segment_ink(region, 0, region.width)
    if whole is None:
        return None
    spacing = max(1.0, height / 14.0)
    narrowest = NARROWEST_PART * height
    cuts = [
        cut
        for cut in cut_candidates(region, spacing, MAX_CUT_CANDIDATES)
        if narrowest <= cut <= region.width - narrowest
    ]
    pieces: list[tuple[np.ndarray, tuple[int, int, int, int]]] = [whole]
    images: list[np.ndarray] = []
    whole_image, _ = crop_to_mnist(whole[0])
    if whole_image is None:
        return None
    images.append(whole_image)
    tried: list[tuple[int, int, int]] = []  # cut, index of the left piece, index of the right piece
    for cut in cuts:
        sides = [segment_ink(region, 0, cut), segment_ink(region, cut, region.width)]
        if any(side is None or side[1][2] < SHORTEST_PART * height for side in sides):
            continue
        side_images = [crop_to_mnist(side[0])[0] for side in sides]  # type: ignore[index]
        if any(image is None for image in side_images):
            continue
        tried.append((cut, len(pieces), len(pieces) + 1))
        pieces.extend(sides)  # type: ignore[arg-type]
        images.extend(side_images)  # type: ignore[arg-type]
    if not tried:
        return None
    probabilities = scorer.predict_batch(np.stack(images))
    scores = [_part_score(row, piece[1], height, usual_width) for row, piece in zip(probabilities, pieces, strict=True)]
    best_cut, best_score = None, scores[0] + gain
    for cut, left_index, right_index in tried:
        score = scores[left_index] + scores[right_index] - CUT_PENALTY * crossing_ink(region, cut)
        if score > best_score:
            best_cut, best_score = (cut, left_index, right_index), score
    if best_cut is None:
        return None
    result: list[tuple[np.ndarray, tuple[int, int, int, int]]] = []
    for index in best_cut[1:]:
        crop, (top, left, piece_height, piece_width) = pieces[index]
        sub_region = Region(top, left, crop)
        deeper = None
        if depth < MAX_SPLIT_DEPTH and piece_width > SPLIT_FROM_ASPECT * min(piece_height, height):
            deeper = split_region(sub_region, scorer, height, depth + 1, SPLIT_GAIN, usual_width)
        if deeper is None:
            result.append((crop, (top, left, piece_height, piece_width)))
        else:
            result.extend((inner, (top + y, left + x, h, w)) for inner, (y, x, h, w) in deeper)
    return result


def _part_score(
    probabilities: np.ndarray, box: tuple[int, int, int, int], typical: float, usual_width: float | None = None
) -> float:
    """Log-confidence of a candidate part, less priors on its shape: too wide for one digit or than this number's
    digits, too short for a digit of this number, or narrow as only a "1" is (widths against the height, at least
    3/4 of a digit's)."""
    _, _, height, width = box
    aspect = width / max(height, 0.75 * typical, 1.0)
    confidence = float(np.max(probabilities))
    winner = int(np.argmax(probabilities))
    wide = max(0.0, aspect - WIDE_DIGIT_ASPECT) / WIDTH_SPREAD
    short = max(0.0, SHORT_DIGIT - height / max(typical, 1.0)) / HEIGHT_SPREAD
    narrow = NARROW_NOT_ONE if aspect < NARROW_DIGIT and winner != 1 else 0.0
    wider = 0.0
    if usual_width:
        wider = max(0.0, width / usual_width - WIDER_THAN_OTHERS) / WIDTH_SPREAD
    return math.log(max(confidence, 1e-6)) - 0.5 * (wide * wide + short * short + wider * wider) - narrow


def _read_parts(
    parts: list[tuple[np.ndarray, tuple[int, int, int, int]]],
    ink: InkMap,
    scorer: DigitScorer,
    judge: VerdictJudge | None,
) -> list[DigitReading]:
    """Preprocess and score each part as one digit is, with the model's single-image fast path."""
    prepared = []
    for crop, box in parts:
        image28, stages = crop_to_mnist(crop)
        if image28 is not None:
            prepared.append((image28, stages, box))
    if not prepared:
        return []
    rows = np.stack([scorer.predict_one(image28) for image28, _, _ in prepared])
    verdicts: list[dict | None] = [None] * len(prepared)
    if judge is not None:
        judged = judge.judge_batch(np.stack([image28 for image28, _, _ in prepared]), rows)
        verdicts = [verdict.as_dict() if hasattr(verdict, "as_dict") else dict(verdict) for verdict in judged]
    names = list(scorer.class_names)
    readings = []
    for (image28, stages, box), row, verdict in zip(prepared, rows, verdicts, strict=True):
        winner = int(np.argmax(row))
        readings.append(
            DigitReading(
                box=_input_box(box, ink),
                image28=image28,
                stages=stages,
                probabilities=np.asarray(row, dtype=np.float64),
                label=names[winner] if winner < len(names) else str(winner),
                verdict=verdict,
            )
        )
    return readings


def _input_box(box: tuple[int, int, int, int], ink: InkMap) -> tuple[int, int, int, int]:
    """(top, left, height, width) in the ink map -> (x, y, w, h) in the input image's pixels."""
    top, left, height, width = box
    row_offset, column_offset = ink.offset
    x = (left + column_offset) * ink.scale
    y = (top + row_offset) * ink.scale
    return (
        max(0, round(x)),
        max(0, round(y)),
        max(1, round(width * ink.scale)),
        max(1, round(height * ink.scale)),
    )


def _number_of(readings: list[DigitReading], class_names: Sequence[str]) -> tuple[str | None, str | None]:
    """The number the digits spell, or None and why not."""
    for position, reading in enumerate(readings, start=1):
        if not reading.is_digit:
            why = (reading.verdict or {}).get("reason") or "not a digit"
            return None, f"part {position} of {len(readings)} is not a digit ({why})"
    if not all(len(str(name)) == 1 and str(name).isdigit() for name in class_names):
        return None, "this model's classes are not digits"
    return "".join(reading.label for reading in readings), None
