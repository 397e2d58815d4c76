"""Test-set evaluation as numpy: accuracy, per-class accuracy and a confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EvaluationReport:
    """Accuracy figures of a classifier on labelled examples."""

    accuracy: float
    per_class_accuracy: np.ndarray
    confusion: np.ndarray
    class_names: list[str]

    def as_text(self) -> str:
        """Accuracy, per-class accuracy and the confusion matrix (rows: true, columns: predicted)."""
        names = [name[:7] for name in self.class_names]
        width = max(6, max(len(name) for name in names) + 1, len(str(int(self.confusion.max()))) + 1)
        lines = [f"test accuracy: {self.accuracy:.4f} ({int(np.trace(self.confusion))}/{int(self.confusion.sum())})"]
        lines.append("")
        lines.append("per-class accuracy:")
        for name, value, count in zip(names, self.per_class_accuracy, self.confusion.sum(axis=1), strict=True):
            lines.append(f"  {name:>{width}}  {value:.4f}  (n={int(count)})")
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted class):")
        lines.append(" " * (width + 2) + "".join(f"{name:>{width}}" for name in names))
        for name, row in zip(names, self.confusion, strict=True):
            lines.append(f"  {name:>{width}}" + "".join(f"{int(count):>{width}}" for count in row))
        return "\n".join(lines)


def evaluate_probabilities(labels: np.ndarray, probabilities: np.ndarray, class_names: list[str]) -> EvaluationReport:
    """Compare predicted probabilities (N, k) with integer labels (N,)."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(probabilities).argmax(axis=1)
    classes = max(len(class_names), int(labels.max(initial=0)) + 1, probabilities.shape[1])
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    totals = confusion.sum(axis=1)
    per_class = np.divide(np.diag(confusion), totals, out=np.zeros(classes), where=totals > 0)
    names = list(class_names) + [str(i) for i in range(len(class_names), classes)]
    return EvaluationReport(float(np.mean(predicted == labels)), per_class, confusion, names)
