"""Batch-norm statistics measured afresh: each layer gets the mean and variance of what reaches it, frozen layers
stay, and the layers' momentum is given back."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ml.teach.batch_norm import batch_norm_layers, refresh_batch_norm


def _model() -> keras.Model:
    inputs = keras.Input((4,))
    first = keras.layers.BatchNormalization(name="first")(keras.layers.Dense(3, name="hidden")(inputs))
    second = keras.layers.BatchNormalization(name="second")(keras.layers.ReLU()(first))
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(second))


def test_each_layer_gets_the_statistics_of_what_reaches_it_after_the_layers_before_are_refreshed():
    model = _model()
    batch = np.random.default_rng(0).normal(2.0, 3.0, size=(500, 4)).astype(np.float32)
    assert refresh_batch_norm(model, batch) == 2
    hidden_out = keras.Model(model.inputs[0], model.get_layer("hidden").output).predict(batch, verbose=0)
    first = model.get_layer("first")
    np.testing.assert_allclose(first.moving_mean.numpy(), hidden_out.mean(axis=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(first.moving_variance.numpy(), hidden_out.var(axis=0), rtol=1e-3, atol=1e-4)
    reaching = keras.Model(model.inputs[0], model.get_layer("second").input).predict(batch, verbose=0)
    second = model.get_layer("second")
    np.testing.assert_allclose(second.moving_mean.numpy(), reaching.mean(axis=0), rtol=1e-3, atol=1e-4)
    assert first.momentum == pytest.approx(0.99) and second.momentum == pytest.approx(0.99)


def test_frozen_layers_keep_their_statistics_and_a_model_without_batch_norm_is_left_alone():
    model = _model()
    model.get_layer("first").trainable = False
    before = model.get_layer("first").moving_mean.numpy().copy()
    batch = np.random.default_rng(1).normal(5.0, 1.0, size=(100, 4)).astype(np.float32)
    assert refresh_batch_norm(model, batch) == 1
    np.testing.assert_array_equal(model.get_layer("first").moving_mean.numpy(), before)
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert batch_norm_layers(plain) == [] and refresh_batch_norm(plain, batch) == 0
