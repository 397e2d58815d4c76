"""A model trained on scikit-learn's 8x8 digits is exported and verified on those digits, not on MNIST shrunk."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from ml.data.datasets import load_sklearn_digits, match_dataset_format
from ml.export.exporter import export_model
from ml.export.verification import sklearn_digits_reference, trained_on_sklearn_digits
from ml.models.files import LoadedModel
from ml.models.metadata import ModelMetadata


def features_model(seed: int = 0) -> LoadedModel:
    """A small MLP on the 64 standardized pixels, as the ``mlp-digits`` preset trains it (a few seconds)."""
    keras.utils.set_random_seed(0)
    digits = load_sklearn_digits(seed=seed, upscale=False)
    features = digits.x_train.reshape(len(digits.x_train), -1)
    mean, std = features.mean(axis=0), features.std(axis=0)
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs, name="tiny_digits_mlp")
    model.compile("adam", "sparse_categorical_crossentropy")
    standardized = (features - mean) / np.where(std == 0, 1.0, std)
    model.fit(standardized, digits.y_train, epochs=20, batch_size=32, verbose=0)
    metadata = ModelMetadata(
        dataset="sklearn-digits",
        preset="mlp-digits",
        input_scale="standardize",
        input_mean=[float(value) for value in mean],
        input_std=[float(value) for value in std],
        hyperparameters={"seed": seed},
    )
    return LoadedModel(model, metadata, None, True)


@pytest.fixture(scope="module")
def eight_by_eight():
    return features_model(seed=3)


def test_an_8x8_models_int8_export_is_verified_on_8x8_digits_and_kept(eight_by_eight, tmp_path):
    messages: list[str] = []
    report = export_model(eight_by_eight, "tflite-int8", tmp_path / "digits8.tflite", progress=messages.append)
    check = report.verification
    assert check.images == 540  # scikit-learn's held-out 30 %, not 1,000 MNIST images shrunk to 8x8
    assert check.keras_accuracy is not None and check.keras_accuracy > 0.9  # on MNIST shrunk it read about half
    assert check.accuracy_drop is not None and check.accuracy_drop <= 0.02
    assert report.as_lines()[1].startswith("verified on 540 scikit-learn digits test images:")
    assert "Writing TensorFlow Lite, full-integer int8 (quantised with 200 scikit-learn digits training images)…" in (
        messages
    )
    card = json.loads((tmp_path / "digits8.tflite.json").read_text())
    assert card["verification"]["reference"] == "scikit-learn digits"


def test_the_reference_is_the_split_the_model_was_tested_on(eight_by_eight):
    reference = sklearn_digits_reference(eight_by_eight, calibration_count=20)
    held_out = load_sklearn_digits(seed=3, upscale=False)
    assert reference.test_images.shape == (540, 8, 8)
    np.testing.assert_array_equal(reference.test_images, held_out.x_test[..., 0])
    np.testing.assert_array_equal(reference.test_labels, held_out.y_test)
    assert reference.calibration_images.shape == (20, 8, 8)


@pytest.mark.parametrize("side", [28, 8])
def test_an_image_model_of_those_digits_gets_them_as_training_gave_them(side):
    """Enlarged to 28x28, then resized to ``--image-size``: an 8x8 image model read 37.6 % on the raw 8x8 digits,
    81.1 % (its card's figure) on these."""
    model = keras.Sequential([keras.Input((side, side, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    loaded = LoadedModel(model, ModelMetadata(dataset="sklearn-digits", hyperparameters={"seed": 2}), None, True)
    reference = sklearn_digits_reference(loaded, test_count=10, calibration_count=5)
    trained_on = match_dataset_format(load_sklearn_digits(seed=2), None if side == 28 else side, "grayscale")
    np.testing.assert_array_equal(reference.test_images, trained_on.x_test[:10, ..., 0])
    assert reference.calibration_images.shape == (5, side, side)


def test_which_models_are_verified_on_scikit_learn_digits():
    flat64 = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    flat784 = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    assert trained_on_sklearn_digits(LoadedModel(flat64, ModelMetadata(dataset=None), None, True))  # no card: 8x8
    assert not trained_on_sklearn_digits(LoadedModel(flat64, ModelMetadata(dataset="mnist"), None, True))
    assert not trained_on_sklearn_digits(LoadedModel(flat784, ModelMetadata(dataset=None), None, True))
