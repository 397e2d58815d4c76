"""What defines a training run, and the reports and results it produces."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ml.models.presets import get_preset

BatchReport = dict[str, Any]
EpochReport = dict[str, Any]
PLATEAU_FACTOR = 0.1  # the VGG tutorial divides the learning rate by 10 when validation accuracy stalls
PLATEAU_PATIENCE = 2


@dataclass
class TrainConfig:
    """Everything that defines a training run; ``None`` means "the preset's default"."""

    preset: str = "best"
    dataset: str | None = None  # mnist, fashion-mnist, sklearn-digits or an image folder; None: the preset's
    data_file: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    momentum: float | None = None
    nesterov: bool | None = None
    schedule: str | None = None
    validation_size: int | float | None = None  # None: 5000 images for (Fashion-)MNIST, else 10 %
    augment: bool | None = None
    seed: int = 0
    early_stopping_patience: int | None = None
    restore_best_weights: bool = True  # early stopping ends with the weights of the best epoch, not the last
    checkpoint_path: str | None = None
    tensorboard_dir: str | None = None
    max_train_samples: int | None = None
    max_test_samples: int | None = None
    image_size: int | None = None  # folder images are read at this size (default 32); others resized to it
    color_mode: str = "grayscale"
    freeze_backbone: bool | None = None  # transfer presets; None: frozen when the weights are pretrained
    backbone_weights: str | None = None  # transfer presets: None/"imagenet", "none" (from scratch) or a file
    fine_tune_from: str | None = None  # a model file to continue training instead of a fresh preset model
    mixed_precision: bool | None = None  # float16 compute; None: on where every GPU has compute capability >= 7.0
    distributed: bool = False  # one worker of a MultiWorkerMirroredStrategy job configured by TF_CONFIG
    folder_cache: str | None = "auto"  # streamed folders: "auto" (memory when small), "memory", a file, None (no cache)
    reader_processes: int = 0  # streamed image folders: decode in this many processes (0: in tf.data's threads)

    def resolved(self) -> TrainConfig:
        """A copy with every ``None`` hyperparameter filled from the preset's defaults."""
        preset = get_preset(self.preset)
        defaults = {
            "dataset": preset.dataset,
            "epochs": 10,
            "batch_size": 128,
            "optimizer": "adam",
            "learning_rate": 1e-3,
            "momentum": 0.0,
            "nesterov": False,
            "schedule": "constant",
            "augment": False,
        }
        defaults.update(preset.defaults)
        filled = {
            f.name: defaults[f.name] for f in fields(self) if getattr(self, f.name) is None and f.name in defaults
        }
        return replace(self, **filled)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for metadata and logs."""
        return asdict(self)


def model_metadata(
    config: TrainConfig,
    class_names: list[str],
    input_scale: str = "0-1",
    input_mean: list[float] | None = None,
    input_std: list[float] | None = None,
    history: dict[str, list[float]] | None = None,
    test_accuracy: float | None = None,
    continued_preset: str | None = None,
    calibration=None,
    doubt: dict | None = None,
):
    """The :class:`ml.models.metadata.ModelMetadata` that describes a model trained with ``config``.

    ``calibration``: the run's :class:`ml.inference.calibration.CalibrationResult` (its temperature goes in the card
    unless the fit was refused).
    ``doubt``: the not-a-digit decision fitted at the run's end (``ml.training.doubt``), or None.

    A continued model (``config.fine_tune_from``) keeps its own architecture, so its preset is the one its file
    recorded (``continued_preset``, None for a model without one), not the preset that lent the training defaults.
    """
    from ml import __version__
    from ml.models.metadata import ModelMetadata

    return ModelMetadata(
        class_names=list(class_names),
        input_scale=input_scale,
        input_mean=input_mean,
        input_std=input_std,
        dataset=config.dataset,
        preset=continued_preset if config.fine_tune_from else config.preset,
        hyperparameters=config.to_dict(),
        test_accuracy=test_accuracy,
        history=dict(history or {}),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        digitlab_version=__version__,
        temperature=calibration.temperature if calibration is not None and calibration.applied else None,
        calibration={} if calibration is None else calibration.as_metadata(),
        doubt=dict(doubt or {}),
    )


@dataclass
class TrainResult:
    """What a run produced: the model, its per-epoch history and the final test figures."""

    model: Any
    config: TrainConfig
    history: dict[str, list[float]]
    test_accuracy: float | None
    test_loss: float | None
    device: str
    epochs_completed: int
    stopped_by_user: bool = False
    stop_reason: str | None = None
    failed: bool = False  # it ended early on a fault (a NaN loss, a checkpoint that could not be written)
    class_names: list[str] = field(default_factory=list)
    input_scale: str = "0-1"
    input_mean: list[float] | None = None
    input_std: list[float] | None = None
    tensorboard_run_dir: str | None = None
    wall_seconds: float = 0.0
    checkpoint_epoch: int | None = None  # the epoch whose model the checkpoint file holds
    recalibrated_batches: int = 0  # batch norm re-estimated on this many batches (a mid-epoch stop, a short run)
    test_images: np.ndarray | None = field(default=None, repr=False)  # the test set, to compare another model on it
    test_labels: np.ndarray | None = field(default=None, repr=False)
    continued_preset: str | None = None  # the preset a continued model's file recorded
    calibration: Any = None  # the temperature fitted on the validation split at the end (CalibrationResult), or None
    notes: list[str] = field(default_factory=list)  # what the user should know: files skipped, float32 fallback
    is_chief: bool = True  # False on the other workers of a multi-worker job: they keep no files
    doubt: dict = field(default_factory=dict)  # the not-a-digit decision fitted at the end ({}: the default applies)

    def metadata(self):
        """The :class:`ml.models.metadata.ModelMetadata` to save with this model."""
        return model_metadata(
            self.config,
            self.class_names,
            self.input_scale,
            self.input_mean,
            self.input_std,
            self.history,
            self.test_accuracy,
            self.continued_preset,
            self.calibration,
            self.doubt,
        )


class PauseGate:
    """Pause and resume a run from any thread: ``fit(..., wait_while_paused=gate)``; the CLI and the window share it."""

    def __init__(self, poll_seconds: float = 0.05) -> None:
        self._running = threading.Event()
        self._running.set()
        self.poll_seconds = poll_seconds

    @property
    def paused(self) -> bool:
        """True between ``pause()`` and ``resume()``."""
        return not self._running.is_set()

    def pause(self) -> None:
        """Hold the run at the end of the current batch."""
        self._running.clear()

    def resume(self) -> None:
        """Let the run continue with its next batch."""
        self._running.set()

    def wait_while_paused(self, should_stop: Callable[[], bool] | None = None) -> None:
        """Block while paused; return at once on ``resume()``, or within ``poll_seconds`` once ``should_stop()``."""
        while not self._running.wait(self.poll_seconds):
            if should_stop is not None and should_stop():
                return
