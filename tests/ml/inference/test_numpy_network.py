"""The numpy network: its kernels match Keras's layers, its plans are checked before they run, conversions refuse
what they cannot reproduce."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ml.inference.numpy_conversion import NumpyConversionError, network_plan
from ml.inference.numpy_network import NumpyNetwork, NumpyNetworkError, conv2d, max_pool

RNG = np.random.default_rng(7)


@pytest.mark.parametrize(("kernel_size", "padding"), [(3, "same"), (5, "same"), (4, "same"), (3, "valid")])
def test_conv2d_matches_keras(kernel_size, padding):
    values = RNG.random((2, 9, 11, 3), dtype=np.float32)
    layer = keras.layers.Conv2D(4, kernel_size, padding=padding)
    expected = keras.ops.convert_to_numpy(layer(values))
    kernel, bias = (keras.ops.convert_to_numpy(weight) for weight in layer.weights)
    np.testing.assert_allclose(conv2d(values, kernel, bias, padding), expected, atol=1e-5)


def test_max_pool_matches_keras_and_drops_a_partial_row():
    values = RNG.random((2, 7, 6, 3), dtype=np.float32)
    expected = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(2)(values))
    assert max_pool(values, 2).shape == (2, 3, 3, 3)
    np.testing.assert_array_equal(max_pool(values, 2), expected)


def towers_model() -> keras.Model:
    """Two towers of conv, batch norm, ReLU, pooling, dense and dropout, their softmaxes averaged (the bundled
    model's shape, small), with trained-looking batch-norm statistics."""
    keras.utils.set_random_seed(5)
    inputs = keras.Input((28, 28, 1))
    outputs = []
    for tower in range(2):
        values = keras.layers.Conv2D(4, 5, padding="same", use_bias=False)(inputs)
        values = keras.layers.ReLU()(keras.layers.BatchNormalization()(values))
        values = keras.layers.MaxPooling2D()(values)
        values = keras.layers.Conv2D(6, 3, activation="relu")(values)
        values = keras.layers.Dropout(0.3)(keras.layers.Flatten()(keras.layers.MaxPooling2D()(values)))
        values = keras.layers.Activation("relu")(keras.layers.Dense(8)(values))
        outputs.append(keras.layers.Dense(10, activation="softmax", name=f"tower{tower}")(values))
    model = keras.Model(inputs, keras.layers.Average()(outputs))
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(RNG.normal(size=4).astype(np.float32))
            layer.moving_variance.assign(RNG.uniform(0.5, 2.0, size=4).astype(np.float32))
            layer.gamma.assign(RNG.uniform(0.5, 1.5, size=4).astype(np.float32))
    return model


def test_a_converted_model_matches_keras_with_batch_norm_and_activations_folded():
    model = towers_model()
    plan, arrays = network_plan(model)
    ops = [step["op"] for step in plan["steps"]]
    assert "scale_shift" not in ops and "relu" not in ops  # folded into the conv and dense steps before them
    assert ops.count("average") == 1 and plan["output_is_probabilities"] is True
    images = RNG.random((16, 28, 28, 1), dtype=np.float32)
    expected = model.predict(images, verbose=0)
    np.testing.assert_allclose(NumpyNetwork(plan, arrays).outputs(images), expected, atol=1e-5)


def test_a_batch_norm_read_by_two_layers_is_not_folded_and_still_matches():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((8, 8, 1))
    values = keras.layers.Conv2D(3, 3, padding="same")(inputs)
    normed = keras.layers.BatchNormalization()(values)
    values = keras.layers.Average()([values, normed])  # the conv's own output is read twice
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(values)))
    plan, arrays = network_plan(model)
    assert "scale_shift" in [step["op"] for step in plan["steps"]]
    assert plan["output_is_probabilities"] is False
    images = RNG.random((3, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(NumpyNetwork(plan, arrays).outputs(images), model.predict(images, verbose=0), atol=1e-5)


def test_a_layer_the_runner_cannot_reproduce_is_refused_by_name():
    inputs = keras.Input((8, 8, 1))
    values = keras.layers.Conv2D(2, 3, strides=2, name="strided")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(values)))
    with pytest.raises(NumpyConversionError, match="strided"):
        network_plan(model)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh", name="squash")])
    with pytest.raises(NumpyConversionError, match="tanh"):
        network_plan(model)


def test_a_sequential_model_converts_too():
    keras.utils.set_random_seed(4)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Conv2D(3, 3, activation="relu"), keras.layers.MaxPooling2D()]
        + [keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    plan, arrays = network_plan(model)
    images = RNG.random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(NumpyNetwork(plan, arrays).outputs(images), model.predict(images, verbose=0), atol=1e-5)


def small_plan() -> tuple[dict, dict]:
    plan = {
        "format": 1,
        "output_is_probabilities": False,
        "steps": [
            {"name": "input", "op": "input", "shape": [6, 6, 1]},
            {"name": "conv", "op": "conv2d", "inputs": ["input"], "padding": "same", "activation": "relu"},
            {"name": "pool", "op": "max_pool", "inputs": ["conv"], "size": 2},
            {"name": "flat", "op": "flatten", "inputs": ["pool"]},
            {"name": "out", "op": "dense", "inputs": ["flat"], "activation": "linear"},
        ],
    }
    arrays = {
        "conv.kernel": np.ones((3, 3, 1, 2), np.float32),
        "conv.bias": np.zeros(2, np.float32),
        "out.kernel": np.ones((18, 3), np.float32),
    }
    return plan, arrays


def test_a_small_plan_runs_and_gives_its_shapes():
    network = NumpyNetwork(*small_plan())
    assert network.input_shape == (6, 6, 1) and network.output_shape == (3,)
    outputs = network.outputs(np.ones((2, 6, 6, 1), np.float32))
    assert outputs.shape == (2, 3) and outputs.dtype == np.float32
    assert outputs[0, 0] == pytest.approx(18 * 9.0)  # every 2x2 pool holds an inner pixel: a full 3x3 sum, 9
    with pytest.raises(ValueError, match="shape"):
        network.outputs(np.ones((2, 5, 5, 1), np.float32))


@pytest.mark.parametrize(
    "spoil",
    [
        lambda plan, arrays: arrays.update({"conv.kernel": np.ones((3, 3, 2, 2), np.float32)}),  # wrong in-channels
        lambda plan, arrays: arrays.update({"out.kernel": np.ones((17, 3), np.float32)}),  # wrong rows
        lambda plan, arrays: arrays.update({"out.kernel": np.full((18, 3), np.nan, np.float32)}),
        lambda plan, arrays: arrays.update({"out.kernel": np.ones((18, 3), np.int32)}),
        lambda plan, arrays: arrays.update({"extra": np.ones(3, np.float32)}),
        lambda plan, arrays: arrays.pop("conv.kernel"),
        lambda plan, arrays: plan["steps"][1].update(op="lambda"),
        lambda plan, arrays: plan["steps"][1].update(activation="tanh"),
        lambda plan, arrays: plan["steps"][2].update(inputs=["flat"]),  # reads a later step
        lambda plan, arrays: plan["steps"][2].update(size=0),
        lambda plan, arrays: plan["steps"][4].update(name="conv"),
        lambda plan, arrays: plan["steps"].pop(3),  # a dense layer on maps
        lambda plan, arrays: plan.update(format=2),
        lambda plan, arrays: plan.update(steps="all"),
    ],
)
def test_a_plan_that_does_not_fit_its_arrays_is_refused(spoil):
    plan, arrays = small_plan()
    spoil(plan, arrays)
    with pytest.raises(NumpyNetworkError):
        NumpyNetwork(plan, arrays)
