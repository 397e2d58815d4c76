"""An image model trained on scikit-learn's 8x8 digits is judged on its test split in the form it learnt them
(enlarged to 28x28, then resized to its input), as training and the export's verification read them: on the raw
8x8 digits an 8x8 image model read 37.6 % where its card said 81 %."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data.datasets import load_dataset
from ml.evaluation.run import evaluate
from ml.evaluation.sets import load_evaluation_set, load_validation_set
from ml.export.verification import sklearn_digits_reference
from tests.ml.evaluation.tiny import tiny_sklearn_digits_image_model

SEED = 2


@pytest.fixture(scope="module")
def image_model_8x8():
    return tiny_sklearn_digits_image_model(side=8, seed=SEED)


def test_an_8x8_image_models_evaluation_matches_its_accuracy_on_its_own_test_split(image_model_8x8):
    trained_on = load_dataset("sklearn-digits", seed=SEED, image_size=8)
    predictions = image_model_8x8.model.predict(trained_on.x_test, verbose=0).argmax(axis=1)
    own = float(np.mean(predictions == trained_on.y_test))
    assert own > 0.6  # the tiny model learnt something, so the raw 8x8 digits (read far worse) tell apart

    eval_set = load_evaluation_set("sklearn-digits", image_model_8x8)
    evaluation = evaluate(image_model_8x8, eval_set)
    print(f"own test split {own:.3f}, evaluation {evaluation.report.accuracy:.3f}")
    assert evaluation.report.accuracy == pytest.approx(own, abs=0.005)
    np.testing.assert_array_equal(eval_set.images, trained_on.x_test[..., 0])
    np.testing.assert_array_equal(eval_set.labels, trained_on.y_test)


def test_training_evaluation_and_export_read_the_same_digits(image_model_8x8):
    trained_on = load_dataset("sklearn-digits", seed=SEED, image_size=8)
    eval_set = load_evaluation_set("digits-test", image_model_8x8)
    reference = sklearn_digits_reference(image_model_8x8, calibration_count=5)
    np.testing.assert_array_equal(reference.test_images, eval_set.images)
    validation = load_validation_set(image_model_8x8)
    np.testing.assert_array_equal(validation.images, trained_on.x_val[..., 0])
    np.testing.assert_array_equal(validation.labels, trained_on.y_val)
