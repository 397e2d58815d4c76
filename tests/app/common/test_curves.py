"""The curves of a run: per-batch figures recovered from running means, and a loss axis that follows the data and
labels its log scale without overlaps."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect
from PySide6.QtGui import QFont, QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QGraphicsView

from app.common.curves import EpochAxis, LossAccuracyCurves, TrainingSeries


def test_training_series_recovers_each_batch_from_running_means():
    batch_losses, batch_accuracies = [2.0, 1.0, 0.6, 0.2], [0.25, 0.5, 0.75, 1.0]
    series = TrainingSeries(batch_size=32)
    for epoch in (1, 2):
        for batch in range(1, 5):
            series.add(
                {
                    "epoch": epoch,
                    "epochs": 2,
                    "batch": batch,
                    "steps": 4,
                    "loss": sum(batch_losses[:batch]) / batch,
                    "accuracy": sum(batch_accuracies[:batch]) / batch,
                }
            )
    x, loss, accuracy, smoothed_loss, smoothed_accuracy = series.points.columns()
    assert list(x) == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0])
    assert list(loss) == pytest.approx(batch_losses * 2)  # no saw-tooth: each epoch's running mean is undone
    assert list(accuracy) == pytest.approx(batch_accuracies * 2)
    assert smoothed_loss[0] == pytest.approx(2.0) and smoothed_accuracy[0] == pytest.approx(0.25)  # bias-corrected
    assert smoothed_loss[-1] < smoothed_loss[0] and smoothed_accuracy[-1] > smoothed_accuracy[0]


def test_loss_axis_starts_at_zero_grows_with_the_data_and_leaves_a_user_zoom_alone(qtbot):
    curves = LossAccuracyCurves()
    qtbot.addWidget(curves)
    curves.set_log_scale(False)
    curves.reset(epochs=2)
    view = curves.loss_plot.getViewBox()
    x, falling = np.linspace(0.1, 1.0, 10), np.linspace(2.3, 0.3, 10)
    curves.set_training(x, falling, 1 - falling / 3, falling, 1 - falling / 3)
    low, high = view.viewRange()[1]
    assert low <= 0.0 and 2.3 < high

    curves.set_training(
        np.append(x, 1.1), np.append(falling, 0.2), np.append(1 - falling / 3, 0.95), *[np.append(x, 1.1)] * 2
    )
    assert view.viewRange()[1] == [low, high]  # data below the top: the axis (and its ticks) stay put

    curves.set_validation(np.array([1.0]), np.array([2.0 * high]), np.array([0.5]))
    assert view.viewRange()[1][1] > 2.0 * high  # a higher value raises the top

    view.scaleBy((1.0, 0.5))
    view.sigRangeChangedManually.emit([False, True])  # what a wheel zoom emits
    zoomed = view.viewRange()[1]
    curves.set_validation(np.array([1.0, 2.0]), np.array([2.0 * high, 10.0 * high]), np.array([0.5, 0.6]))
    assert view.viewRange()[1] == zoomed

    curves.reset(epochs=2)  # a new run follows its data again
    curves.set_training(x, falling, 1 - falling / 3, falling, 1 - falling / 3)
    assert view.viewRange()[1][1] < 2.0 * high


def first_batch_spike() -> tuple[np.ndarray, np.ndarray]:
    """A run's loss: 2.3 on the first batch, then a slow fall from 0.3 to 0.03 (what squashed the linear axis)."""
    x = np.linspace(0.01, 2.0, 200)
    loss = np.concatenate([[2.3], np.geomspace(0.3, 0.03, 199)])
    return x, loss


