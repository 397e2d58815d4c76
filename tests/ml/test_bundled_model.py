"""The bundled model: its test accuracy, and robustness to digits re-drawn on a canvas."""

from __future__ import annotations

import numpy as np
import pytest

from ml.assets import bundled_model_path
from ml.data.datasets import load_mnist
from ml.inference.predictor import Predictor
from ml.models.files import load_model
from ml.preprocess.pipeline import render_mnist_on_canvas, to_mnist


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(load_model(bundled_model_path()))


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(validation_size=0)


def test_bundled_model_is_small_and_carries_its_story():
    loaded = load_model(bundled_model_path())
    assert bundled_model_path().stat().st_size <= 10 * 1024 * 1024
    assert loaded.has_metadata
    assert loaded.metadata.preset == "best"
    assert loaded.metadata.class_names == [str(digit) for digit in range(10)]
    assert loaded.metadata.test_accuracy >= 0.9970 - 1e-6  # Keras stores its float32 metric: 9970/10000 ≈ 0.99699998
    assert len(loaded.metadata.history["val_accuracy"]) == loaded.metadata.hyperparameters["epochs"]


def test_bundled_model_reaches_99_7_percent_on_the_mnist_test_set(predictor, mnist):
    probabilities = predictor.predict_batch(mnist.x_test[..., 0])
    assert np.mean(probabilities.argmax(axis=1) == mnist.y_test) >= 0.9970


@pytest.mark.parametrize(
    "box",
    [(20, 20, 240, 240), (10, 10, 70, 70), (190, 190, 80, 80)],
    ids=["large-centred", "small-top-left", "small-bottom-right"],
)
def test_mnist_digits_redrawn_on_a_canvas_stay_recognised(predictor, mnist, box):
    digits, labels = mnist.x_test[:500, ..., 0], mnist.y_test[:500]
    prepared = []
    for digit in digits:
        canvas = render_mnist_on_canvas(digit, 280, box=box, ink_dark=True)
        result = to_mnist(canvas)
        assert not result.blank
        prepared.append(result.image)
    predicted = predictor.predict_batch(np.stack(prepared)).argmax(axis=1)
    assert np.mean(predicted == labels) >= 0.99
