"""Helpers for the tests of Digit Lab's small shipped numpy networks (the not-a-digit detector, the number context
network): random arrays of a network's layer shapes, and what the same layers compute in Keras."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def random_weights(shapes: Mapping[str, tuple[int, ...]], seed: int = 0) -> dict[str, np.ndarray]:
    """Small random float32 arrays of the given ``shapes``."""
    rng = np.random.default_rng(seed)
    return {name: rng.normal(0, 0.1, shape).astype(np.float32) for name, shape in shapes.items()}


def keras_outputs(network, weights: Mapping[str, np.ndarray], inputs: np.ndarray) -> np.ndarray:
    """The Keras ``network``'s single output for ``inputs`` once its layers hold ``weights`` (``<layer>_kernel`` and
    ``<layer>_bias``)."""
    import keras

    for layer in network.layers:
        if f"{layer.name}_kernel" in weights:
            layer.set_weights([weights[f"{layer.name}_kernel"], weights[f"{layer.name}_bias"]])
    return np.asarray(network(keras.ops.convert_to_tensor(inputs), training=False))[:, 0]
