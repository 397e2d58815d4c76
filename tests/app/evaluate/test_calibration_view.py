"""The reliability diagram: raw (and calibrated) bars, their counts, and a legend of what is drawn."""

from __future__ import annotations

import numpy as np

from app.evaluate.calibration_view import CalibrationView
from ml.inference.calibration import apply_temperature, reliability


def probabilities_and_labels() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(300, 10)) * 3
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities, rng.integers(0, 10, size=300)


def legend_names(view: CalibrationView) -> list[str]:
    return [label.text for _sample, label in view.legend.items]


def test_the_legend_lists_the_calibrated_bars_only_when_they_are_drawn(qtbot):
    """A model without a temperature showed an orange "after temperature scaling" legend entry with no such bars."""
    view = CalibrationView()
    qtbot.addWidget(view)
    probabilities, labels = probabilities_and_labels()
    raw = reliability(probabilities, labels)

    view.show_reliability(raw, raw.ece)
    assert legend_names(view) == ["perfectly calibrated", "as the model says"]

    calibrated = reliability(apply_temperature(probabilities, 1.5), labels)
    view.show_reliability(raw, raw.ece, calibrated, calibrated.ece, 1.5)
    assert legend_names(view) == ["perfectly calibrated", "as the model says", "after temperature scaling"]
    view.show_reliability(raw, raw.ece, calibrated, calibrated.ece, 1.5)
    assert legend_names(view).count("after temperature scaling") == 1

    view.clear()
    assert "after temperature scaling" not in legend_names(view)