def test_the_loss_starts_on_a_log_axis_that_shows_the_low_part_of_the_curve(qtbot):
    curves = LossAccuracyCurves()
    qtbot.addWidget(curves)
    curves.reset(epochs=2)
    assert curves.log_scale and curves.log_scale_button.isChecked()
    x, loss = first_batch_spike()
    curves.set_training(x, loss, 1 - loss / 3, loss, 1 - loss / 3)
    low, high = curves.loss_plot.getViewBox().viewRange()[1]  # in decades
    assert low < np.log10(0.03) and np.log10(2.3) < high
    # the losses of 0.03-0.1 fill a fair part of the axis (on the linear axis, 0 to 2.6, they got under 4 %)
    assert (np.log10(0.1) - np.log10(0.03)) / (high - low) > 0.15

    curves.set_log_scale(False)
    low, high = curves.loss_plot.getViewBox().viewRange()[1]
    assert low <= 0.0 and 2.3 < high < 3.0  # linear again, from 0, still holding the spike


def test_a_log_axis_stays_put_while_the_loss_stays_inside_it(qtbot):
    curves = LossAccuracyCurves()
    qtbot.addWidget(curves)
    curves.reset(epochs=2)
    x, loss = first_batch_spike()
    curves.set_training(x[:100], loss[:100], loss[:100], loss[:100], loss[:100])
    before = curves.loss_plot.getViewBox().viewRange()[1]
    curves.set_training(x[:101], loss[:101], loss[:101], loss[:101], loss[:101])
    assert curves.loss_plot.getViewBox().viewRange()[1] == before
    tiny = np.append(loss, [1e-9, -1e-7])  # un-averaged batch losses can reach 0 or a hair below
    curves.set_training(np.linspace(0.01, 2.0, tiny.size), tiny, tiny, tiny, tiny)
    assert np.isfinite(curves.loss_plot.getViewBox().viewRange()[1]).all()


def test_loss_ticks_are_plain_decimals_and_epoch_ticks_whole_numbers(qtbot):
    curves = LossAccuracyCurves()
    qtbot.addWidget(curves)
    curves.set_log_scale(False)
    curves.reset(epochs=3)
    tiny = np.linspace(0.004, 0.001, 30)
    curves.set_training(np.linspace(0.1, 3.0, 30), tiny, tiny, tiny, tiny)
    left = curves.loss_plot.getPlotItem().getAxis("left")
    assert left.labelText == "loss" and left.autoSIPrefixScale == 1.0 and "x0.001" not in left.labelString()
    axis = curves.loss_plot.getPlotItem().getAxis("bottom")
    assert isinstance(axis, EpochAxis)
    empty = LossAccuracyCurves()
    qtbot.addWidget(empty)
    empty.reset(epochs=3)  # no data yet: the ticks are still whole epochs
    for plot in (empty.loss_plot, empty.accuracy_plot):
        bottom = plot.getPlotItem().getAxis("bottom")
        levels = bottom.tickSpacing(0.0, 3.0, 400)
        assert levels and all(spacing >= 1 and float(spacing).is_integer() for spacing, _ in levels)
        values = [value for _, ticks in bottom.tickValues(0.0, 3.0, 400) for value in ticks]
        assert values and all(float(value).is_integer() for value in values)


def test_the_test_accuracy_is_marked_on_the_accuracy_plot_until_the_next_run(qtbot):
    curves = LossAccuracyCurves()
    qtbot.addWidget(curves)
    curves.reset(epochs=1)
    assert not curves.test_accuracy_line.isVisible()
    curves.show_test_accuracy(0.9821)
    assert curves.test_accuracy_line.isVisible() and curves.test_accuracy_line.value() == 0.9821
    assert curves.test_accuracy_line.label.toPlainText() == "test 98.21%"
    curves.reset(epochs=1)
    assert not curves.test_accuracy_line.isVisible()


def global_rect_of(item) -> QRect:
    """Where a graphics item is on the screen, in global pixels."""
    view = item.scene().views()[0]
    rect = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    return QRect(view.mapToGlobal(rect.topLeft()), rect.size())


