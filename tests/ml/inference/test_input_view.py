"""What a model receives from a 28x28 digit, as stages the window shows."""

from __future__ import annotations

import numpy as np

from ml.assets import bundled_mnist_path
from ml.inference.input_view import input_stages
from ml.models.metadata import ModelMetadata


def seven() -> np.ndarray:
    with np.load(bundled_mnist_path()) as archive:
        return archive["x_test"][0].astype(np.float32) / 255.0


def test_a_plain_28x28_model_adds_no_stage():
    assert input_stages(seven(), (28, 28, 1), ModelMetadata()) == []


def test_an_8x8_standardized_model_shows_the_8x8_it_receives_then_standardized():
    rng = np.random.default_rng(0)
    metadata = ModelMetadata(
        input_scale="standardize", input_mean=list(rng.uniform(0, 0.3, 64)), input_std=list(rng.uniform(0.1, 0.4, 64))
    )
    stages = input_stages(seven(), (64,), metadata)
    assert [name for name, _ in stages] == ["resized to 8x8", "standardized"]
    resized, standardized = stages[0][1], stages[1][1]
    assert resized.shape == standardized.shape == (8, 8)
    assert 0.0 <= float(resized.min()) and float(resized.max()) <= 1.0 and resized.max() > 0.5  # ink survives
    assert float(standardized.min()) == 0.0 and float(standardized.max()) == 1.0  # stretched for display
    expected = (resized.ravel() - np.asarray(metadata.input_mean)) / np.asarray(metadata.input_std)
    stretched = (expected - expected.min()) / np.ptp(expected)
    assert np.allclose(standardized.ravel(), stretched, atol=1e-5)  # exactly the model's input, only stretched


def test_a_colour_model_of_another_size_shows_its_first_channel():
    stages = input_stages(seven(), (32, 32, 3), ModelMetadata())
    assert [name for name, _ in stages] == ["resized to 32x32"] and stages[0][1].shape == (32, 32)
