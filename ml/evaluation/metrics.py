"""A classifier's figures on labelled examples, as numpy: accuracy with its Wilson interval, top-2, per-class
precision/recall/F1/support, the confusion matrix, reliability and ECE (raw and calibrated); and the indices
behind a confusion cell or the mistakes, for galleries. No Keras here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ml.inference.calibration import Reliability, apply_temperature, reliability

WILSON_Z = 1.959963984540054  # the 97.5th percentile of the standard normal: a two-sided 95 % interval


def wilson_interval(successes: int, trials: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % by default); (0, 1) for no trials."""
    if trials <= 0:
        return 0.0, 1.0
    proportion = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (proportion + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(proportion * (1 - proportion) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= trials else min(1.0, centre + half)  # exact ends, not 1 - 2e-16
    return low, high


@dataclass(frozen=True)
class ClassFigures:
    """One class's precision, recall (its per-class accuracy), F1 and support (true examples)."""

    class_name: str
    precision: float
    recall: float
    f1: float
    support: int

    def as_dict(self) -> dict:
        """The issue's ``per_class`` entry."""
        return {
            "class": self.class_name,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
        }


@dataclass(frozen=True)
class EvaluationReport:
    """Every figure of one evaluation. ``confusion`` rows are true classes, columns predicted classes.

    ``ece``/``reliability`` describe the model's raw probabilities; ``ece_calibrated``/``reliability_calibrated``
    the probabilities after its stored temperature (None when the card has none). ``robustness`` is filled in by
    whoever ran a sweep (``{kind: [(level, accuracy), ...]}``).
    """

    n: int
    accuracy: float
    accuracy_ci95: tuple[float, float]
    top2_accuracy: float
    per_class: list[ClassFigures]
    confusion: np.ndarray
    class_names: list[str]
    ece: float
    reliability: Reliability
    temperature: float | None = None
    ece_calibrated: float | None = None
    reliability_calibrated: Reliability | None = None
    robustness: dict[str, list[tuple[float, float]]] | None = field(default=None)

    @property
    def correct(self) -> int:
        """How many examples were predicted right."""
        return int(np.trace(self.confusion))

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """Each class's recall, as an array."""
        return np.asarray([figures.recall for figures in self.per_class])

    def as_dict(self) -> dict:
        """The ``digitlab evaluate --json`` object (issue 10's format), plain JSON types only."""
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "accuracy_ci95": [self.accuracy_ci95[0], self.accuracy_ci95[1]],
            "top2_accuracy": self.top2_accuracy,
            "per_class": [figures.as_dict() for figures in self.per_class],
            "confusion": [[int(count) for count in row] for row in self.confusion],
            "ece": self.ece,
            "temperature": self.temperature,
            "ece_calibrated": self.ece_calibrated,
            "robustness": {
                kind: [[float(level), float(accuracy)] for level, accuracy in points]
                for kind, points in (self.robustness or {}).items()
            },
        }

    def as_text(self) -> str:
        """Accuracy and its interval, top-2, ECE, per-class figures and the confusion matrix (last, one row a line)."""
        low, high = self.accuracy_ci95
        lines = [
            f"test accuracy: {self.accuracy:.4f} ({self.correct}/{self.n}), 95 % interval {low:.4f}–{high:.4f}",
            f"top-2 accuracy: {self.top2_accuracy:.4f}",
            f"ECE (15 bins): {100 * self.ece:.2f} %" + _calibration_text(self.temperature, self.ece_calibrated),
            "",
            "per-class precision, recall (the per-class accuracy), F1 and support:",
        ]
        names = [name[:12] for name in self.class_names]
        name_width = max(6, *(len(name) for name in names))
        lines.append(f"  {'class':>{name_width}}  precision  recall      f1  support")
        for name, figures in zip(names, self.per_class, strict=True):
            lines.append(
                f"  {name:>{name_width}}  {figures.precision:9.4f}  {figures.recall:6.4f}  {figures.f1:6.4f}"
                f"  {figures.support:7d}"
            )
        for kind, points in (self.robustness or {}).items():
            lines.append(f"robustness, {kind}: " + ", ".join(f"{level:g}: {acc:.3f}" for level, acc in points))
        short = [name[:7] for name in self.class_names]
        width = max(6, max(len(name) for name in short) + 1, len(str(int(self.confusion.max(initial=0)))) + 1)
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted class):")
        lines.append(" " * (width + 2) + "".join(f"{name:>{width}}" for name in short))
        for name, row in zip(short, self.confusion, strict=True):
            lines.append(f"  {name:>{width}}" + "".join(f"{int(count):>{width}}" for count in row))
        return "\n".join(lines)


