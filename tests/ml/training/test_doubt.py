"""A run's last step fits the not-a-digit decision on its validation digits and generated material, and its card
carries it; runs that cannot fit one keep the default (uncalibrated)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ml.data.datasets import load_mnist
from ml.doubt.scorer import DoubtSettings
from ml.doubt.verdict import DoubtJudge
from ml.training import doubt as run_doubt
from ml.training.config import TrainConfig, TrainResult


def run_result(model, **fields) -> TrainResult:
    return TrainResult(model, TrainConfig(), {}, None, None, "CPU", 1, **fields)


@pytest.fixture(scope="module")
def small_mnist():
    mnist = load_mnist()
    return dataclasses.replace(
        mnist,
        x_train=mnist.x_train[:600],
        y_train=mnist.y_train[:600],
        x_val=mnist.x_val[:1000],
        y_val=mnist.y_val[:1000],
    )


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )


def test_a_run_fits_a_decision_that_its_card_carries(small_mnist, model, monkeypatch):
    monkeypatch.setattr(run_doubt, "MATERIAL_PER_FAMILY", 30)
    fitted = run_doubt.fit_run_doubt(model, small_mnist, from_logits=False, temperature=1.3, streamed=False)
    settings = DoubtSettings.from_dict(fitted)
    assert settings.uses_probabilities and 0.5 <= settings.threshold < 1.0
    assert settings.uses_detector and "not-a-digit detector" in settings.method
    assert settings.fitted_on["validation_digits"] == 1000
    assert settings.rates["validation digits"] <= 0.01  # 500 threshold digits: at most a few refused
    result = run_result(model, class_names=list(small_mnist.class_names), doubt=fitted)
    card = result.metadata()
    assert card.doubt == fitted
    judge = DoubtJudge(type("Loaded", (), {"metadata": card})())
    assert judge.calibrated and judge.settings == settings


def test_a_sigmoid_heads_decision_is_fitted_on_the_probabilities_the_window_shows(small_mnist, monkeypatch):
    """One sigmoid per class: the Predictor divides the scores by their sum, so the decision must learn from those."""
    import keras

    import ml.doubt.fitting as fitting

    seen = []

    def fit_doubt(probabilities_of, validation, *args, **kwargs):
        seen.append(probabilities_of(validation[:64]))
        return DoubtSettings((), (), (), (), threshold=0.5)

    monkeypatch.setattr(fitting, "fit_doubt", fit_doubt)
    sigmoid_head = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="sigmoid")]
    )
    run_doubt._fit(sigmoid_head, small_mnist, from_logits=False, temperature=None)
    assert seen and np.allclose(seen[0].sum(axis=1), 1.0, atol=1e-6)


def test_runs_that_cannot_fit_one_keep_the_default(small_mnist, model):
    few = dataclasses.replace(small_mnist, x_val=small_mnist.x_val[:200], y_val=small_mnist.y_val[:200])
    fashion = dataclasses.replace(small_mnist, class_names=[f"class {index}" for index in range(10)])
    features = dataclasses.replace(small_mnist, input_scale="standardize")
    for dataset in (few, fashion, features):
        assert run_doubt.fit_run_doubt(model, dataset, False, None, streamed=False) == {}
    assert run_doubt.fit_run_doubt(model, small_mnist, False, None, streamed=True) == {}
    broken = type("Broken", (), {"inputs": None})()
    assert run_doubt.fit_run_doubt(broken, small_mnist, False, None, streamed=False) == {}  # logged, not raised
    result = run_result(model)
    assert result.metadata().doubt == {}
    assert not np.any([DoubtJudge(type("Loaded", (), {"metadata": result.metadata()})()).calibrated])
