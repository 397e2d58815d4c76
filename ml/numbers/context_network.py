"""The context network: a small CNN that reads a candidate part's window (:mod:`ml.numbers.context`) and says how
likely the part is one whole digit, not a fragment of a wider digit, two digits, or a digit and a piece of its
neighbour. Fitted by ``tools/fit_number_context.py`` on numbers of MNIST training digits; ships as numbers in
``assets/models/digitlab-number-context.npz`` (checked against its SHA-256 before it is read, never unpickled) and runs
in numpy on the kernels of :mod:`ml.inference.numpy_network`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ml.assets import asset_path
from ml.inference.numpy_network import (
    checked_arrays,
    read_checked_arrays,
    shipped_network_usable,
    small_cnn_hidden,
    small_cnn_keras,
)
from ml.numbers.context import WINDOW_SHAPE
from ml.numbers.context_digest import CONTEXT_SHA256

CONTEXT_FILE = "digitlab-number-context.npz"
CONV_CHANNELS = (16, 32, 48)  # three 3x3 'same' conv layers, each ReLU then 2x2 max pooling: 40x60 -> 5x7
HIDDEN_UNITS = 64
MAX_FILE_BYTES = 1 << 20
SCORE_LIMIT = 30.0


def layer_shapes() -> dict[str, tuple[int, ...]]:
    """Every array the context network's file must hold, with its shape."""
    shapes, channels = {}, 2
    rows, columns = WINDOW_SHAPE
    for index, width in enumerate(CONV_CHANNELS, start=1):
        shapes[f"conv{index}_kernel"], shapes[f"conv{index}_bias"] = (3, 3, channels, width), (width,)
        channels, rows, columns = width, rows // 2, columns // 2
    shapes.update({"dense_kernel": (rows * columns * channels, HIDDEN_UNITS), "dense_bias": (HIDDEN_UNITS,)})
    shapes.update({"score_kernel": (HIDDEN_UNITS, 1), "score_bias": (1,)})
    return shapes


def build_keras_network():
    """The context network as a Keras network of the same layers (for fitting it)."""
    return small_cnn_keras((*WINDOW_SHAPE, 2), CONV_CHANNELS, HIDDEN_UNITS)


def write_context_network(model, path: Path) -> None:
    """A fitted Keras context network's arrays as the shipped ``.npz``."""
    arrays = {}
    for name in ("conv1", "conv2", "conv3", "dense", "score"):
        kernel, bias = model.get_layer(name).get_weights()
        arrays[f"{name}_kernel"], arrays[f"{name}_bias"] = kernel.astype(np.float32), bias.astype(np.float32)
    np.savez(path, **arrays)


class ContextNetwork:
    """Scores (n, rows, columns, 2) windows: the logit of "one whole digit"."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self._weights = checked_arrays(weights, layer_shapes(), "number context network")

    def logits(self, windows: np.ndarray) -> np.ndarray:
        """(n, rows, columns, 2) -> (n,) float32 logits."""
        values = np.asarray(windows, np.float32)
        if not len(values):
            return np.zeros(0, np.float32)
        hidden = small_cnn_hidden(values, self._weights, len(CONV_CHANNELS))
        logits = hidden @ self._weights["score_kernel"] + self._weights["score_bias"]
        return np.clip(logits[:, 0], -SCORE_LIMIT, SCORE_LIMIT).astype(np.float32)


def context_network_path() -> Path:
    """Where the shipped context network lies."""
    return asset_path("models", CONTEXT_FILE)


@lru_cache(maxsize=1)
def shipped_context_network() -> ContextNetwork:
    """The shipped context network, read and checked once per process (raises ModelFileError when unusable)."""
    arrays = read_checked_arrays(
        context_network_path(), CONTEXT_SHA256, layer_shapes(), MAX_FILE_BYTES, "number context network"
    )
    return ContextNetwork(arrays)


def context_network_available() -> bool:
    """Whether the shipped context network can be used (a damaged file is logged once and numbers are read without
    it)."""
    return shipped_network_usable(shipped_context_network, "number context network")
