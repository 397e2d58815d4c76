"""Helpers for the training tests: short configs and plot data lengths."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

from app.train.panel import TrainingPanel
from ml.training.config import PauseGate, TrainConfig, TrainResult

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


def batch_end(wait_while_paused, should_stop) -> bool:
    """What fit's Keras callback does after reporting a batch: hold while paused, then check Stop once."""
    if isinstance(wait_while_paused, PauseGate):
        wait_while_paused = functools.partial(wait_while_paused.wait_while_paused, should_stop)
    if wait_while_paused is not None:
        wait_while_paused()
    return bool(should_stop is not None and should_stop())


def batch_report(epoch: int, batch: int, epochs: int = 1, steps: int = 2) -> dict:
    """A batch report as fit sends it."""
    return {
        "epoch": epoch,
        "epochs": epochs,
        "batch": batch,
        "steps": steps,
        "loss": 1.0,
        "accuracy": 0.5,
        "samples_per_second": 100.0,
    }


def epoch_report(epoch: float, epochs: int = 1, **extra) -> dict:
    """An epoch report as fit sends it (``partial=True`` for an epoch a stop cut short)."""
    return {
        "epoch": epoch,
        "epochs": epochs,
        "loss": 1.0,
        "accuracy": 0.5,
        "val_loss": 0.9,
        "val_accuracy": 0.6,
        **extra,
    }


def trained_result(config: TrainConfig, epochs_completed: int, stopped_by_user: bool) -> TrainResult:
    """What fit returns for a run that trained and tested (no model: the tests patch the worker's save)."""
    return TrainResult(
        model=None,
        config=config.resolved(),
        history={"loss": [1.0] * epochs_completed},
        test_accuracy=0.9,
        test_loss=0.3,
        device="CPU",
        epochs_completed=epochs_completed,
        stopped_by_user=stopped_by_user,
        stop_reason="Stopped by the user." if stopped_by_user else None,
    )
