"""Read a whole number: find each digit by recognition, and read each as one digit is read.

The ink's digit candidates (components, or the canvas's pen strokes, grouped by x-overlap) are cut at candidate
columns and regrouped; every candidate part is preprocessed as a single digit (:func:`crop_to_mnist`) and scored by
the model in one batch, and a dynamic program picks the best reading (:mod:`ml.numbers.lattice`). A lone digit is
read exactly as today: one part, the model's single-image fast path. A reading of several parts whose parts do not
look like whole digits (:data:`WHOLE_DIGITS_FLOOR`) is not a number: a letter or a scribble cut into pieces.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from ml.doubt.verdict import DIGIT, NOT_A_DIGIT, UNSURE, UNSURE_RUNNER_UP, UNSURE_TOP, verdict_record
from ml.numbers.lattice import DEFAULT_WEIGHTS, Candidate, SegmentationWeights, digit_height, segment
from ml.numbers.parts import log_whole_digit
from ml.numbers.segment import (
    PenStroke,
    Region,
    component_regions,
    split_touching,
    stroke_mask,
    stroke_regions,
)
from ml.numbers.separators import Separator, find_image_separators, find_separators, placed, with_separators
from ml.preprocess.pipeline import InkMap, Stage, find_ink

NUMBER_PART_THRESHOLD = 0.999
"""A part of a number of several parts is refused only at this not-a-digit score or above (or the judge's own
threshold, if higher): one refused part loses the whole number. Chosen by ``python tools/fit_number_judge.py`` (600
numbers) on numbers of MNIST digits held out of the model's training and the same numbers with a generated letter,
shape or scribble in place of one digit, the parts judged through :func:`judge_view`: the highest threshold that
refuses at most 3 points fewer of those drawings than the judge's own 0.9937 (82.8 % against 83.7 %); it spoils
1.03 % of the numbers read right, as 0.995 does (1.21 % at 0.99). Before the parts scored their log-odds: the same
threshold, 79.8 % refused, 0.70 % spoiled; before the decision learnt noise in a digit's box: 0.99 (300 numbers)."""
WHOLE_DIGITS_FLOOR = -1.5
"""A reading of several parts is a number only when its parts' mean log P(one whole digit) (the part scorer's,
:mod:`ml.numbers.parts`) is at least this; below it the parts look like pieces cut from one drawing (a letter, a shape,
a scribble or noise read as "14" or "1111"), and the reading is not a number. Chosen by ``python
tools/fit_number_check.py`` (800 numbers of held-out MNIST validation digits and by pen, 200 drawings of each of
the not-a-digit fit's tuning families), again since pieces are cut from 0.55 of their height: the highest floor that
refuses at most 0.5 % of the numbers (0.38 %, 0.25 % of them read right; 0.13 % with cuts from 0.75). Drawings of those
families read as a number: letters drawn 77.5 -> 0 %, printed letters 68.5 -> 0 %, symbols 20.0 -> 5.5 % (a "%" reads
"010": its pieces cut apart look whole), shapes 47.0 -> 0 %, scribbles 32.0 -> 0 %, noise 57.0 -> 0 %, digit
fragments 23.0 -> 2.5 % (the part scorer learnt that no part of other drawings of these families is a digit; the
benchmark's held-out drawings are in the README). (Before the scorer learnt from drawings: -0.5; before the parts
scored their log-odds: -1.0.)"""
SHARED_STROKE = 0.2
"""Read by pen strokes, two parts that each hold this share of the same two strokes are not two digits
(:func:`parts_share_strokes`)."""
NOT_A_NUMBER = "its parts look like pieces of one drawing, not whole digits: a letter, a shape or a scribble?"
JUDGE_INK_RANGE = (0.1, 0.65)
"""A candidate part is shown to the judge with its grey levels stretched so that this range becomes 0-1
(:func:`judge_view`); the classifier reads the part as it is. An enlarged handwritten digit keeps soft grey edges
through the single-digit preprocessing (grey share 0.42, against 0.30 for MNIST's own digits), which the judge reads as
noise or an odd shape. Chosen on whole digits cut from numbers of MNIST *training* digits and the detector's generated
non-digits put through the same enlargement: refused 1.12 -> 0.43 % of the digits, 90.8 -> 90.4 % of the
non-digits (measured with the detector before it learnt digits cut from numbers in this view, not measured again)."""


class DigitScorer(Protocol):
    """What the reader needs of a model: :class:`ml.inference.predictor.Predictor` has it."""

    class_names: list[str]

    def predict_one(self, image28: np.ndarray) -> np.ndarray: ...

    def predict_batch(self, images28: np.ndarray, batch_size: int = 256, calibrated: bool = True) -> np.ndarray: ...


