"""A training run's last step after the temperature: fit the not-a-digit decision for the new model on its validation
digits and on generated tuning material (never on its test set), so the card carries it like the temperature."""

from __future__ import annotations

import logging

import numpy as np

from ml.doubt.verdict import DIGIT_CLASS_NAMES

logger = logging.getLogger(__name__)

MIN_VALIDATION_DIGITS = 1000  # fewer (a quick run on a small subset): the card keeps the default, marked uncalibrated
MATERIAL_PER_FAMILY = 100  # tuning drawings per family (17) and half: about 45 s of CPU (150: 63 s)
TRAINING_DIGITS_REDRAWN = 3000


def fit_run_doubt(model, dataset, from_logits: bool, temperature: float | None, streamed: bool) -> dict:
    """The card's ``doubt`` entry for a run's model, or {} when the run cannot fit one (other classes than the
    digits, a streamed folder, images that are not 28x28, too few validation digits, or a failure, logged)."""
    if streamed or list(dataset.class_names) != DIGIT_CLASS_NAMES or len(dataset.x_val) < MIN_VALIDATION_DIGITS:
        return {}
    if dataset.input_scale != "0-1":  # standardized features are not images to draw material beside
        return {}
    if tuple(dataset.x_val.shape[1:3]) != (28, 28) or (dataset.x_val.ndim == 4 and dataset.x_val.shape[3] != 1):
        return {}
    try:
        return _fit(model, dataset, from_logits, temperature)
    except Exception:  # noqa: BLE001 - the run's model is good without it; the card then says uncalibrated
        logger.warning("Could not fit the not-a-digit decision for this run", exc_info=True)
        return {}


def _fit(model, dataset, from_logits: bool, temperature: float | None) -> dict:
    import tensorflow as tf

    from ml.doubt.fitting import fit_doubt
    from ml.inference.calibration import apply_temperature
    from ml.inference.model_input import prepare_for_model
    from ml.inference.scoring import as_probabilities
    from ml.models.classifier import ends_in_sigmoids
    from ml.models.metadata import ModelMetadata

    sigmoid_per_class = ends_in_sigmoids(model)  # as the Predictor reads it: the scores over their sum
    card = ModelMetadata(
        class_names=list(dataset.class_names),
        input_scale=dataset.input_scale,
        input_mean=dataset.input_mean,
        input_std=dataset.input_std,
    )
    input_shape = tuple(int(size) for size in model.inputs[0].shape[1:])
    forward = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)

    def probabilities_of(images28: np.ndarray) -> np.ndarray:
        rows = []
        for start in range(0, len(images28), 512):
            batch = prepare_for_model(images28[start : start + 512], input_shape, card)
            raw = np.asarray(forward(tf.constant(batch)), np.float64)
            rows.append(as_probabilities(raw, from_logits, sigmoid_per_class))
        return apply_temperature(np.concatenate(rows), temperature)

    as_28 = lambda images: np.asarray(images, np.float32).reshape(len(images), 28, 28)  # noqa: E731
    settings = fit_doubt(
        probabilities_of,
        as_28(dataset.x_val),
        as_28(dataset.x_train[:TRAINING_DIGITS_REDRAWN]),
        np.asarray(dataset.y_train[:TRAINING_DIGITS_REDRAWN]),
        per_family=MATERIAL_PER_FAMILY,
    )
    return settings.as_dict()
