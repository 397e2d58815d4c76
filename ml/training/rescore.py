"""Watch it learn your digit: the user's drawing re-scored with the weights being trained.

Pass ``fit(config, rescore=Rescore(image, on_rescore))``. Every ``every_batches`` batches and at each epoch's end,
in the training thread, the drawing is prepared for the model (as the predictor prepares it: an 8x8 model gets its
8x8) and scored at inference (dropout off, batch norm on its running statistics), and ``on_rescore`` receives a dict:

- ``epoch``: 1-based; ``batch``: 1-based within the epoch; ``steps``: batches per epoch;
- ``seen``: training samples seen since the run began;
- ``probabilities``: (k,) float32 summing to 1 (None when ``image`` gave None: nothing drawn);
- ``epoch_end``: True for the report at an epoch's end;
- ``filters``: at an epoch's end, the conv kernels (``ml.models.anatomy.FilterBank`` list, [] for an MLP); else None.

A failure to score (a drawing that does not fit the model) is logged once and never stops the run. Scoring takes
one eager forward pass (milliseconds) every few hundred batches, so throughput stays within a few per cent.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ml.inference.model_input import prepare_for_model
from ml.models.anatomy import conv_kernel_banks

logger = logging.getLogger(__name__)

DEFAULT_EVERY_BATCHES = 200
RescoreReport = dict


@dataclass
class Rescore:
    """What to re-score during a run, how often, and whom to tell (see the module's docstring)."""

    image: np.ndarray | Callable[[], np.ndarray | None] | None  # 28x28 white on black in [0, 1], or its getter
    on_rescore: Callable[[RescoreReport], None]
    every_batches: int = DEFAULT_EVERY_BATCHES
    filters: bool = True  # send the conv kernels at each epoch's end

    def current_image(self) -> np.ndarray | None:
        """The drawing to score now (None: nothing drawn)."""
        image = self.image() if callable(self.image) else self.image
        return None if image is None else np.asarray(image, dtype=np.float32)


def make_rescore_callback(rescore: Rescore, metadata, train_size: int):
    """A Keras callback that reports ``rescore``'s drawing as the model being trained scores it."""
    import keras

    from ml.inference.calibration import as_probabilities
    from ml.models.classifier import ends_in_sigmoids, outputs_probabilities

    every = max(1, int(rescore.every_batches))

    class RescoreDrawing(keras.callbacks.Callback):
        """Scores one drawing every ``every`` batches and at each epoch's end."""

        def __init__(self) -> None:
            super().__init__()
            self.failed = False
            self.epoch = 0
            self.last_batch = 0
            self.cut_short = False

        def on_train_begin(self, logs=None) -> None:
            self.applies_softmax = not outputs_probabilities(self.model)
            self.sigmoid_per_class = ends_in_sigmoids(self.model)
            self.input_shape = tuple(self.model.inputs[0].shape[1:])

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None) -> None:
            steps = self.params.get("steps") or 0
            self.last_batch = batch + 1
            if (batch + 1) % every == 0 and batch + 1 != steps:
                self.report(batch + 1, epoch_end=False)

        def on_epoch_end(self, epoch, logs=None) -> None:
            steps = self.params.get("steps") or 0
            self.cut_short = bool(self.model.stop_training) and 0 < self.last_batch < steps
            if not self.cut_short:  # a stopped epoch is scored by report_after_stop, once batch norm is mended
                self.report(steps, epoch_end=True)

        def report_after_stop(self, model) -> None:
            """Score the drawing where a stop cut the epoch short, with ``model`` as it will be tested."""
            if self.cut_short:
                self.cut_short = False
                self.report(self.last_batch, epoch_end=True, model=model)

        def report(self, batch: int, epoch_end: bool, model=None) -> None:
            steps = self.params.get("steps") or 0
            per_batch = math.ceil(train_size / steps) if steps else 0
            seen = self.epoch * train_size + min(train_size, batch * per_batch)
            rescore.on_rescore(
                {
                    "epoch": self.epoch + 1,
                    "batch": batch,
                    "steps": steps,
                    "seen": int(seen),
                    "probabilities": self.probabilities(model or self.model),
                    "epoch_end": epoch_end,
                    "filters": conv_kernel_banks(model or self.model) if epoch_end and rescore.filters else None,
                }
            )

        def probabilities(self, model) -> np.ndarray | None:
            if self.failed:
                return None
            try:
                image = rescore.current_image()
                if image is None:
                    return None
                batch = prepare_for_model(image[np.newaxis], self.input_shape, metadata)
                raw = np.asarray(model(batch, training=False), dtype=np.float32)[0]
            except Exception:  # noqa: BLE001 - a drawing the model cannot take must not end the run
                logger.exception("Re-scoring the drawing failed; the run goes on without it.")
                self.failed = True
                return None
            return as_probabilities(raw, self.applies_softmax, self.sigmoid_per_class).astype(np.float32)

    return RescoreDrawing()
