"""How far a model's confidence can be trusted: reliability bins, ECE, and temperature scaling on validation data.

``reliability`` and ``expected_calibration_error`` are numpy only. ``fit_temperature`` is the one fit of
:mod:`ml.inference.temperature` (training uses it too); ``calibrate_model`` scores the model's validation split
(never the test set), fits the temperature and stores it in the model's card, so that every probability shown
from then on (bars, CLI, JSON, evaluation) is calibrated and the card says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ml.inference.temperature import apply_temperature, fit_temperature, negative_log_likelihood

__all__ = [
    "RELIABILITY_BINS",
    "CalibrationResult",
    "Reliability",
    "apply_temperature",
    "calibrate_model",
    "expected_calibration_error",
    "fit_temperature",
    "negative_log_likelihood",
    "reliability",
]

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
    """A fitted temperature and what it did on the validation split it was fitted on."""

    temperature: float
    images: int
    source: str  # which split of which data, in words
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float

    def as_metadata(self) -> dict:
        """The ``ModelMetadata.calibration`` record."""
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
        return (
            f"temperature {self.temperature:.3f} fitted on {self.images:,} images ({self.source}): "
            f"ECE {100 * self.ece_before:.2f} % -> {100 * self.ece_after:.2f} %, "
            f"NLL {self.nll_before:.4f} -> {self.nll_after:.4f}"
        )


def fit_on_validation(raw_probabilities: np.ndarray, labels: np.ndarray, source: str) -> CalibrationResult:
    """Fit the temperature on validation probabilities and measure ECE and NLL before and after."""
    temperature = fit_temperature(raw_probabilities, labels)
    calibrated = apply_temperature(raw_probabilities, temperature)
    return CalibrationResult(
        temperature=temperature,
        images=len(labels),
        source=source,
        ece_before=expected_calibration_error(raw_probabilities, labels),
        ece_after=expected_calibration_error(calibrated, labels),
        nll_before=negative_log_likelihood(raw_probabilities, labels),
        nll_after=negative_log_likelihood(raw_probabilities, labels, temperature),
    )


def calibrate_model(
    loaded,
    *,
    data_file: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    store: bool = True,
) -> CalibrationResult:
    """Fit ``loaded``'s temperature on its validation split and (``store``) write it into ``loaded.metadata``.

    The split is the one its training run held out (the card's dataset, seed and validation size); a model without
    a card uses MNIST's 5,000 validation images. Raises ``DatasetError`` when that data cannot be read, and
    ``EvaluationStopped`` when ``should_stop()`` turns true. Save the model afterwards to keep the temperature.
    """
    from ml.evaluation.run import score_set
    from ml.evaluation.sets import load_validation_set

    validation = load_validation_set(loaded, data_file=data_file)
    raw = score_set(loaded, validation, progress=progress, should_stop=should_stop)
    result = fit_on_validation(raw, validation.labels, validation.title)
    if store:
        loaded.metadata.temperature = result.temperature
        loaded.metadata.calibration = result.as_metadata()
    return result
