"""conv_filters: the kernels of a model as the network view shows them."""

from __future__ import annotations

import numpy as np

from ml.inspect.filters import conv_filters
from ml.models.files import LoadedModel
from ml.models.metadata import ModelMetadata
from ml.models.presets import build_model


def loaded(name: str, input_shape=(28, 28, 1)) -> LoadedModel:
    return LoadedModel(build_model(name, input_shape, 10), ModelMetadata(), None, False)


def test_a_cnn_shows_its_first_kernels_and_its_deeper_ones_averaged():
    model = loaded("cnn3x3")
    banks = conv_filters(model)
    convs = [layer for layer in model.model.layers if "conv" in layer.name]
    assert [bank.layer for bank in banks] == [layer.name for layer in convs]
    assert [(bank.kernels.shape, bank.tower) for bank in banks] == [((32, 3, 3), None), ((64, 3, 3), None)]
    first = np.asarray(convs[0].kernel)[:, :, 0, :].transpose(2, 0, 1)
    np.testing.assert_array_equal(banks[0].kernels, first)
    assert banks[1].note == "mean over 32 input channels" and banks[0].kernels.dtype == np.float32


def test_an_rgb_model_averages_its_first_kernels_over_the_colours():
    banks = conv_filters(loaded("vgg", (32, 32, 3)))
    assert banks[0].note == "mean over 3 input channels (RGB)"


def test_an_mlp_has_no_filters():
    assert conv_filters(loaded("mlp")) == []
