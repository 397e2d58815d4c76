"""The layer walk: guided backpropagation changes the gradients through ReLUs, never the values."""

from __future__ import annotations

import numpy as np
import pytest

from ml.inspect.graph import trace_model


@pytest.mark.parametrize("separate_relu", [False, True])
def test_guided_walk_lets_only_positive_gradients_back_through_relus(separate_relu):
    import keras
    import tensorflow as tf

    inputs = keras.Input((2,))
    if separate_relu:
        hidden = keras.layers.ReLU()(
            keras.layers.Dense(2, kernel_initializer="identity", bias_initializer="zeros")(inputs)
        )
    else:
        hidden = keras.layers.Dense(2, activation="relu", kernel_initializer="identity", bias_initializer="zeros")(
            inputs
        )
    head = keras.layers.Dense(1, use_bias=False)
    model = keras.Model(inputs, head(hidden))
    head.kernel.assign([[1.0], [-1.0]])  # the second unit lowers the score: a negative gradient reaches its ReLU

    def gradient(guided: bool):
        x = tf.constant([[1.0, 1.0]])
        with tf.GradientTape() as tape:
            tape.watch(x)
            trace = trace_model(model, x, fold=False, guided=guided)
            score = tf.reduce_sum(trace.class_scores)
        return trace.class_scores.numpy(), tape.gradient(score, x).numpy()

    plain_scores, plain = gradient(False)
    guided_scores, guided = gradient(True)
    np.testing.assert_allclose(plain, [[1.0, -1.0]])
    np.testing.assert_allclose(guided, [[1.0, 0.0]])
    np.testing.assert_allclose(guided_scores, plain_scores)
