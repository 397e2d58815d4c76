"""Temperature scaling as numpy: calibrated probabilities softmax(log p / T), and fitting T by validation NLL.

For a softmax output, log p equals the logits up to a per-row constant, so softmax(log p / T) is exactly the
temperature scaling of the logits (Guo et al. 2017): the class order, hence the accuracy, never changes. The
training run (``ml.training``), ``digitlab calibrate`` and the evaluation workspace (``ml.evaluation``) all fit it
here, on a validation split, never on the test set.
"""

from __future__ import annotations

import math

import numpy as np

PROBABILITY_FLOOR = 1e-30  # log(0) is -inf: a probability that underflowed to 0 counts as 1e-30
TEMPERATURE_RANGE = (0.05, 20.0)  # searched on a log scale; beyond it a model is broken rather than miscalibrated


def log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """(n, k) probabilities -> float64 log-probabilities, zeros floored at ``PROBABILITY_FLOOR``."""
    return np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), PROBABILITY_FLOOR))


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def apply_temperature(probabilities: np.ndarray, temperature: float | None) -> np.ndarray:
    """softmax(log p / T) row by row, in the input's dtype; ``temperature`` None or 1 returns the input unchanged."""
    probabilities = np.asarray(probabilities)
    if temperature is None or temperature == 1.0 or probabilities.size == 0:
        return probabilities
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"A temperature must be a positive finite number, not {temperature!r}.")
    calibrated = _softmax(log_probabilities(probabilities) / float(temperature))
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