class VerdictJudge(Protocol):
    """The not-a-digit judge (``ml.doubt``): one verdict per digit image and its probabilities."""

    def judge_batch(
        self,
        images28: np.ndarray,
        probabilities: np.ndarray,
        *,
        marks: bool | Sequence[bool] = True,
        dot_images: np.ndarray | None = None,
    ) -> list: ...


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
        if self.verdict is not None:  # as for a digit alone: "verdict", "runner_up"?, "reason"?, "doubt"
            record.update(verdict_record(self.verdict))
        return record


@dataclass(frozen=True)
class NumberReading:
    """A number read from an image: its digits left to right, and the number (None with a reason when unreadable)."""

    digits: tuple[DigitReading, ...]
    number: str | None
    reason: str | None
    blank: bool = False
    split: bool = field(default=False)  # some digits were cut apart by recognition (they touched)
    not_a_number: bool = False  # its parts look like pieces of one drawing (not whole digits, or crossing strokes)
    wholeness: float = 0.0  # the parts' mean log P(one whole digit) (:func:`wholeness`; 0 for one part)
    separators: tuple[Separator, ...] = ()  # points, commas, colons and dashes between the digits (canvas strokes)

    def as_dict(self, digit_classes: bool = True) -> dict:
        """``{"number", "reason"?, "digits": [...]}`` as ``digitlab predict --number --json`` prints it; with the
        canvas's strokes also ``"separators": [...]`` when there are some."""
        record: dict = {"number": self.number}
        if self.reason is not None:
            record["reason"] = self.reason
        record["digits"] = [digit.as_dict(digit_classes) for digit in self.digits]
        if self.separators:
            record["separators"] = [
                {"mark": mark.mark, "box": [mark.box[1], mark.box[0], mark.box[3], mark.box[2]]}
                for mark in self.separators
            ]
        return record


def read_number(
    image: np.ndarray,
    scorer: DigitScorer,
    *,
    strokes: Sequence[PenStroke] | None = None,
    judge: VerdictJudge | None = None,
    polarity: str = "auto",
    ink: InkMap | None = None,
    weights: SegmentationWeights | None = None,
    part_threshold: float | None = NUMBER_PART_THRESHOLD,
) -> NumberReading:
    """Read every digit of ``image`` (any image :func:`ml.preprocess.pipeline.to_mnist` takes) left to right.

    ``strokes`` (the canvas's pen strokes, in the image's pixels) group the ink by stroke; without them connected
    components do. ``judge`` (``ml.doubt``) may refuse parts that are not digits: the number is then None and the
    reason names the part; in a number of several parts, only at ``part_threshold`` or above (None: the judge's
    own threshold). ``ink``: :func:`find_ink`'s result when the caller already has it; ``weights``: the
    segmentation's constants (tuning only).
    """
    ink = ink if ink is not None else find_ink(image, polarity=polarity, canvas=strokes is not None)
    if ink.soft_ink is None:
        return NumberReading((), None, ink.reason or "no ink found", blank=True)
    separators: list[Separator] = []
    found_ink, found_strokes = ink, strokes
    if _in_ink_pixels(strokes, ink):  # a point, a comma, a colon or a dash between digits is a pen stroke of its own
        separators, strokes = find_separators(ink.soft_ink, strokes)
    elif strokes is None and ink.with_specks is not None:  # an opened image: a piece of ink of its own
        separators, digits_ink = find_image_separators(ink.soft_ink, ink.with_specks)
        ink = replace(ink, soft_ink=digits_ink) if separators else ink
    weights = weights or DEFAULT_WEIGHTS
    reading = _read_digits(ink, strokes, separators, scorer, judge, weights, part_threshold)
    if reading is None:  # a mark not between two digits read is no punctuation: the ink is read as it was
        reading = _read_digits(found_ink, found_strokes, [], scorer, judge, weights, part_threshold)
    return reading


