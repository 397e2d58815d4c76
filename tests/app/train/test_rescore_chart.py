"""Watch it learn your digit: the drawing re-scored during a real short run, one line per class, filters per epoch."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from app.train.rescore_chart import LatestDrawing, RescoreChart
from tests.app.train.runs import RUN_TIMEOUT_MS, tiny_config

ROOT = Path(__file__).resolve().parents[3]


def report(epoch: int, batch: int, probabilities, steps: int = 10) -> dict:
    return {"epoch": epoch, "batch": batch, "steps": steps, "probabilities": probabilities, "epoch_end": batch == steps}


def test_each_rescoring_adds_a_point_per_class_at_its_place_in_epochs(qtbot):
    chart = RescoreChart()
    qtbot.addWidget(chart)
    chart.reset(2)
    first = np.full(10, 0.1)
    second = np.eye(10)[7] * 0.91 + 0.01
    chart.add(report(1, 5, first))
    chart.add(report(1, 10, second))
    chart.add(report(2, 3, None))  # nothing drawn at that moment: skipped
    assert chart.point_count == 2
    x, seven = chart.line_data(7)
    assert x.tolist() == [0.5, 1.0] and seven.tolist() == pytest.approx([0.1, 0.92])
    assert chart._labels[7].toPlainText() == "7"  # the likeliest class is named at its line's end
    chart.reset(3)
    assert chart.point_count == 0


def test_a_lone_rescoring_is_drawn_as_dots_and_the_second_joins_them_in_lines(qtbot):
    """A run stopped before its first re-scoring has one point per class: a line of one point draws nothing."""
    chart = RescoreChart()
    qtbot.addWidget(chart)
    chart.reset(2)
    chart.add(report(1, 3, np.eye(10)[7] * 0.9 + 0.01))
    assert chart._lines[7].opts["symbol"] == "o"
    chart.add(report(1, 6, np.eye(10)[7] * 0.9 + 0.01))
    assert chart._lines[7].opts["symbol"] is None


def test_a_model_with_other_classes_gets_one_line_each(qtbot):
    chart = RescoreChart()
    qtbot.addWidget(chart)
    chart.reset(1)
    chart.add(report(1, 1, [0.2, 0.3, 0.5], steps=1))
    assert len(chart._lines) == 3 and chart.line_data(2)[1].tolist() == [0.5]


def test_at_its_narrowest_the_chart_shows_its_title_and_axes_whole(qtbot):
    chart = RescoreChart()
    qtbot.addWidget(chart)
    chart.resize(chart.minimumWidth(), 240)  # what a 1360 px window's training dock gave it
    chart.show()
    qtbot.waitExposed(chart)
    plot = chart.getPlotItem()
    qtbot.waitUntil(lambda: plot.geometry().width() <= chart.viewport().width())  # not drawn past its right edge
    assert plot.titleLabel.geometry().right() <= chart.viewport().width()


def test_the_latest_drawing_is_handed_between_threads_as_a_copy():
    holder = LatestDrawing()
    image = np.ones((28, 28), np.float32)
    holder.set(image)
    image[:] = 0.0
    seen = []
    reader = threading.Thread(target=lambda: seen.append(holder.get()))
    reader.start()
    reader.join()
    assert seen[0].sum() == 28 * 28
    holder.set(None)
    assert holder.get() is None


def test_the_chart_grows_during_a_short_run_and_the_filters_come_at_each_epoch_end(make_panel, qtbot):
    panel = make_panel()
    with np.load(ROOT / "assets" / "data" / "mnist.npz") as archive:
        digit = archive["x_test"][0].astype(np.float32) / 255.0  # a 7
    panel.set_drawing({"blank": False, "image": digit, "error": None})
    points: list[int] = []
    filters: list[tuple[list, str]] = []
    panel.run.rescored.connect(lambda _report: points.append(panel.run.rescore_chart.point_count))
    panel.filters_trained.connect(lambda banks, source: filters.append((banks, source)))
    assert panel.start_training(tiny_config(panel, batch_size=16, max_train_samples=3400))  # 200+ batches an epoch
    assert panel.run.rescore_chart.isVisibleTo(panel)
    with qtbot.waitSignal(panel.model_trained, timeout=RUN_TIMEOUT_MS):
        pass
    assert points == sorted(points) and points[-1] >= 4 and len(set(points)) == len(points)  # grew at every report
    x, _ = panel.run.rescore_chart.line_data(7)
    assert 0.5 < x[0] < 1.0  # the first point comes mid-epoch (batch 200 of 213)
    assert x[-1] == pytest.approx(2.0)
    assert [source for _, source in filters] == [
        "The model being trained, after epoch 1",
        "The model being trained, after epoch 2",
    ]
    banks = filters[-1][0]
    assert [bank["kernels"].shape[0] for bank in banks] == [32, 64]  # cnn3x3's two conv layers
    assert isinstance(banks[0]["kernels"], np.ndarray)


def test_a_run_without_a_drawing_hides_the_chart(make_panel, qtbot):
    panel = make_panel()
    panel.set_drawing({"blank": True, "image": None, "error": None})
    assert panel.start_training(tiny_config(panel))
    assert not panel.run.rescore_chart.isVisibleTo(panel)
    with qtbot.waitSignal(panel.running_changed, timeout=RUN_TIMEOUT_MS):
        pass
    assert panel.run.rescore_chart.point_count == 0
