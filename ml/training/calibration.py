"""A training run's last step: temperature scaling fitted on its validation split (never its test set)."""

from __future__ import annotations

import numpy as np

from ml.inference.calibration import CalibrationResult, fit_on_validation
from ml.inference.scoring import as_probabilities


def fit_run_temperature(model, validation, from_logits: bool) -> CalibrationResult | None:
    """Score the run's validation pipeline (batches of (images, labels)) and fit the temperature on it.

    None without validation images, or when the model's scores are not finite (nothing trustworthy to fit).
    """
    if validation is None:
        return None
    import tensorflow as tf

    forward = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)
    outputs, labels = [], []
    for images, batch_labels in validation:
        outputs.append(np.asarray(forward(images), dtype=np.float32))
        labels.append(np.asarray(batch_labels, dtype=np.int64).reshape(-1))
    if not outputs:
        return None
    probabilities = as_probabilities(np.concatenate(outputs), from_logits)
    if not np.isfinite(probabilities).all():
        return None
    return fit_on_validation(probabilities, np.concatenate(labels), "the run's validation split")
