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


def test_a_sigmoid_head_is_traced_with_its_logits_and_the_probabilities_the_window_shows():
    """The network view's last rows: a sigmoid head's logits are its pre-activation, and its probabilities the
    sigmoid scores over their sum (as the prediction shows), not a softmax of the sigmoid scores."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="sigmoid")])
    x = tf.constant(np.random.default_rng(2).normal(size=(3, 6)).astype("float32"))

    trace = trace_model(model, x)

    head = model.layers[-1]
    expected_logits = x.numpy() @ head.kernel.numpy() + head.bias.numpy()
    scores = model(x).numpy()
    shown = scores / scores.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(trace.class_scores.numpy(), expected_logits, atol=1e-5)
    np.testing.assert_allclose(trace.probabilities.numpy(), shown, atol=1e-6)
    assert [step.kind for step in trace.steps] == ["input", "logits", "softmax"]
