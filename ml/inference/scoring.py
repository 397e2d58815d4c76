"""Class probabilities for batches: one traced graph per model, softmax for logits, the stored temperature applied.

The :class:`~ml.inference.predictor.Predictor` scores its batches here, and so does the evaluation
(``ml.evaluation``): both show the same numbers.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ml.inference.calibration import apply_temperature, as_probabilities
from ml.inference.model_input import prepare_for_model
from ml.models.classifier import ends_in_sigmoids, outputs_probabilities
from ml.models.files import LoadedModel


class BatchScorer:
    """Probabilities for batches of a loaded model's inputs, through one traced ``tf.function`` (any batch size)."""

    def __init__(self, loaded: LoadedModel) -> None:
        """Trace nothing yet: the graph is traced on the first batch."""
        self.loaded = loaded
        self.applies_softmax = not outputs_probabilities(loaded.model)
        self.sigmoid_per_class = ends_in_sigmoids(loaded.model)  # scores divided by their sum
        self.input_shape = tuple(loaded.input_shape)
        model = loaded.model
        self._graph = tf.function(
            lambda batch: model(batch, training=False),
            input_signature=[tf.TensorSpec((None, *self.input_shape), tf.float32)],
            reduce_retracing=True,
        )

    @property
    def temperature(self) -> float | None:
        """The model card's temperature (read live, so a calibration applies at once), or None."""
        return self.loaded.metadata.temperature

    def prepare(self, images: np.ndarray) -> np.ndarray:
        """Digit Lab's (N, H, W) white-on-black [0, 1] images -> the float32 batch this model expects."""
        return prepare_for_model(images, self.input_shape, self.loaded.metadata)

    def raw_outputs(self, batch: np.ndarray) -> np.ndarray:
        """The model's outputs for a prepared batch, as numpy (logits or probabilities, as the model gives them)."""
        return self._graph(np.ascontiguousarray(batch, dtype=np.float32)).numpy()

    def raw_probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Uncalibrated probabilities for a prepared batch."""
        return as_probabilities(self.raw_outputs(batch), self.applies_softmax, self.sigmoid_per_class)

    def calibrate(self, probabilities: np.ndarray) -> np.ndarray:
        """Raw probabilities -> the ones Digit Lab shows (temperature-scaled when the card has a temperature)."""
        return apply_temperature(probabilities, self.temperature)
