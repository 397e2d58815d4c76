"""Helpers for the training tests: short configs and plot data lengths."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from app.train.panel import TrainingPanel
from ml.training.config import TrainConfig

RUN_TIMEOUT_MS = 240_000

PanelFactory = Callable[[], TrainingPanel]


def tiny_config(panel: TrainingPanel, **changes) -> TrainConfig:
    """The panel's config cut down to a few seconds of training."""
    config = replace(
        panel.training_config(),
        preset="cnn3x3",
        epochs=2,
        batch_size=64,
        max_train_samples=640,
        max_test_samples=256,
        augment=False,
    )
    return replace(config, **changes)


def series_length(item) -> int:
    """Number of points a PlotDataItem holds (its full data, not the downsampled view)."""
    return 0 if item.xData is None else len(item.xData)
