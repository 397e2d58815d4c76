"""How good the model a run would replace is, on the run's own test set."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ml.errors import TrainingError
from ml.training.config import TrainConfig, TrainResult
from ml.training.pipelines import TEST_BATCH_SIZE, fit_inputs_to_model

FIXED_TEST_SETS = ("mnist", "fashion-mnist")  # test sets that do not depend on the run's seed or image settings


@dataclass(frozen=True)
class ReferenceAccuracy:
    """Another model's test accuracy, to compare a new run with: on the run's own test set, or as recorded."""

    accuracy: float
    dataset: str | None
    same_test_set: bool


def has_same_test_set(metadata, config: TrainConfig) -> bool:
    """True when ``metadata``'s recorded test accuracy was measured on the test set ``config`` tests on."""
    recorded = metadata.hyperparameters or {}
    if metadata.dataset != config.dataset or recorded.get("data_file") != config.data_file:
        return False
    if recorded.get("max_test_samples") is not None or config.max_test_samples is not None:
        return False
    if config.dataset in FIXED_TEST_SETS:
        return True
    return config.dataset == "sklearn-digits" and recorded.get("seed") == config.seed  # its split follows the seed


def accuracy_on_test_set(loaded, result: TrainResult) -> float | None:
    """``loaded``'s accuracy on ``result``'s test set, or None when it cannot read those inputs or classes."""
    metadata = loaded.metadata
    if result.test_images is None or list(metadata.class_names) != list(result.class_names):
        return None
    same_scaling = (metadata.input_scale, metadata.input_mean, metadata.input_std) == (
        result.input_scale,
        result.input_mean,
        result.input_std,
    )
    if not same_scaling or metadata.input_polarity != "white_on_black":
        return None
    try:
        images = fit_inputs_to_model(loaded.model, result.test_images)
    except TrainingError:
        return None
    scores = loaded.model.predict(images, batch_size=TEST_BATCH_SIZE, verbose=0)
    return float(np.mean(np.argmax(scores, axis=-1) == np.asarray(result.test_labels)))


def reference_accuracy(path: str | os.PathLike, result: TrainResult) -> ReferenceAccuracy | None:
    """How well the model in ``path`` does on the test set ``result`` was tested on, to compare the two fairly.

    Its recorded accuracy when that was measured on the same test set; else it is evaluated on ``result``'s test
    images; else (other classes or inputs) its recorded accuracy on its own dataset; None when nothing is known.
    """
    from ml.errors import ModelFileError
    from ml.models.files import load_model

    try:
        loaded = load_model(path)
    except ModelFileError:
        return None
    metadata = loaded.metadata
    if metadata.test_accuracy is not None and has_same_test_set(metadata, result.config):
        return ReferenceAccuracy(float(metadata.test_accuracy), result.config.dataset, True)
    measured = accuracy_on_test_set(loaded, result)
    if measured is not None:
        return ReferenceAccuracy(measured, result.config.dataset, True)
    if metadata.test_accuracy is not None:
        return ReferenceAccuracy(float(metadata.test_accuracy), metadata.dataset, False)
    return None
