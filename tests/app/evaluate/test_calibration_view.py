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


def visible_counts(view: CalibrationView) -> list[tuple[float, str]]:
    """The numbers written on the diagram, with their x position, left to right."""
    import pyqtgraph as pg

    texts = [item for item in view.plot.getPlotItem().items if isinstance(item, pg.TextItem) and item.isVisible()]
    return sorted((round(item.pos().x(), 4), item.textItem.toPlainText()) for item in texts)


def bar_centres(bars) -> list[float]:
    return [round(float(x), 4) for x in bars.opts["x"]]


def test_the_calibrated_bars_carry_their_counts_as_the_raw_bars_do(qtbot):
    """With a temperature, each blue bar had its number of predictions written above it, the orange bars none."""
    view = CalibrationView()
    qtbot.addWidget(view)
    probabilities, labels = probabilities_and_labels()
    raw = reliability(probabilities, labels)
    calibrated = reliability(apply_temperature(probabilities, 2.5), labels)

    view.show_reliability(raw, raw.ece, calibrated, calibrated.ece, 2.5)

    written = dict(visible_counts(view))
    raw_counts = [f"{count:,}" for count in raw.counts if count]
    calibrated_counts = [f"{count:,}" for count in calibrated.counts if count]
    assert [written.get(x) for x in bar_centres(view.raw_bars)] == raw_counts
    assert [written.get(x) for x in bar_centres(view.calibrated_bars)] == calibrated_counts
    assert len(written) == len(raw_counts) + len(calibrated_counts)
    _edges, lower = view.calibrated_counts_curve.getData()  # the counts plot beneath shows both too
    assert lower is not None and len(lower) == len(calibrated.counts)

    view.show_reliability(raw, raw.ece)  # the temperature gone: its counts go with its bars
    assert [text for _x, text in visible_counts(view)] == raw_counts
