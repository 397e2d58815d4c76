"""A training run ends by fitting temperature scaling on its validation split; the card carries it."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data.datasets import load_dataset
from ml.evaluation.calibration import negative_log_likelihood
from ml.inference.scoring import as_probabilities
from ml.training.calibration import fit_run_temperature
from ml.training.config import TrainConfig
from ml.training.fit import fit
from ml.training.pipelines import make_eval_pipeline


@pytest.fixture(scope="module")
def digits_features():
    return load_dataset("sklearn-digits", representation="features")


def test_a_run_fits_its_temperature_on_the_validation_split(digits_features):
    config = TrainConfig(preset="mlp-digits", epochs=2, batch_size=64)
    result = fit(config, dataset=digits_features)
    calibration = result.calibration
    assert calibration is not None and calibration.images == len(digits_features.y_val)
    assert calibration.nll_after <= calibration.nll_before
    raw = as_probabilities(np.asarray(result.model.predict(digits_features.x_val, verbose=0)), False)
    assert negative_log_likelihood(raw, digits_features.y_val) == pytest.approx(calibration.nll_before, rel=1e-4)
    card = result.metadata()
    assert card.temperature == calibration.temperature
    assert card.calibration["split"] == "validation" and card.calibration["images"] == calibration.images
    assert "calibrated" in card.calibration_note()


def test_no_validation_split_means_no_temperature(digits_features):
    assert fit_run_temperature(object(), None, from_logits=False) is None
    empty = make_eval_pipeline(digits_features.x_val[:0], digits_features.y_val[:0], 32)
    assert fit_run_temperature(lambda batch, training: batch, empty, from_logits=False) is None


def test_a_run_with_too_few_validation_images_stays_uncalibrated_and_says_so():
    dataset = load_dataset("sklearn-digits", representation="features", validation_size=20)
    result = fit(TrainConfig(preset="mlp-digits", epochs=1, batch_size=64), dataset=dataset)
    assert not result.calibration.applied
    assert "not calibrated: only 20 validation images (at least 100 needed)" in result.notes  # the window shows notes
    card = result.metadata()
    assert card.temperature is None and card.calibration == {} and card.calibration_note() is None