def global_points_of(plot, item) -> list[QPoint]:
    """Where each plotted point of ``item`` is on the screen, in global pixels."""
    view = plot.getPlotItem().getViewBox()
    xs, ys = item.getData()
    scene_points = [view.mapViewToScene(QPointF(x, y)) for x, y in zip(xs, ys, strict=True)]
    return [plot.mapToGlobal(plot.mapFromScene(point)) for point in scene_points]


def shown_curves(qtbot, size: tuple[int, int]) -> LossAccuracyCurves:
    """Curves of a 3-epoch run at ``size``, shown."""
    curves = LossAccuracyCurves()
    qtbot.addWidget(curves)
    curves.resize(*size)
    curves.show()
    qtbot.waitExposed(curves)
    curves.reset(epochs=3)
    return curves


@pytest.mark.parametrize(
    ("size", "validation_accuracy"),
    [
        ((488, 140), [0.95, 0.99, 0.99]),  # a rising run in the dock at its smallest
        ((900, 330), [0.11, 0.1, 0.11]),  # a run stuck at chance, at the window's first size
    ],
)
def test_the_legend_never_covers_a_plotted_point(qtbot, size, validation_accuracy):
    """The legend sat in the accuracy plot's bottom-right corner, over the points of a low or a short curve."""
    curves = shown_curves(qtbot, size)
    x = np.linspace(0.05, 3.0, 60)
    accuracy = np.interp(x, [0.0, 1.0, 3.0], [0.1, validation_accuracy[0], validation_accuracy[-1]])
    loss = 2.3 * np.exp(-3 * x) + 0.03
    curves.set_training(x, loss, accuracy, loss, accuracy)
    curves.set_validation(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.05, 0.04]), np.array(validation_accuracy))
    qtbot.wait(10)
    items = [item for view in curves.findChildren(QGraphicsView) for item in view.items()]
    legends = [item for item in items if isinstance(item, pg.LegendItem)]  # wherever it is drawn
    assert len(legends) == 1 and legends[0].isVisible()
    legend = global_rect_of(legends[0])
    for plot in (curves.loss_plot, curves.accuracy_plot):
        for item in plot.getPlotItem().listDataItems():
            covered = [point for point in global_points_of(plot, item) if legend.contains(point)]
            assert not covered, (item.name(), covered[:3], legend)


@pytest.mark.parametrize("size", [(488, 140), (900, 330)])  # the dock at its smallest, the window's first size
def test_the_test_accuracy_label_does_not_cover_the_validation_points(qtbot, size):
    """The label sat at the plot's left edge, over the rising training curve and the first validation point."""
    curves = shown_curves(qtbot, size)
    validation_accuracy = np.array([0.95, 0.98, 0.985])
    x = np.linspace(0.05, 3.0, 60)
    accuracy = np.interp(x, [0.0, 1.0, 3.0], [0.1, 0.96, 0.99])
    loss = 2.3 * np.exp(-3 * x) + 0.03
    curves.set_training(x, loss, accuracy, loss, accuracy)
    curves.set_validation(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.05, 0.04]), validation_accuracy)
    curves.show_test_accuracy(0.981)
    qtbot.wait(10)
    label = curves.test_accuracy_line.label
    assert label.isVisible() and label.toPlainText() == "test 98.10%"
    view = curves.accuracy_plot.getPlotItem().getViewBox()
    label_rect = label.sceneBoundingRect()
    assert view.sceneBoundingRect().contains(label_rect)  # inside the plot, not cut by its edge
    for epoch, value in zip((1.0, 2.0, 3.0), validation_accuracy, strict=True):
        point = view.mapViewToScene(QPointF(epoch, value))
        assert not label_rect.contains(point), (epoch, value, label_rect, point)


def drawn_loss_labels(curves: LossAccuracyCurves) -> list[tuple[float, str]]:
    """The loss axis's tick labels as it would draw them now: (the label's centre in pixels, its text), top first."""
    axis = curves.loss_plot.getPlotItem().getAxis("left")
    image = QImage(8, 8, QImage.Format.Format_ARGB32)  # kept: the painter must not outlive it
    painter = QPainter(image)
    try:
        _line, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return sorted((rect.center().y(), text) for rect, _flags, text in texts if text)


