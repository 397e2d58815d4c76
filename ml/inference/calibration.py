"""Calibration as numpy: temperature scaling (softmax(log p / T), T fitted by validation NLL), reliability bins and
the expected calibration error.

For a softmax output, log p equals the logits up to a per-row constant, so softmax(log p / T) is exactly the
temperature scaling of the logits (Guo et al. 2017): the class order, hence the accuracy, never changes. The
training run (``ml.training``), ``digitlab calibrate`` and the evaluation workspace (``ml.evaluation``) all fit it
here, on a validation split, never on the test set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ml.plurals import plural

PROBABILITY_FLOOR = 1e-30  # log(0) is -inf: a probability that underflowed to 0 counts as 1e-30
TEMPERATURE_RANGE = (0.05, 20.0)  # searched on a log scale; beyond it a model is broken rather than miscalibrated
# Fewer validation images than this and the fit is not applied: one temperature fitted on a few images follows their
# one or two confident mistakes (often to a bound of the range), and 15 ECE bins hold too few to judge it.
MIN_CALIBRATION_IMAGES = 100


def log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """(n, k) probabilities -> float64 log-probabilities, zeros floored at ``PROBABILITY_FLOOR``."""
    return np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), PROBABILITY_FLOOR))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in the scores' own precision."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def as_probabilities(raw: np.ndarray, applies_softmax: bool, sigmoid_per_class: bool = False) -> np.ndarray:
    """A model's outputs as probabilities: as they are, or through a float64 softmax for a model that outputs logits.

    ``sigmoid_per_class``: the model ends in one sigmoid per class (``ml.models.classifier.ends_in_sigmoids``), whose
    scores are probabilities that do not sum to 1; they are divided by their sum (rows of no positive sum as they
    are). A softmax over them would squash a sure 0.99 to about 0.2."""
    if applies_softmax:
        return softmax(raw.astype(np.float64))
    if not sigmoid_per_class:
        return raw
    raw = np.asarray(raw)
    totals = raw.sum(axis=-1, keepdims=True)
    usable = np.isfinite(totals) & (totals > 0)
    return (raw / np.where(usable, totals, 1)).astype(raw.dtype, copy=False)


def apply_temperature(probabilities: np.ndarray, temperature: float | None) -> np.ndarray:
    """softmax(log p / T) row by row, in the input's dtype; ``temperature`` None or 1 returns the input unchanged."""
    probabilities = np.asarray(probabilities)
    if temperature is None or temperature == 1.0 or probabilities.size == 0:
        return probabilities
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"A temperature must be a positive finite number, not {temperature!r}.")
    calibrated = softmax(log_probabilities(probabilities) / float(temperature))
    return calibrated.astype(probabilities.dtype if probabilities.dtype.kind == "f" else np.float64)


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray, temperature: float | None = None) -> float:
    """Mean -log p(true class), after temperature scaling when ``temperature`` is given."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return float("nan")
    scores = log_probabilities(probabilities)
    if temperature is not None:
        scores = scores / float(temperature)
    scores = scores - scores.max(axis=1, keepdims=True)
    log_normaliser = np.log(np.exp(scores).sum(axis=1))
    return float(np.mean(log_normaliser - scores[np.arange(len(labels)), labels]))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the NLL of ``labels`` (a validation split, never the test set).

    ``probabilities`` are the model's raw (uncalibrated) outputs, (n, k). The NLL is convex in 1/T, so a bounded
    one-dimensional search over log T finds the optimum; ``TEMPERATURE_RANGE`` bounds it.
    """
    from scipy.optimize import minimize_scalar

    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        raise ValueError("Fitting a temperature needs at least one labelled example.")
    scores = log_probabilities(probabilities)
    rows = np.arange(len(labels))

    def nll_of_log_temperature(log_temperature: float) -> float:
        scaled = scores / math.exp(log_temperature)
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(scaled).sum(axis=1)) - scaled[rows, labels]))

    low, high = (math.log(bound) for bound in TEMPERATURE_RANGE)
    result = minimize_scalar(nll_of_log_temperature, bounds=(low, high), method="bounded", options={"xatol": 1e-5})
    temperature = math.exp(float(result.x))
    if nll_of_log_temperature(0.0) <= nll_of_log_temperature(float(result.x)):
        return 1.0  # no temperature does better than none (e.g. a perfectly separated validation split)
    return temperature


RELIABILITY_BINS = 15


