"""Reliability bins and ECE on hand-made cases; temperature scaling lowers the validation NLL, keeps the
predictions, and its temperature survives a save and a load."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml.evaluation.calibration import (
    apply_temperature,
    calibrate_model,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability,
)
from ml.models.files import load_model, save_model
from ml.models.metadata import ModelMetadata
from tests.ml.evaluation.tiny import tiny_digit_model


def two_class(confidences: list[float], correct: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Two-class probabilities whose top class (class 0) has ``confidences``; labels right where ``correct``."""
    top = np.asarray(confidences)
    probabilities = np.stack([top, 1 - top], axis=1)
    labels = np.where(np.asarray(correct), 0, 1)
    return probabilities, labels


def test_ece_on_a_hand_made_case():
    # Bin (0.8, 0.867]: four at 0.85, three right -> |0.75 - 0.85| = 0.10, weight 4/6.
    # Bin (0.933, 1.0]: two at 0.95, both right -> |1.0 - 0.95| = 0.05, weight 2/6.
    probabilities, labels = two_class([0.85] * 4 + [0.95] * 2, [True, True, True, False, True, True])
    assert expected_calibration_error(probabilities, labels) == pytest.approx(4 / 6 * 0.10 + 2 / 6 * 0.05)


def test_reliability_bins_count_every_prediction_where_it_belongs():
    probabilities, labels = two_class([0.5, 0.55, 1.0, 0.99, 0.7], [True, False, True, True, False])
    bins = reliability(probabilities, labels)
    assert len(bins.counts) == 15 and bins.counts.sum() == 5
    assert bins.counts[7] == 1 and bins.counts[8] == 1  # 0.5 in (7/15, 8/15], 0.55 in (8/15, 9/15]
    assert bins.accuracy[7] == 1.0 and bins.accuracy[8] == 0.0
    assert bins.counts[14] == 2  # 0.99 and 1.0 share the last bin (0.933, 1.0]
    assert bins.accuracy[14] == 1.0 and bins.mean_confidence[14] == pytest.approx(0.995)


def test_a_perfectly_calibrated_case_has_no_error():
    probabilities, labels = two_class([0.75] * 4, [True, True, True, False])
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0)


def overconfident(count: int = 4000, sharpen: float = 3.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities drawn from a calibrated 10-class model, then sharpened as softmax(logits * sharpen)."""
    generator = np.random.default_rng(seed)
    logits = generator.normal(0, 1.5, (count, 10))
    calibrated = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.asarray([generator.choice(10, p=row) for row in calibrated])
    sharp = np.exp(logits * sharpen)
    return sharp / sharp.sum(axis=1, keepdims=True), labels


def test_temperature_undoes_overconfidence_and_lowers_the_nll():
    probabilities, labels = overconfident()
    temperature = fit_temperature(probabilities, labels)
    assert temperature == pytest.approx(3.0, rel=0.1)
    assert negative_log_likelihood(probabilities, labels, temperature) < 0.8 * negative_log_likelihood(
        probabilities, labels
    )
    calibrated = apply_temperature(probabilities, temperature)
    np.testing.assert_array_equal(calibrated.argmax(axis=1), probabilities.argmax(axis=1))
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, atol=1e-9)
    assert expected_calibration_error(calibrated, labels) < expected_calibration_error(probabilities, labels) / 3


def test_apply_temperature_of_none_or_one_changes_nothing_and_refuses_nonsense():
    probabilities, _ = overconfident(10)
    assert apply_temperature(probabilities, None) is probabilities
    assert apply_temperature(probabilities, 1.0) is probabilities
    with pytest.raises(ValueError):
        apply_temperature(probabilities, -1.0)


def test_a_card_refuses_a_temperature_it_cannot_use():
    assert ModelMetadata.from_json('{"temperature": 1.5}').temperature == 1.5
    assert ModelMetadata.from_json('{"temperature": -2}').temperature is None
    assert ModelMetadata.from_json('{"temperature": "hot"}').temperature is None
    assert ModelMetadata().calibration_note() is None


@pytest.fixture(scope="module")
def tiny():
    return tiny_digit_model()


def test_calibrating_a_model_lowers_its_validation_nll_and_the_temperature_survives_save_and_load(tiny, tmp_path):
    result = calibrate_model(tiny)
    assert result.images == 5000 and "validation" in result.source
    assert result.nll_after < result.nll_before
    assert tiny.metadata.temperature == result.temperature != 1.0
    assert tiny.metadata.calibration["nll_after"] == pytest.approx(result.nll_after)
    assert f"T = {result.temperature:.3g}" in tiny.metadata.calibration_note()
    for suffix in (".keras", ".h5"):
        path = save_model(tiny.model, tmp_path / f"calibrated{suffix}", tiny.metadata)
        loaded = load_model(path)
        assert math.isclose(loaded.metadata.temperature, result.temperature, rel_tol=1e-12)
        assert loaded.metadata.calibration["images"] == 5000


def test_calibration_never_looks_at_the_test_set(tiny, monkeypatch):
    import ml.evaluation.sets as sets

    seen = []
    original = sets.split_validation

    def spy(x, y, size, seed):
        seen.append(len(x))
        return original(x, y, size, seed)

    monkeypatch.setattr(sets, "split_validation", spy)
    calibrate_model(tiny, store=False)
    assert seen == [60000]  # carved out of MNIST's 60,000 training images, as the training run did