DIVERGING_LOSS = np.concatenate([np.geomspace(2.3, 0.8, 60), np.geomspace(0.8, 1e3, 90)])


@pytest.mark.parametrize("size", [(488, 140), (900, 330), (900, 650)])  # the dock at its smallest … a tall window
@pytest.mark.parametrize(
    "loss",
    [np.geomspace(95, 5, 150), DIVERGING_LOSS, np.geomspace(2.3, 0.02, 150)],
    ids=["high", "diverging", "falling"],
)
def test_log_loss_axis_labels_are_a_line_apart_at_any_height(qtbot, size, loss):
    """A loss of 5 to 95 stacked "9·10¹ 8·10¹ 7·10¹…" (and "10¹ 9 8 7") on top of each other."""
    curves = shown_curves(qtbot, size)
    x = np.linspace(0.02, 2.0, loss.size)
    curves.set_training(x, loss, np.full_like(x, 0.1), loss, np.full_like(x, 0.1))
    curves.set_validation(np.array([1.0, 2.0]), loss[[loss.size // 2, -1]], np.array([0.1, 0.1]))
    qtbot.wait(10)
    axis = curves.loss_plot.getPlotItem().getAxis("left")
    line_height = QFontMetricsF(axis.style["tickFont"] or QFont()).height()
    labels = drawn_loss_labels(curves)
    centres, texts = [centre for centre, _ in labels], [text for _, text in labels]
    assert len(labels) >= 2, labels
    assert all(below - above >= line_height for above, below in zip(centres, centres[1:], strict=False)), labels
    values = [float(text) for text in texts]  # plain numbers ("50", "0.02"), no "5·10¹"
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
    low, high = curves.loss_plot.getViewBox().viewRange()[1]
    assert all(low <= np.log10(value) <= high for value in values)


def test_a_log_loss_axis_zoomed_into_one_decade_still_has_labels_a_line_apart(qtbot):
    curves = shown_curves(qtbot, (900, 330))
    loss = np.geomspace(0.5, 0.2, 60)
    curves.set_training(np.linspace(0.05, 3.0, 60), loss, loss, loss, loss)
    axis = curves.loss_plot.getPlotItem().getAxis("left")
    line_height = QFontMetricsF(axis.style["tickFont"] or QFont()).height()
    for low, high in ((np.log10(0.3), np.log10(0.34)), (-0.6, -0.3)):  # no decade in sight; part of one
        curves.loss_plot.setYRange(low, high, padding=0)
        qtbot.wait(10)
        labels = drawn_loss_labels(curves)
        assert len(labels) >= 2, labels
        centres = [centre for centre, _ in labels]
        assert all(below - above >= line_height for above, below in zip(centres, centres[1:], strict=False)), labels


@pytest.mark.parametrize("size", [(488, 140), (600, 200), (900, 330)])  # the dock's smallest, Teach's, the window's
def test_a_validation_point_at_100_percent_is_drawn_whole(qtbot, size):
    """Held-back samples all read right (Teach's usual end) put their marker on 1.0, cut in half by the top edge."""
    curves = shown_curves(qtbot, size)
    curves.set_validation(np.array([1.0, 2.0, 3.0]), np.array([0.3, 0.1, 0.05]), np.array([0.9, 1.0, 1.0]))
    qtbot.wait(10)
    view = curves.accuracy_plot.getPlotItem().getViewBox()
    top = view.mapViewToScene(QPointF(1.0, view.viewRange()[1][1])).y()
    marker = view.mapViewToScene(QPointF(1.0, 1.0)).y()
    assert marker - top >= 8 / 2 + 1  # the marker's radius (symbolSize 8) and its white rim
