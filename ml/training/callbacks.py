"""Keras callbacks and optimizers for a run: progress, schedules, logs, stopping."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ml.errors import TrainingError
from ml.plurals import plural
from ml.training.config import PLATEAU_FACTOR, PLATEAU_PATIENCE, BatchReport, EpochReport, TrainConfig


def make_optimizer(config: TrainConfig, steps_per_epoch: int):
    """The optimizer named in the config, with its learning-rate schedule."""
    import keras

    learning_rate: Any = float(config.learning_rate)
    if config.schedule == "cosine":
        total_steps = max(1, config.epochs * steps_per_epoch)
        warmup_steps = min(steps_per_epoch, total_steps // 10)
        learning_rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=learning_rate / 10 if warmup_steps else learning_rate,
            decay_steps=max(1, total_steps - warmup_steps),
            warmup_target=learning_rate if warmup_steps else None,
            warmup_steps=warmup_steps,
        )
    elif config.schedule not in ("constant", "plateau"):
        raise TrainingError(f"Unknown learning-rate schedule {config.schedule!r} (constant, cosine, plateau).")
    name = config.optimizer.lower()
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=config.momentum, nesterov=bool(config.nesterov))
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, momentum=config.momentum)
    raise TrainingError(f"Unknown optimizer {config.optimizer!r} (adam, sgd, rmsprop).")


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimizer uses at its current step."""
    return float(np.asarray(optimizer.learning_rate))


def step_count(optimizer) -> int:
    """The optimizer's steps so far (its ``iterations``, mirrored or not)."""
    import keras

    return int(keras.ops.convert_to_numpy(optimizer.iterations))