@dataclass(frozen=True)
class Reliability:
    """A reliability diagram: the top-class confidence cut into equal-width bins (0, 1/b], …, ((b-1)/b, 1]."""

    edges: np.ndarray  # (bins + 1,) from 0 to 1
    counts: np.ndarray  # (bins,) predictions per bin
    mean_confidence: np.ndarray  # (bins,) mean top-class confidence per bin (0 where empty)
    accuracy: np.ndarray  # (bins,) share of right predictions per bin (0 where empty)

    @property
    def ece(self) -> float:
        """Expected calibration error: the count-weighted mean gap between accuracy and confidence."""
        total = int(self.counts.sum())
        if total == 0:
            return 0.0
        return float(np.sum(self.counts * np.abs(self.accuracy - self.mean_confidence)) / total)

    def as_dict(self) -> dict:
        """Plain lists for JSON."""
        return {
            "edges": [float(value) for value in self.edges],
            "counts": [int(value) for value in self.counts],
            "mean_confidence": [float(value) for value in self.mean_confidence],
            "accuracy": [float(value) for value in self.accuracy],
        }


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = RELIABILITY_BINS) -> Reliability:
    """Bin each prediction by its top-class confidence and compare the bins' accuracy with their confidence."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    confidence = probabilities.max(axis=1) if len(probabilities) else np.zeros(0)
    correct = (probabilities.argmax(axis=1) == labels) if len(probabilities) else np.zeros(0, bool)
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    confidence_sums = np.bincount(index, weights=confidence, minlength=bins)
    correct_sums = np.bincount(index, weights=correct.astype(np.float64), minlength=bins)
    safe = np.maximum(counts, 1)
    return Reliability(
        edges=np.linspace(0.0, 1.0, bins + 1),
        counts=counts,
        mean_confidence=np.where(counts > 0, confidence_sums / safe, 0.0),
        accuracy=np.where(counts > 0, correct_sums / safe, 0.0),
    )


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = RELIABILITY_BINS) -> float:
    """ECE over ``bins`` equal-width confidence bins (Guo et al. 2017): 0 is perfectly calibrated."""
    return reliability(probabilities, labels, bins).ece


@dataclass(frozen=True)
class CalibrationResult:
    """A fitted temperature and what it did on the validation split it was fitted on.

    ``refusal`` says why the fit was not applied (too few images, the temperature on a bound of the range, a worse
    validation ECE or NLL); the temperature is then 1 and the "after" figures equal the "before" ones.
    """

    temperature: float
    images: int
    source: str  # which split of which data, in words
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    refusal: str | None = None

    @property
    def applied(self) -> bool:
        """Whether the model should carry this temperature (False: keep it uncalibrated)."""
        return self.refusal is None

    def as_metadata(self) -> dict:
        """The ``ModelMetadata.calibration`` record ({} when the fit was not applied)."""
        if not self.applied:
            return {}
        return {
            "split": "validation",
            "source": self.source,
            "images": self.images,
            "ece_before": self.ece_before,
            "ece_after": self.ece_after,
            "nll_before": self.nll_before,
            "nll_after": self.nll_after,
        }

    def as_text(self) -> str:
        """One line for the CLI and the window's status."""
        if not self.applied:
            return f"not calibrated: {self.refusal}"
        return (
            f"temperature {self.temperature:.3f} fitted on {plural(self.images, 'image')} ({self.source}): "
            f"ECE {100 * self.ece_before:.2f} % -> {100 * self.ece_after:.2f} %, "
            f"NLL {self.nll_before:.4f} -> {self.nll_after:.4f}"
        )


BOUND_NLL_MARGIN = 1e-4
"""A fitted temperature is pinned down by the validation only when the NLL at each bound of ``TEMPERATURE_RANGE`` is
worse than at it by more than this (nats per image). Where every validation image is read right with room to spare,
the NLL keeps falling towards T = 0.05 until it is flat at about 0: the search stops anywhere on that plateau (0.05 to
0.12), and such a temperature made every answer about 100 % sure."""
ECE_SLACK = 0.01
"""A fit that lowers the NLL (what it minimises) may raise the binned ECE by this much (one point) and still apply:
binning noise on a well-calibrated model, not harm."""


def fit_on_validation(raw_probabilities: np.ndarray, labels: np.ndarray, source: str) -> CalibrationResult:
    """Fit the temperature on validation probabilities and measure ECE and NLL before and after.

    The fit is refused (temperature 1, ``refusal`` set) below ``MIN_CALIBRATION_IMAGES``, on a bound of
    ``TEMPERATURE_RANGE``, or when it makes the validation NLL worse, or its ECE worse by more than ``ECE_SLACK``.
    """
    images = len(labels)
    ece_before = expected_calibration_error(raw_probabilities, labels)
    nll_before = negative_log_likelihood(raw_probabilities, labels)
    refused = CalibrationResult(1.0, images, source, ece_before, ece_before, nll_before, nll_before)
    if images < MIN_CALIBRATION_IMAGES:
        return replace(
            refused,
            refusal=f"only {plural(images, 'validation image')} (at least {MIN_CALIBRATION_IMAGES} needed)",
        )
    temperature = fit_temperature(raw_probabilities, labels)
    fitted = CalibrationResult(
        temperature=temperature,
        images=images,
        source=source,
        ece_before=ece_before,
        ece_after=expected_calibration_error(apply_temperature(raw_probabilities, temperature), labels),
        nll_before=nll_before,
        nll_after=negative_log_likelihood(raw_probabilities, labels, temperature),
    )
    at_bounds = min(negative_log_likelihood(raw_probabilities, labels, bound) for bound in TEMPERATURE_RANGE)
    refusal = _refusal(fitted, pinned=at_bounds - fitted.nll_after > BOUND_NLL_MARGIN)
    return fitted if refusal is None else replace(refused, refusal=refusal)


def _refusal(fitted: CalibrationResult, pinned: bool) -> str | None:
    """Why a fitted temperature should not be applied, or None; ``pinned``: it does better than either bound of the
    search range (:data:`BOUND_NLL_MARGIN`)."""
    low, high = TEMPERATURE_RANGE
    if not pinned:
        return (
            f"the fitted temperature {fitted.temperature:.3f} does no better than the bound of the search range "
            f"({low:g} to {high:g}): {plural(fitted.images, 'validation image')} do not pin it down"
        )
    if fitted.ece_after > fitted.ece_before + ECE_SLACK or fitted.nll_after > fitted.nll_before:
        return (
            f"temperature {fitted.temperature:.3f} would make the validation worse "
            f"(ECE {100 * fitted.ece_before:.2f} % -> {100 * fitted.ece_after:.2f} %, "
            f"NLL {fitted.nll_before:.4f} -> {fitted.nll_after:.4f})"
        )
    return None
