"""A model's parts: leaf layers inside nested models, an ensemble's towers, conv kernels as images."""

from __future__ import annotations

import keras
import numpy as np

from ml.models.anatomy import conv_kernel_banks, ensemble_branches, leaf_layers, tower_of_operations
from ml.models.presets import build_model


def test_the_ensembles_layers_fall_into_three_towers():
    model = build_model("best", (28, 28, 1), 10)
    assert len(ensemble_branches(model)) == 3
    towers = tower_of_operations(model)
    names = set(towers.values())
    members = {name: [layer for layer in model.layers if towers.get(id(layer)) == name] for name in names}
    assert sorted(members) == ["tower 1", "tower 2", "tower 3"]
    for name, layers in members.items():
        assert sum(isinstance(layer, keras.layers.Conv2D) for layer in layers) == 4
        head = f"tower{int(name[-1]) - 1}_probabilities"
        assert any(layer.name == head for layer in layers)
    assert id(model.get_layer("probabilities")) not in towers and id(model.layers[0]) not in towers  # shared


def test_a_single_tower_model_has_no_towers():
    model = build_model("fast", (28, 28, 1), 10)
    assert ensemble_branches(model) == [] and tower_of_operations(model) == {}


def test_leaf_layers_look_inside_a_nested_backbone():
    model = build_model("vgg16-transfer", (28, 28, 1), 10, backbone_weights="none")
    names = [layer.name for layer in leaf_layers(model)]
    assert "block1_conv1" in names and "block5_conv3" in names and "probabilities" in names
    assert not any(isinstance(layer, keras.Model) for layer in leaf_layers(model))


def test_kernel_banks_show_first_convs_as_they_are_and_deeper_ones_averaged():
    inputs = keras.Input((12, 12, 1))
    first = keras.layers.Conv2D(4, 3, name="first")
    x = first(inputs)
    x = keras.layers.Conv2D(6, 1, name="pointwise")(x)  # 1x1: no picture
    x = keras.layers.DepthwiseConv2D(3, name="depthwise")(x)
    deeper = keras.layers.Conv2D(5, 3, name="deeper")
    x = deeper(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x)))
    banks = conv_kernel_banks(model)
    assert [bank.layer for bank in banks] == ["first", "depthwise", "deeper"]
    np.testing.assert_array_equal(banks[0].kernels, np.asarray(first.kernel)[:, :, 0, :].transpose(2, 0, 1))
    assert banks[0].note == "" and banks[0].kernels.shape == (4, 3, 3)
    assert banks[1].kernels.shape == (6, 3, 3) and "depthwise" in banks[1].note
    expected = np.asarray(deeper.kernel).mean(axis=2).transpose(2, 0, 1)
    np.testing.assert_allclose(banks[2].kernels, expected, rtol=1e-6)
    assert banks[2].note == "mean over 6 input channels"


def test_kernel_banks_of_the_ensemble_come_tower_by_tower():
    banks = conv_kernel_banks(build_model("best", (28, 28, 1), 10))
    assert [bank.tower for bank in banks] == ["tower 1"] * 4 + ["tower 2"] * 4 + ["tower 3"] * 4
    assert [bank.kernels.shape for bank in banks[:4]] == [(32, 5, 5), (48, 3, 3), (48, 3, 3), (96, 3, 3)]
    assert banks[0].note == "" and banks[1].note == "mean over 32 input channels"