def make_progress_callback(
    on_batch: Callable[[BatchReport], None] | None,
    on_epoch: Callable[[EpochReport], None] | None,
    should_stop: Callable[[], bool] | None,
    wait_while_paused: Callable[[], None] | None,
    train_size: int,
    steps_per_epoch: int = 0,
    on_batches_ended: Callable[[], None] | None = None,
):
    """A Keras callback that reports per batch / per epoch and stops cooperatively between batches.

    ``steps_per_epoch``: the batches an epoch should have, reported while Keras does not know (an image folder's
    pipeline, whose length is unknown until it has run out).
    ``on_batches_ended``: called once, as soon as no batch is left to train (a NaN loss, a stop taken, or at the
    latest when Keras's ``fit`` ends: the last epoch, early stopping), before the model is tested.
    """
    import keras

    class ProgressReporter(keras.callbacks.Callback):
        """Adapter from Keras callback hooks to Digit Lab's plain callables."""

        def __init__(self) -> None:
            super().__init__()
            self.stopped_by_user = False
            self.nan_batch: tuple[int, int] | None = None
            self.stopped_mid_epoch = False
            self.stopped_after_batches = 0.0
            self.partial_logs: dict[str, Any] = {}
            self.last_good_weights: list[np.ndarray] | None = None
            self.paused_seconds = 0.0
            self.batches_ended = False

        def end_batches(self) -> None:
            """Tell ``on_batches_ended`` (once) that no batch is left: a pause or a stop can change nothing now."""
            if not self.batches_ended:
                self.batches_ended = True
                if on_batches_ended is not None:
                    on_batches_ended()

        def on_train_begin(self, logs=None) -> None:
            self.train_start = time.perf_counter()
            self.last_good_weights = self.model.get_weights()
            self.first_iteration = step_count(self.model.optimizer)
            self.batches_trained = 0

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.epoch = epoch
            self.epoch_start = time.perf_counter()
            self.epoch_paused = 0.0
            self.seen = 0

        def on_train_batch_end(self, batch, logs=None) -> None:
            logs = logs or {}
            self.batches_trained += 1
            loss = float(logs.get("loss", math.nan))
            if not math.isfinite(loss):
                self.nan_batch = (self.epoch + 1, batch + 1)
                self.model.set_weights(self.last_good_weights)
                self.model.stop_training = True
                self.end_batches()
                return
            steps = self.params.get("steps") or steps_per_epoch
            batch_size = math.ceil(train_size / steps) if steps else 0
            self.seen = min(train_size, self.seen + batch_size)
            running = max(time.perf_counter() - self.epoch_start - self.epoch_paused, 1e-9)
            if on_batch is not None:
                on_batch(
                    {
                        "epoch": self.epoch + 1,
                        "epochs": self.params.get("epochs"),
                        "batch": batch + 1,
                        "steps": steps,
                        "loss": loss,
                        "accuracy": float(logs.get("accuracy", math.nan)),
                        "samples_per_second": self.seen / running,
                    }
                )
            if wait_while_paused is not None:
                paused_at = time.perf_counter()
                wait_while_paused()
                waited = time.perf_counter() - paused_at
                self.epoch_paused += waited
                self.paused_seconds += waited
            if should_stop is not None and should_stop():
                self.stopped_by_user = True
                self.stopped_mid_epoch = bool(steps) and batch + 1 < steps
                self.stopped_after_batches = self.epoch + ((batch + 1) / steps if steps else 1.0)
                self.model.stop_training = True
                self.end_batches()
            elif self.epoch + 1 >= (self.params.get("epochs") or 0) and steps and batch + 1 >= steps:
                self.end_batches()  # the last batch of the last epoch: its Stop check was the last

        def on_epoch_end(self, epoch, logs=None) -> None:
            self.mend_iterations()
            if self.nan_batch is not None:
                return
            self.last_good_weights = self.model.get_weights()
            report = {key: float(value) for key, value in (logs or {}).items() if np.ndim(value) == 0}
            report.update(
                epoch=epoch + 1,
                epochs=self.params.get("epochs"),
                learning_rate=current_learning_rate(self.model.optimizer),
                elapsed=time.perf_counter() - self.train_start - self.paused_seconds,
            )
            if self.stopped_mid_epoch:  # Keras validated the cut epoch with lagging batch-norm averages: wait
                self.partial_logs = report
            elif on_epoch is not None:
                on_epoch(report)

        def on_train_end(self, logs=None) -> None:
            self.end_batches()  # the last epoch, or early stopping (decided after this epoch's report)

        def mend_iterations(self) -> None:
            """Take back the step Keras counts when an input of unknown length runs out (TensorFlow's iterator
            read and the optimizer's step counter are not ordered), so the schedule and the lr shown keep pace."""
            iterations = self.model.optimizer.iterations
            trained = self.first_iteration + self.batches_trained
            if step_count(self.model.optimizer) > trained:
                iterations.assign(trained)

        def finish_partial_epoch(self, validation: dict[str, float] | None = None) -> None:
            """Report the epoch a stop cut short, at the fraction trained, with ``validation`` re-measured if given.

            Its report says ``partial`` and its ``epoch`` is the epochs trained (1.4: 40 % into the second).
            """
            if not self.stopped_mid_epoch or not self.partial_logs:
                return
            report = dict(self.partial_logs, epoch=self.stopped_after_batches, partial=True)
            report.update(validation or {})
            if on_epoch is not None:
                on_epoch(report)

    return ProgressReporter()


def make_callbacks(config: TrainConfig, reporter, stamp: str, metadata=None) -> tuple[list, str | None]:
    """The Keras callbacks the config asks for, and the TensorBoard run folder if any."""
    import keras

    callbacks = [reporter]  # first: it rolls NaN weights back before the others see the epoch end
    if config.schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_accuracy", mode="max", factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE
            )
        )
    if config.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=int(config.early_stopping_patience),
                restore_best_weights=bool(config.restore_best_weights),
            )
        )
    if config.checkpoint_path:
        from ml.training.checkpoint import BestModelCheckpoint

        callbacks.append(BestModelCheckpoint(config.checkpoint_path, config, metadata))
    run_dir = None
    if config.tensorboard_dir:
        run_dir = str(Path(config.tensorboard_dir) / f"{config.preset}-{stamp}")
        callbacks.append(make_tensorboard_logger(run_dir))
    return callbacks, run_dir


