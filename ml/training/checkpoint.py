"""Keep the best model of a run on disk: saved atomically, with its metadata, whenever validation accuracy improves."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np

from ml.errors import ModelFileError
from ml.models.files import save_model
from ml.models.metadata import ModelMetadata
from ml.training.distribution import uses_mixed_precision, with_dtype_policy


def float32_model(model):
    """``model`` itself, or a float32 copy of a mixed-precision model, so a checkpoint loads and runs anywhere."""
    return with_dtype_policy(model, "float32") if uses_mixed_precision(model) else model


class BestModelCheckpoint(keras.callbacks.Callback):
    """A Keras callback that saves the model with its metadata whenever ``val_accuracy`` beats its best so far.

    Saves go through ``ml.models.files.save_model`` (temp file in the same folder, then ``os.replace``); a run
    without a validation set is judged on ``accuracy``. A failed write leaves the previous checkpoint intact,
    stops training and is kept in ``error``.
    """

    def __init__(
        self, path: str | os.PathLike, config: Any, metadata: ModelMetadata | None = None, monitor: str = "val_accuracy"
    ) -> None:
        super().__init__()
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # the first save reports why the folder is unusable
        self.config = config
        self.metadata = metadata or ModelMetadata(
            dataset=config.dataset, preset=config.preset, hyperparameters=config.to_dict()
        )
        self.monitor = monitor
        self.best = -math.inf
        self.best_epoch: int | None = None
        self.history: dict[str, list[float]] = {}
        self.error: str | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        for key, value in logs.items():
            if np.ndim(value) == 0:
                self.history.setdefault(key, []).append(float(value))
        current = logs.get(self.monitor, logs.get("accuracy"))
        if current is None or not math.isfinite(float(current)) or float(current) <= self.best:
            return
        metadata = replace(
            self.metadata,
            history={key: list(values) for key, values in self.history.items()},
            test_accuracy=None,
            created=None,
        )
        try:
            save_model(float32_model(self.model), self.path, metadata)
        except ModelFileError as error:
            self.error = str(error)
            self.model.stop_training = True
            return
        self.best, self.best_epoch = float(current), epoch + 1
