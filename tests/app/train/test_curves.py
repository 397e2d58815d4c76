"""The curves of a run: per-batch figures recovered from running means, and a loss axis that follows the data."""

from __future__ import annotations

import numpy as np
import pytest

from app.train.curves import LossAccuracyCurves, TrainingSeries


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
