"""What a model receives from a 28x28 digit, as images a window can show: resized to its size, standardized."""

from __future__ import annotations

import math

import numpy as np

from ml.inference.model_input import adapt_to_input
from ml.models.metadata import ModelMetadata

MNIST_SIDE = 28


def input_stages(image28: np.ndarray, input_shape: tuple, metadata: ModelMetadata) -> list[tuple[str, np.ndarray]]:
    """(name, 2-D image in [0, 1]) stages from the 28x28 digit to the model's own input; none for a plain 28x28 one.

    A model of another size gets the digit resized (an 8x8 model sees 8x8 pixels); a model that standardizes its
    input gets it standardized, shown stretched to [0, 1].
    """
    digit = np.asarray(image28, dtype=np.float32)
    if metadata.input_polarity == "black_on_white":
        digit = 1.0 - digit
    shape = tuple(input_shape)
    plain = as_image(adapt_to_input(digit, shape, scale="0-1")[0])
    stages: list[tuple[str, np.ndarray]] = []
    if plain.shape != (MNIST_SIDE, MNIST_SIDE):
        stages.append((f"resized to {plain.shape[0]}x{plain.shape[1]}", plain))
    if metadata.input_mean is not None or metadata.input_std is not None:
        scale = "0-1" if metadata.input_scale == "standardize" else metadata.input_scale
        standardized = as_image(
            adapt_to_input(digit, shape, scale=scale, mean=metadata.input_mean, std=metadata.input_std)[0]
        )
        low, spread = float(standardized.min()), float(np.ptp(standardized))
        shown = (standardized - low) / spread if spread > 0 else np.zeros_like(standardized)
        stages.append(("standardized", shown.astype(np.float32)))
    return stages


def as_image(sample: np.ndarray) -> np.ndarray:
    """One model input (no batch axis: features, H x W, H x W x C or C x H x W) as a 2-D image (first channel)."""
    if sample.ndim == 1:
        side = math.isqrt(sample.size)
        return sample.reshape(side, side)
    if sample.ndim == 3:
        return sample[..., 0] if sample.shape[-1] in (1, 3) else sample[0]
    return sample
