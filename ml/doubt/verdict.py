"""Every prediction's verdict: a digit, unsure between two classes, or not a digit (and why, in plain words).

A :class:`DoubtJudge` is built once per loaded model: it reads the decision fitted for that model from its card
(``ModelMetadata.doubt``), or falls back to a default that needs no fitting (the input checks shipped with Digit Lab
plus a floor on the model's top probability) and says that it is uncalibrated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from ml.doubt.detector import detector_available
from ml.doubt.features import FEATURES, MODEL_FREE_FEATURES
from ml.doubt.marks import detached_dot
from ml.doubt.scorer import DoubtSettings, Scorer

logger = logging.getLogger(__name__)

DIGIT, UNSURE, NOT_A_DIGIT = "digit", "unsure", "not_a_digit"
STATUSES = (DIGIT, UNSURE, NOT_A_DIGIT)
UNSURE_RUNNER_UP = 0.2  # "unsure: 4 or 9" when the second class has at least this probability ...
UNSURE_TOP = 0.8  # ... and the first at most this
DEFAULT_CONFIDENCE_FLOOR = 0.5  # an uncalibrated model's guess below this top probability is refused
DIGIT_CLASS_NAMES = [str(digit) for digit in range(10)]

REASON_NOISE = "looks like noise or scattered specks, not a digit"
REASON_MARKS = "several separate marks, not one digit"
REASON_UNDECIDED = "the model cannot tell which digit this is"
REASON_SHAPE = "looks like a letter, a shape or a scribble, not a digit"
REASON_DOT = 'a separate dot above or below the stroke, as in "!", "?" or "i": no digit has one'


@dataclass(frozen=True)
class Verdict:
    """What to say about one prediction."""

    status: str  # "digit" | "unsure" | "not_a_digit"
    prediction: int  # the top class (shown greyed out when not a digit)
    runner_up: int | None  # the close second for "unsure" (e.g. 4 or 9)
    confidence: float  # the (calibrated) top probability
    score: float  # the not-a-digit score compared with the threshold (0 = surely a digit, 1 = surely not)
    threshold: float  # the score at and above which the input is refused
    reason: str | None  # plain words: why refused, or what the doubt is
    calibrated: bool  # False: a default decision, not fitted for this model

    def as_dict(self) -> dict:
        """Plain data (JSON-ready)."""
        return asdict(self)

    def as_record(self, label: Callable[[int], object] = int) -> dict:
        """What ``digitlab predict --json`` prints beside a prediction (see :func:`verdict_record`)."""
        return verdict_record(self.as_dict(), label)

    @property
    def refused(self) -> bool:
        """Whether this says "not a digit"."""
        return self.status == NOT_A_DIGIT

    def headline(self, class_names: list[str] | None = None) -> str:
        """One short line: "not a digit", "unsure: 4 or 9", or the class."""
        name = _namer(class_names)
        if self.status == NOT_A_DIGIT:
            return "not a digit"
        if self.status == UNSURE and self.runner_up is not None:
            return f"unsure: {name(self.prediction)} or {name(self.runner_up)}"
        return name(self.prediction)


def _namer(class_names: list[str] | None):
    return lambda index: class_names[index] if class_names and 0 <= index < len(class_names) else str(index)


class DoubtJudge:
    """Built once per LoadedModel (reads its card's fitted decision, or a default); cheap per call."""

    def __init__(self, loaded) -> None:
        """``loaded``: an ``ml.models.files.LoadedModel`` (only its metadata is read)."""
        metadata = loaded.metadata
        self.class_names = list(metadata.class_names)
        self.digits = self.class_names == DIGIT_CLASS_NAMES
        self.settings, self.calibrated = self._choose_settings(getattr(metadata, "doubt", None) or {})
        self._scorer = None if self.settings is None else Scorer(self.settings)

    def _choose_settings(self, stored: dict) -> tuple[DoubtSettings | None, bool]:
        self.detector_missing = False
        if stored:
            try:
                settings = DoubtSettings.from_dict(stored)
                if not settings.uses_detector or detector_available():
                    return settings, True
                self.detector_missing = True
            except (KeyError, TypeError, ValueError) as error:
                logger.info("The model card's doubt entry is unusable (%s); using the default.", error)
        if not self.digits:
            return None, False  # input checks are for digits: other classes get only the confidence floor
        if default_settings().uses_detector and not detector_available():
            self.detector_missing = True
            return None, False  # the default reads the detector: without its file only the floor is left
        return default_settings(), False

    @property
    def description(self) -> str:
        """One sentence for the model card and the CLI."""
        if self.calibrated and self.settings is not None:
            method, threshold = self.settings.method, self.settings.threshold
            return f"Not-a-digit decision fitted for this model ({method}; threshold {threshold:.3f})."
        if self.detector_missing:
            return (
                "Not-a-digit decision uncalibrated: the not-a-digit detector file is damaged or missing (reinstall "
                f"Digit Lab), so only a floor of {DEFAULT_CONFIDENCE_FLOOR:.0%} on the top probability is used."
            )
        if self.settings is not None:
            return (
                "Not-a-digit decision uncalibrated: Digit Lab's default input checks and detector, and a floor of "
                f"{DEFAULT_CONFIDENCE_FLOOR:.0%} on the top probability, not fitted for this model."
            )
        return (
            f"Not-a-digit decision uncalibrated: only a floor of {DEFAULT_CONFIDENCE_FLOOR:.0%} on the top probability "
            "(the input checks are for digits)."
        )

    def judge(self, image28: np.ndarray, probabilities: np.ndarray) -> Verdict:
        """The verdict on one (28, 28) image and its (k,) probabilities."""
        return self.judge_batch(np.asarray(image28)[np.newaxis], np.asarray(probabilities)[np.newaxis])[0]

    def judge_batch(
        self,
        images28: np.ndarray,
        probabilities: np.ndarray,
        *,
        marks: bool | Sequence[bool] = True,
        dot_images: np.ndarray | None = None,
    ) -> list[Verdict]:
        """Verdicts on (n, 28, 28) images and their (n, k) probabilities. ``marks`` (for all, or each image): refuse a
        dot apart (:mod:`ml.doubt.marks`); off for a part cut from a number, where a neighbour's fragment can sit over
        a digit. ``dot_images``: where to look for that dot, when not in the images judged (a number's parts are
        judged with their grey levels stretched, which can join a dot to its stroke)."""
        images28 = np.asarray(images28, dtype=np.float32)
        dot_images = images28 if dot_images is None else np.asarray(dot_images, dtype=np.float32)
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if images28.ndim != 3 or probabilities.ndim != 2 or len(images28) != len(probabilities):
            raise ValueError("judge_batch expects (n, 28, 28) images and (n, k) probabilities.")
        if not len(images28):
            return []
        order = np.argsort(-probabilities, axis=1)
        top, second = order[:, 0], order[:, 1] if probabilities.shape[1] > 1 else order[:, 0]
        rows = np.arange(len(probabilities))
        confidence, runner = probabilities[rows, top], probabilities[rows, second]
        if self._scorer is None:
            scores, feature_rows = 1.0 - confidence, None
            threshold = 1.0 - DEFAULT_CONFIDENCE_FLOOR
        else:
            feature_rows = self._scorer.feature_rows(images28, probabilities)
            scores = np.array(self._scorer.scores_from_features(feature_rows), dtype=np.float64)  # ours to mark
            threshold = self.settings.threshold
        marked = np.broadcast_to(np.asarray(marks, dtype=bool), (len(images28),))
        verdicts = []
        for index in range(len(images28)):
            refused = scores[index] >= threshold
            undecided = not refused and not self.calibrated and confidence[index] < DEFAULT_CONFIDENCE_FLOOR
            dotted = marked[index] and self.digits and detached_dot(dot_images[index])  # whatever the score says
            runner_up = None
            if dotted:
                status, reason, scores[index] = NOT_A_DIGIT, REASON_DOT, 1.0
            elif refused:
                status = NOT_A_DIGIT
                reason = _reason(None if feature_rows is None else feature_rows[index], confidence[index])
            elif undecided:  # refused by the uncalibrated model's own doubt, not by the input checks
                status, reason = NOT_A_DIGIT, REASON_UNDECIDED
            elif runner[index] >= UNSURE_RUNNER_UP and confidence[index] <= UNSURE_TOP and second[index] != top[index]:
                status, runner_up = UNSURE, int(second[index])
                name = _namer(self.class_names)
                reason = f"{name(int(top[index]))} and {name(runner_up)} are close"
            else:
                status, reason = DIGIT, None
            verdicts.append(
                Verdict(
                    status=status,
                    prediction=int(top[index]),
                    runner_up=runner_up,
                    confidence=float(confidence[index]),
                    score=float(scores[index]),
                    threshold=float(threshold),
                    reason=reason,
                    calibrated=self.calibrated,
                )
            )
        return verdicts


def verdict_record(verdict: dict, label: Callable[[int], object] = int) -> dict:
    """A verdict (:meth:`Verdict.as_dict`) as ``digitlab predict --json`` prints it, for a digit alone or in a number:
    ``verdict`` ("digit", "unsure" or "not_a_digit"), ``runner_up`` when unsure, ``reason`` when refused or unsure,
    and ``doubt`` (score, threshold, calibrated)."""
    record: dict = {"verdict": verdict["status"]}
    if verdict.get("runner_up") is not None:
        record["runner_up"] = label(int(verdict["runner_up"]))
    if verdict.get("reason") is not None:
        record["reason"] = verdict["reason"]
    record["doubt"] = {
        "score": round(float(verdict["score"]), 6),
        "threshold": round(float(verdict["threshold"]), 6),
        "calibrated": bool(verdict["calibrated"]),
    }
    return record


def _reason(row: np.ndarray | None, confidence: float) -> str:
    """Why an input was refused, in plain words, from its input checks."""
    if row is None:
        return REASON_UNDECIDED
    value = dict(zip(FEATURES, row, strict=True))
    if value["grey_share"] > 0.45 or (value["components"] >= 4 and value["largest_component_share"] < 0.5):
        return REASON_NOISE
    if value["components"] >= 3:
        return REASON_MARKS
    if confidence < DEFAULT_CONFIDENCE_FLOOR:
        return REASON_UNDECIDED
    return REASON_SHAPE


@lru_cache(maxsize=1)
def default_settings() -> DoubtSettings:
    """Digit Lab's shipped input checks (no model's probabilities in them), fitted by ``tools/fit_doubt_default.py``."""
    from ml.doubt.default_checks import INPUT_CHECKS

    settings = DoubtSettings.from_dict(INPUT_CHECKS)
    if settings.uses_probabilities or not set(settings.feature_names) <= set(MODEL_FREE_FEATURES):
        raise ValueError("the default input checks must not read a model's probabilities")
    return settings
