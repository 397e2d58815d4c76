"""evaluate(): batches with progress and stop, calibrated and raw probabilities, colour folders, clear failures."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

from ml.evaluation.run import EvaluationFailed, EvaluationStopped, evaluate
from ml.evaluation.sets import load_evaluation_set
from ml.inference.predictor import Predictor
from ml.models.files import LoadedModel
from ml.models.metadata import ModelMetadata
from tests.ml.evaluation.tiny import tiny_digit_model


@pytest.fixture(scope="module")
def tiny():
    return tiny_digit_model()


@pytest.fixture(scope="module")
def mnist_sample(tiny):
    return load_evaluation_set("mnist-test", tiny).subset(np.arange(700))


def test_evaluate_reports_progress_per_batch_and_matches_the_predictor(tiny, mnist_sample):
    seen = []
    evaluation = evaluate(tiny, mnist_sample, batch_size=256, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(256, 700), (512, 700), (700, 700)]
    expected = Predictor(tiny).predict_batch(mnist_sample.images)
    np.testing.assert_allclose(evaluation.probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(evaluation.predictions, expected.argmax(axis=1))
    assert evaluation.report.accuracy == pytest.approx(np.mean(evaluation.correct))
    assert evaluation.report.accuracy > 0.4 and evaluation.model_name == tiny.display_name  # far above chance


def test_a_stored_temperature_reaches_the_evaluation_and_the_predictor_alike(tiny, mnist_sample):
    tiny.metadata.temperature = 2.0
    try:
        evaluation = evaluate(tiny, mnist_sample)
        np.testing.assert_allclose(evaluation.probabilities, Predictor(tiny).predict_batch(mnist_sample.images),
                                   atol=1e-5)  # fmt: skip
        assert (evaluation.confidence < evaluation.raw_probabilities.max(axis=1) + 1e-6).all()
        assert evaluation.report.temperature == 2.0
    finally:
        tiny.metadata.temperature = None


def test_stop_ends_the_evaluation(tiny, mnist_sample):
    calls = []

    def stop_after_one_batch() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(EvaluationStopped):
        evaluate(tiny, mnist_sample, batch_size=256, should_stop=stop_after_one_batch)
    assert len(calls) == 2


def test_a_model_that_gives_nan_fails_with_one_clear_message(mnist_sample):
    inputs = keras.Input((28, 28, 1))
    flat = keras.layers.Flatten()(inputs)
    nan = keras.layers.Lambda(lambda x: x * np.float32("nan"))(keras.layers.Dense(10)(flat))
    model = keras.Model(inputs, keras.layers.Softmax()(nan))
    broken = LoadedModel(model, ModelMetadata(), None, True)
    with pytest.raises(EvaluationFailed, match="NaN or infinite scores"):
        evaluate(broken, mnist_sample.subset(np.arange(10)))


def test_a_colour_model_reads_a_colour_folder_in_colour(tmp_path):
    for name, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (tmp_path / name).mkdir()
        for index in range(3):
            Image.new("RGB", (16, 16), colour).save(tmp_path / name / f"{index}.png")
    inputs = keras.Input((12, 12, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    dense = keras.layers.Dense(2, activation="softmax")
    model = keras.Model(inputs, dense(pooled))
    dense.set_weights([np.asarray([[-10.0, 10.0], [0.0, 0.0], [10.0, -10.0]], np.float32), np.zeros(2, np.float32)])
    loaded = LoadedModel(model, ModelMetadata(class_names=["blue", "red"]), None, True)
    evaluation = evaluate(loaded, load_evaluation_set("folder", loaded, folder=tmp_path))
    assert evaluation.report.accuracy == 1.0  # in grey, red and blue would look alike
