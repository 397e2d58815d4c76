"""A temperature fitted on validation data is applied only when it can be trusted: enough images, off the bounds
of the search range, and no worse on the validation ECE and NLL; otherwise the model stays uncalibrated."""

from __future__ import annotations

import numpy as np
import pytest

import ml.inference.calibration as calibration
from ml.inference.calibration import fit_on_validation
from tests.ml.evaluation.test_calibration import overconfident


def assert_not_applied(result, words: str) -> None:
    assert result.temperature == 1.0 and not result.applied
    assert result.as_metadata() == {}
    assert result.as_text().startswith("not calibrated: ") and words in result.as_text()
    assert (result.ece_after, result.nll_after) == (result.ece_before, result.nll_before)


def test_two_validation_images_are_too_few():
    probabilities = np.asarray([[0.99, 0.01], [0.02, 0.98]])
    result = fit_on_validation(probabilities, np.asarray([1, 1]), "a folder's validation split")
    assert_not_applied(result, "only 2 validation images (at least 100 needed)")
    assert result.images == 2


def test_a_temperature_on_the_bound_of_the_search_is_not_applied():
    # Sure of every answer and right only by chance: the NLL keeps falling as T grows, up to the bound (20).
    generator = np.random.default_rng(1)
    probabilities = np.full((300, 10), 1e-6)
    probabilities[np.arange(300), generator.integers(0, 10, 300)] = 1.0
    result = fit_on_validation(probabilities, generator.integers(0, 10, 300), "validation")
    assert_not_applied(result, "bound of the search range")


@pytest.mark.parametrize("confidence", [0.6, 0.9, 0.99])
def test_a_validation_read_all_right_does_not_pin_a_temperature_down(confidence):
    """Every image right with room to spare: the NLL falls flat towards the lower bound, and the search stopped on
    that plateau (T = 0.069-0.119, then 0.0504 in a real run), which made every answer about 100 % sure."""
    generator = np.random.default_rng(0)
    labels = generator.integers(0, 10, 300)
    probabilities = np.full((300, 10), (1 - confidence) / 9)
    probabilities[np.arange(300), labels] = confidence
    result = fit_on_validation(probabilities, labels, "validation")
    assert_not_applied(result, "do not pin it down")


def test_a_temperature_that_worsens_the_validation_is_not_applied(monkeypatch):
    probabilities, labels = overconfident(1000, 1.0)  # already calibrated: T = 3 can only make it worse
    monkeypatch.setattr(calibration, "fit_temperature", lambda probabilities, labels: 3.0)
    result = fit_on_validation(probabilities, labels, "validation")
    assert_not_applied(result, "would make the validation worse")


def test_a_sound_fit_is_applied():
    probabilities, labels = overconfident(1000, 3.0)
    result = fit_on_validation(probabilities, labels, "validation")
    assert result.applied and result.refusal is None
    assert result.temperature == pytest.approx(3.0, rel=0.15)
    assert result.ece_after < result.ece_before and result.nll_after < result.nll_before
    assert result.as_metadata()["images"] == 1000 and result.as_text().startswith("temperature ")


def test_the_minimum_is_enough_for_a_sound_fit():
    probabilities, labels = overconfident(calibration.MIN_CALIBRATION_IMAGES, 3.0)
    assert fit_on_validation(probabilities, labels, "validation").applied