def _read_digits(
    ink: InkMap,
    strokes: Sequence[PenStroke] | None,
    separators: Sequence[Separator],
    scorer: DigitScorer,
    judge: VerdictJudge | None,
    weights: SegmentationWeights,
    part_threshold: float | None,
) -> NumberReading | None:
    """:func:`read_number` once the separators are taken out of ``ink`` or ``strokes``; None when one of them does
    not stand between two digits read."""
    regions, typical = number_regions(ink, strokes)
    doubt = None if judge is None else (lambda images, rows: _doubt_scores(judge, images, rows))
    candidates, images, probabilities = segment(regions, scorer.predict_batch, weights, typical, doubt, log_whole_digit)
    marks = placed(separators, [part.centre for part in candidates])
    if len(marks) < len(separators):
        return None
    pieces = [_is_whole_region(candidate.box, regions) for candidate in candidates]  # each read whole, not cut
    split = len(candidates) > len(regions) or not all(pieces)
    if len(candidates) > 1:  # the batch's own scores (a lone digit takes the single-image path, exactly as today)
        pen_marks = [piece and _in_ink_pixels(strokes, ink) for piece in pieces]  # a dot apart: a tap of the pen
        readings = _read_parts(candidates, images, ink, scorer, judge, probabilities[: len(candidates)], pen_marks)
        if part_threshold is not None:
            readings = [_as_number_part(reading, part_threshold) for reading in readings]
    else:
        readings = _read_parts(candidates, images, ink, scorer, judge)
    if not readings:
        return NumberReading((), None, "no digit found", blank=True)
    number, reason = _number_of(readings, scorer.class_names)
    marks = tuple(replace(mark, box=_input_tlhw(mark.box, ink)) for mark in marks)
    if number is not None and marks:
        number = with_separators(number, marks)
    whole = wholeness(candidates) if len(candidates) > 1 else 0.0
    shared = _in_ink_pixels(strokes, ink) and parts_share_strokes(candidates, strokes, ink.soft_ink.shape)
    pieces_of_one_drawing = whole < WHOLE_DIGITS_FLOOR or shared
    if pieces_of_one_drawing and split and judge is not None and not math.isinf(weights.cut_from):
        uncut_weights = replace(weights, cut_from=math.inf)  # cut where no digits meet: read again, every piece whole
        uncut = _read_digits(ink, strokes, separators, scorer, judge, uncut_weights, part_threshold)
        if _names_a_refused_part(uncut):  # an "X" cut into two "1"s is named as not a digit; never a number
            return uncut
    if number is not None and pieces_of_one_drawing:  # else a part refused by the judge is named first
        return NumberReading(tuple(readings), None, NOT_A_NUMBER, split=split, not_a_number=True, wholeness=whole)
    return NumberReading(tuple(readings), number, reason, split=split, wholeness=whole, separators=marks)


def _names_a_refused_part(reading: NumberReading | None) -> bool:
    """Whether a reading is no number because the judge refuses one of its parts."""
    return reading is not None and reading.number is None and not all(digit.is_digit for digit in reading.digits)


def wholeness(parts: Sequence[Candidate]) -> float:
    """The parts' mean log P(one whole digit) (0 when the part scorer did not score them)."""
    scored = [part.whole for part in parts if part.whole is not None]
    return float(np.mean(scored)) if scored else 0.0


def parts_share_strokes(
    parts: Sequence[Candidate], strokes: Sequence[PenStroke], shape: tuple[int, int], share: float = SHARED_STROKE
) -> bool:
    """Whether two parts each hold at least ``share`` of the ink of the same two pen strokes (``shape``: the ink map's):
    strokes that cross were cut apart (an "x" drawn wide read as "75"), which digits written side by side never need."""
    if len(parts) < 2:
        return False
    masks = [stroke_mask(shape, [stroke]) for stroke in strokes if not stroke.erases and stroke.points]
    totals = np.array([max(int(mask.sum()), 1) for mask in masks])
    held = np.zeros((len(parts), len(masks)))
    for row, part in enumerate(parts):
        top, left, height, width = part.box
        on_part = part.crop > 0
        for column, mask in enumerate(masks):
            held[row, column] = np.sum(mask[top : top + height, left : left + width] & on_part)
    holds = held / totals >= share
    return any(np.sum(holds[first] & holds[second]) >= 2 for first in range(len(parts)) for second in range(first))


def number_regions(ink: InkMap, strokes: Sequence[PenStroke] | None = None) -> tuple[list[Region], float]:
    """The digit candidates of an ink map and the number's digit height: by ``strokes`` when given in its pixels,
    else by components, pieces of which that only touch are parted (:func:`split_touching`)."""
    if _in_ink_pixels(strokes, ink):
        regions = stroke_regions(ink.soft_ink, strokes)
        if regions:
            return regions, digit_height(regions)
    regions = component_regions(ink.soft_ink)
    typical = digit_height(regions)
    return split_touching(regions, typical), typical


def _in_ink_pixels(strokes: Sequence[PenStroke] | None, ink: InkMap) -> bool:
    """Whether there are pen strokes and the ink map is in their pixels (not reduced or cropped for work)."""
    return bool(strokes) and ink.scale == 1.0 and ink.offset == (0, 0)


def judge_view(images28: np.ndarray) -> np.ndarray:
    """Candidate parts as the judge sees them: grey levels stretched so that :data:`JUDGE_INK_RANGE` becomes 0-1."""
    low, high = JUDGE_INK_RANGE
    return np.clip((np.asarray(images28, dtype=np.float32) - low) / (high - low), 0.0, 1.0)