def make_tensorboard_logger(run_dir: str):
    """A Keras callback that writes each epoch's scalars as TensorBoard event files in ``run_dir``.

    Keras's own ``TensorBoard`` callback needs the ``tensorboard`` package, which TensorFlow 2.21 no longer
    installs; TensorFlow's summary writer does not. Same layout as Keras: ``train/`` and ``validation/``
    folders, tags ``epoch_loss``, ``epoch_accuracy``, ``epoch_learning_rate``. View with ``tensorboard --logdir``.
    """
    import keras
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    scalar = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))

    class TensorBoardScalars(keras.callbacks.Callback):
        """Per-epoch loss, accuracy and learning rate for TensorBoard's scalar dashboard."""

        def on_train_begin(self, logs=None) -> None:
            self.writers = {
                split: tf.summary.create_file_writer(str(Path(run_dir) / split)) for split in ("train", "validation")
            }

        def on_epoch_end(self, epoch, logs=None) -> None:
            values = {key: value for key, value in (logs or {}).items() if np.ndim(value) == 0}
            values.setdefault("learning_rate", current_learning_rate(self.model.optimizer))
            for key, value in values.items():
                split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
                with self.writers[split].as_default():
                    tf.summary.write(f"epoch_{name}", tf.constant(float(value)), step=epoch, metadata=scalar)
            for writer in self.writers.values():
                writer.flush()

        def on_train_end(self, logs=None) -> None:
            for writer in self.writers.values():
                writer.close()

    return TensorBoardScalars()


def find_checkpoint(callbacks: list):
    """The run's :class:`ml.training.checkpoint.BestModelCheckpoint`, if it has one."""
    from ml.training.checkpoint import BestModelCheckpoint

    return next((callback for callback in callbacks if isinstance(callback, BestModelCheckpoint)), None)


def describe_stop(reporter, callbacks: list, config: TrainConfig) -> str | None:
    """Why training ended before its last epoch (NaN, checkpoint failure, the user, early stopping), if it did."""
    import keras

    if reporter.nan_batch is not None:
        epoch, batch = reporter.nan_batch
        kept = f"the last good weights (end of epoch {epoch - 1}) were kept" if epoch > 1 else "nothing was learnt"
        return (
            f"The loss became NaN at epoch {epoch}, batch {batch}; training stopped and {kept}. "
            "Try a lower learning rate."
        )
    checkpoint = find_checkpoint(callbacks)
    if checkpoint is not None and checkpoint.error:
        return f"Training stopped: the best-model checkpoint could not be written: {checkpoint.error}"
    if reporter.stopped_by_user:
        return "Stopped by the user."
    stopper = next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)
    if stopper is not None and 0 < stopper.stopped_epoch < int(config.epochs or 0) - 1:  # its last epoch: not early
        kept = (
            f"the weights of the best epoch ({stopper.best_epoch + 1}) were restored"
            if config.restore_best_weights
            else "the last epoch's weights were kept"
        )
        return (
            f"Early stopping: val_loss did not improve for {plural(config.early_stopping_patience, 'epoch')}; {kept}."
        )
    return None


def describe_restored_weights(callbacks: list, config: TrainConfig, epochs_trained: int) -> str | None:
    """What to say when early stopping did not end the run early yet gave it an earlier epoch's weights (Keras
    restores the best epoch's at the end of every run that asks it to), or None."""
    import keras

    stopper = next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)
    if stopper is None or not config.restore_best_weights or stopper.best_weights is None:
        return None
    if 0 < stopper.stopped_epoch < int(config.epochs or 0) - 1 or stopper.best_epoch + 1 >= epochs_trained:
        return None  # stopped early (the stop says so), or the last epoch was the best
    return (
        f"The weights of the best epoch ({stopper.best_epoch + 1} of {epochs_trained}, by val_loss) were restored, "
        "as early stopping's restore-best-weights option asks; the last epoch's were not the best."
    )