def _calibration_text(temperature: float | None, ece_calibrated: float | None) -> str:
    if temperature is None or ece_calibrated is None:
        return " (no temperature stored: probabilities are the model's own; `digitlab calibrate` fits one)"
    return f", calibrated with T = {temperature:.3f}: {100 * ece_calibrated:.2f} %"


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) counts, rows = true class, columns = predicted class."""
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (np.asarray(labels, np.int64), np.asarray(predictions, np.int64)), 1)
    return confusion


def class_figures(confusion: np.ndarray, class_names: list[str]) -> list[ClassFigures]:
    """Precision, recall, F1 and support per class from a confusion matrix (0 where undefined)."""
    right = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    precision = np.divide(right, predicted, out=np.zeros_like(right), where=predicted > 0)
    recall = np.divide(right, support, out=np.zeros_like(right), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(right), where=total > 0)
    return [
        ClassFigures(name, float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(class_names, precision, recall, f1, support, strict=True)
    ]


def top_k_accuracy(probabilities: np.ndarray, labels: np.ndarray, k: int = 2) -> float:
    """Share of examples whose true class is among the ``k`` most probable."""
    if len(labels) == 0:
        return 0.0
    k = min(k, probabilities.shape[1])
    top = np.argpartition(-probabilities, k - 1, axis=1)[:, :k]
    return float(np.mean((top == np.asarray(labels)[:, None]).any(axis=1)))


def evaluate_probabilities(
    labels: np.ndarray, raw_probabilities: np.ndarray, class_names: list[str], temperature: float | None = None
) -> EvaluationReport:
    """Every figure from a model's raw probabilities (N, k) and integer labels (N,); ``temperature`` from its card.

    Accuracy, top-2 and the confusion matrix do not depend on the temperature (it keeps each row's order).
    """
    labels = np.asarray(labels, dtype=np.int64)
    raw_probabilities = np.asarray(raw_probabilities)
    predictions = raw_probabilities.argmax(axis=1)
    classes = max(len(class_names), int(labels.max(initial=0)) + 1, raw_probabilities.shape[1])
    names = list(class_names) + [str(index) for index in range(len(class_names), classes)]
    confusion = confusion_matrix(labels, predictions, classes)
    correct = int(np.trace(confusion))
    raw_reliability = reliability(raw_probabilities, labels)
    calibrated_reliability = None
    if temperature is not None:
        calibrated_reliability = reliability(apply_temperature(raw_probabilities, temperature), labels)
    return EvaluationReport(
        n=len(labels),
        accuracy=correct / len(labels) if len(labels) else 0.0,
        accuracy_ci95=wilson_interval(correct, len(labels)),
        top2_accuracy=top_k_accuracy(raw_probabilities, labels, 2),
        per_class=class_figures(confusion, names),
        confusion=confusion,
        class_names=names,
        ece=raw_reliability.ece,
        reliability=raw_reliability,
        temperature=temperature,
        ece_calibrated=None if calibrated_reliability is None else calibrated_reliability.ece,
        reliability_calibrated=calibrated_reliability,
    )


def cell_indices(evaluation, true_class: int, predicted_class: int) -> np.ndarray:
    """Indices of the examples of class ``true_class`` predicted as ``predicted_class``, most confident first."""
    chosen = np.flatnonzero((evaluation.labels == true_class) & (evaluation.predictions == predicted_class))
    return _by_confidence(evaluation.confidence, chosen)


def mistakes(evaluation, true_class: int | None = None, predicted_class: int | None = None) -> np.ndarray:
    """Indices of every wrong prediction (optionally of one true and/or predicted class), most confident first."""
    wrong = evaluation.labels != evaluation.predictions
    if true_class is not None:
        wrong &= evaluation.labels == true_class
    if predicted_class is not None:
        wrong &= evaluation.predictions == predicted_class
    return _by_confidence(evaluation.confidence, np.flatnonzero(wrong))


def _by_confidence(confidence: np.ndarray, indices: np.ndarray) -> np.ndarray:
    order = np.argsort(-confidence[indices], kind="stable")
    return indices[order].astype(np.int64)
