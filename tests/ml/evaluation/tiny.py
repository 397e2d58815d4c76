"""A tiny digit CNN trained for two epochs on 2,000 MNIST images (a few seconds), shared by the evaluation tests."""

from __future__ import annotations

import keras
import numpy as np

from ml.data.sources import read_mnist_arrays
from ml.models.files import LoadedModel
from ml.models.metadata import ModelMetadata


def tiny_digit_model() -> LoadedModel:
    """A small, far from perfect MNIST classifier (about 60 % accurate) with a card naming MNIST."""
    keras.utils.set_random_seed(0)
    arrays = read_mnist_arrays()
    images = arrays["x_train"][-2000:].astype(np.float32)[..., None] / 255.0
    inputs = keras.Input((28, 28, 1))
    hidden = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    hidden = keras.layers.MaxPooling2D()(hidden)
    hidden = keras.layers.Flatten()(hidden)
    hidden = keras.layers.Dense(16, activation="relu")(hidden)
    outputs = keras.layers.Dense(10, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs, name="tiny_cnn")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(images, arrays["y_train"][-2000:], epochs=2, batch_size=64, verbose=0)
    return LoadedModel(model, ModelMetadata(dataset="mnist", preset="tiny"), None, True)


def tiny_sklearn_digits_image_model(side: int = 8, seed: int = 2) -> LoadedModel:
    """A small image model (``side`` x ``side`` x 1 inputs) trained for a few epochs on scikit-learn's digits as
    ``digitlab train --dataset sklearn-digits --image-size side`` reads them (a few seconds), with the card's seed."""
    from ml.data.datasets import load_dataset

    keras.utils.set_random_seed(0)
    digits = load_dataset("sklearn-digits", seed=seed, image_size=side)
    inputs = keras.Input((side, side, 1))
    hidden = keras.layers.Flatten()(inputs)
    hidden = keras.layers.Dense(32, activation="relu")(hidden)
    outputs = keras.layers.Dense(10, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs, name=f"tiny_digits_{side}")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(digits.x_train, digits.y_train, epochs=8, batch_size=32, verbose=0)
    card = ModelMetadata(dataset="sklearn-digits", preset="tiny", hyperparameters={"seed": seed, "image_size": side})
    return LoadedModel(model, card, None, True)