def judge_parts(
    judge: VerdictJudge, images28: np.ndarray, probabilities: np.ndarray, whole: Sequence[bool] | bool = False
) -> list:
    """The judge's verdict on each part of a number of several parts, seen through :func:`judge_view`; the rule on a
    dot apart only for the ``whole`` ones: the canvas's parts that are whole groups of pen strokes, looked for in the
    part's own 28x28, as for one digit (the view's stretched grey can join a dot to its stem). A piece of a
    neighbour can lie over a digit cut from a number, and a scan's stray mark over a digit of an image."""
    return judge.judge_batch(judge_view(images28), probabilities, marks=whole, dot_images=images28)


def _score(verdict) -> float:
    """A verdict's not-a-digit score (0 when it carries none)."""
    score = verdict.get("score") if isinstance(verdict, dict) else getattr(verdict, "score", None)
    return 0.0 if score is None else float(score)


def _doubt_scores(judge: VerdictJudge, images28: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The judge's not-a-digit score of each candidate part (:func:`judge_parts`; 0 where a verdict carries none)."""
    return np.array([_score(verdict) for verdict in judge_parts(judge, images28, probabilities)])


def refused_as_part(verdict: dict | None, part_threshold: float = NUMBER_PART_THRESHOLD) -> bool:
    """Whether the judge's verdict (``as_dict``) refuses a part of a number of several parts: "not a digit" at
    ``part_threshold`` or above (or the judge's own threshold, if higher), or at all from an uncalibrated judge (its
    floor on the confidence stands)."""
    if not verdict or verdict.get("status") != NOT_A_DIGIT:
        return False
    if not verdict.get("calibrated"):
        return True
    return float(verdict.get("score", 1.0)) >= max(float(verdict.get("threshold", 1.0)), part_threshold)


def _as_number_part(reading: DigitReading, part_threshold: float) -> DigitReading:
    """A refused part of a number kept as a digit unless :func:`refused_as_part` says it stays refused."""
    verdict = reading.verdict
    if not verdict or verdict.get("status") != NOT_A_DIGIT or refused_as_part(verdict, part_threshold):
        return reading
    order = np.argsort(-reading.probabilities)
    top, second = reading.probabilities[order[0]], reading.probabilities[order[1]] if len(order) > 1 else 0.0
    unsure = len(order) > 1 and second >= UNSURE_RUNNER_UP and top <= UNSURE_TOP
    why = f"{reading.label} and {int(order[1])} are close" if unsure else None
    kept = {**verdict, "status": UNSURE if unsure else DIGIT, "runner_up": int(order[1]) if unsure else None}
    return replace(reading, verdict={**kept, "reason": why})


def _is_whole_region(box: tuple[int, int, int, int], regions: Sequence) -> bool:
    """Whether a part's box is one region's box (read whole, not cut)."""
    return any(box == (region.top, region.left, region.height, region.width) for region in regions)


def _read_parts(
    candidates: Sequence[Candidate],
    images28: np.ndarray,
    ink: InkMap,
    scorer: DigitScorer,
    judge: VerdictJudge | None,
    probabilities: np.ndarray | None = None,
    whole: Sequence[bool] | bool = False,
) -> list[DigitReading]:
    """The parts as digits: each already preprocessed as one digit is (its 28x28 and stages from the lattice); scored
    with the model's single-image fast path unless the parts' ``probabilities`` (the segmentation's batch) are given,
    and then judged as parts of a number (:func:`judge_parts`; ``whole``: which are whole groups of pen strokes)."""
    prepared = [
        (image28, candidate.stages, candidate.box) for candidate, image28 in zip(candidates, images28, strict=True)
    ]
    if not prepared:
        return []
    if probabilities is not None:
        rows = np.asarray(probabilities)
    else:
        rows = np.stack([scorer.predict_one(image28) for image28, *_ in prepared])
    verdicts: list[dict | None] = [None] * len(prepared)
    if judge is not None:
        shown = np.stack([image28 for image28, *_ in prepared])
        judged = judge_parts(judge, shown, rows, whole) if probabilities is not None else judge.judge_batch(shown, rows)
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


def _input_tlhw(box: tuple[int, int, int, int], ink: InkMap) -> tuple[int, int, int, int]:
    """(top, left, height, width) in the ink map -> the same in the input image's pixels."""
    x, y, width, height = _input_box(box, ink)
    return y, x, height, width


def _number_of(readings: list[DigitReading], class_names: Sequence[str]) -> tuple[str | None, str | None]:
    """The number the digits spell, or None and why not."""
    for position, reading in enumerate(readings, start=1):
        if not reading.is_digit:
            why = (reading.verdict or {}).get("reason") or "not a digit"
            return None, f"part {position} of {len(readings)} is not a digit ({why})"
    if not all(len(str(name)) == 1 and str(name).isdigit() for name in class_names):
        return None, "this model's classes are not digits"
    return "".join(reading.label for reading in readings), None
