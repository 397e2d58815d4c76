"""The not-a-digit detector: small CNNs that tell digits from non-digits on the 28x28 a classifier sees, learnt
from generated non-digits (outlier exposure) by ``tools/fit_doubt_detector.py``; their logits are averaged. It is
independent of any classifier, ships as numbers in ``assets/models/digitlab-doubt-detector.npz`` (checked against its
SHA-256 before it is read, never unpickled) and runs in numpy on the shared kernels of
``ml.inference.numpy_network``: about a millisecond per image and network."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from ml.assets import asset_path
from ml.doubt.detector_digest import DETECTOR_SHA256
from ml.errors import ModelFileError
from ml.inference.numpy_network import (
    checked_arrays,
    read_checked_arrays,
    shipped_network_usable,
    small_cnn_hidden,
    small_cnn_keras,
)

DETECTOR_FILE = "digitlab-doubt-detector.npz"
CONV_CHANNELS = (32, 64, 96)  # three 3x3 'same' conv layers, each ReLU then 2x2 max pooling: 28 -> 14 -> 7 -> 3
HIDDEN_UNITS = 64
MEMBERS = 2
"""Networks of the same layers, trained with other seeds (and material), whose logits are averaged: one network's
refusals at a strict operating point move by several points from seed to seed, and two agree better than either."""
MAX_FILE_BYTES = 1 << 21  # the shipped file holds about 520 KB per network
SCORE_LIMIT = 30.0  # logits are clipped to +-this (a fair "surely" either way)
REMEMBERED_IMAGES = 256  # batches up to this size (a number's candidate parts) remember their scores


def layer_shapes() -> dict[str, tuple[int, ...]]:
    """Every array the detector file must hold, with its shape: each network's as ``member<i>_<layer>_kernel``."""
    return {f"member{index}_{name}": shape for index in range(MEMBERS) for name, shape in member_shapes().items()}


def member_shapes() -> dict[str, tuple[int, ...]]:
    """One network's arrays, with their shapes."""
    shapes, channels = {}, 1
    for index, width in enumerate(CONV_CHANNELS, start=1):
        shapes[f"conv{index}_kernel"], shapes[f"conv{index}_bias"] = (3, 3, channels, width), (width,)
        channels = width
    flat = 3 * 3 * channels
    shapes.update({"dense_kernel": (flat, HIDDEN_UNITS), "dense_bias": (HIDDEN_UNITS,)})
    shapes.update({"score_kernel": (HIDDEN_UNITS, 1), "score_bias": (1,)})
    return shapes


def build_keras_network(conv_channels: tuple[int, ...] = CONV_CHANNELS, hidden_units: int = HIDDEN_UNITS):
    """One of the detector's networks as a Keras network of the same layers (for training it;
    ``tools/fit_doubt_detector.py``)."""
    return small_cnn_keras((28, 28, 1), conv_channels, hidden_units)


class DetectorFileError(ModelFileError):
    """The detector file is missing, damaged or altered."""


class Detector:
    """Scores (n, 28, 28) white-on-black images in [0, 1]: the logit of "not a digit" (above 0: rather not)."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        checked = checked_arrays(weights, layer_shapes(), "not-a-digit detector", DetectorFileError)
        self._members = [
            {name: checked[f"member{index}_{name}"] for name in member_shapes()} for index in range(MEMBERS)
        ]
        self._remembered: dict[bytes, np.float32] = {}  # the last small batches' scores, by image bytes
        self._remembered_lock = threading.Lock()

    def scores(self, images28: np.ndarray) -> np.ndarray:
        """(n, 28, 28) -> (n,) float32 logits of "not a digit".

        Small batches remember their images' scores: reading a number scores its candidate parts for the part scorer,
        then the judge scores the same parts, then the chosen ones again (42, 42 and 6 images for six digits); each
        image is now computed once.
        """
        images28 = np.asarray(images28, np.float32)
        if not len(images28):
            return np.zeros(0, np.float32)
        if len(images28) > REMEMBERED_IMAGES:
            rows = [self._score(images28[start : start + 2048]) for start in range(0, len(images28), 2048)]
            return np.concatenate(rows)
        keys = [image.tobytes() for image in images28]
        with self._remembered_lock:
            known = [self._remembered.get(key) for key in keys]
        missing = [index for index, score in enumerate(known) if score is None]
        if missing:
            for index, score in zip(missing, self._score(images28[missing]), strict=True):
                known[index] = score
            with self._remembered_lock:
                if len(self._remembered) + len(missing) > REMEMBERED_IMAGES:
                    self._remembered.clear()
                self._remembered.update((keys[index], known[index]) for index in missing)
        return np.asarray(known, np.float32)

    def features(self, images28: np.ndarray) -> np.ndarray:
        """(n, 28, 28) -> (n, MEMBERS * HIDDEN_UNITS): each network's hidden layer before its score, side by side."""
        return np.concatenate(self._hidden(images28), axis=1)

    def _hidden(self, images28: np.ndarray) -> list[np.ndarray]:
        values = np.clip(np.asarray(images28, np.float32), 0.0, 1.0).reshape(-1, 28, 28, 1)
        return [small_cnn_hidden(values, weights, len(CONV_CHANNELS)) for weights in self._members]

    def _score(self, images28: np.ndarray) -> np.ndarray:
        logits = [
            hidden @ weights["score_kernel"] + weights["score_bias"]
            for hidden, weights in zip(self._hidden(images28), self._members, strict=True)
        ]
        return np.clip(np.mean(logits, axis=0)[:, 0], -SCORE_LIMIT, SCORE_LIMIT).astype(np.float32)


def detector_path() -> Path:
    """Where the shipped detector lies."""
    return asset_path("models", DETECTOR_FILE)


def read_detector(path: Path, expected_sha256: str | None = DETECTOR_SHA256) -> Detector:
    """Read a detector file: its size and SHA-256 are checked before numpy parses it, and pickled objects are
    refused. Raises :class:`DetectorFileError` with a one-line message."""
    weights = read_checked_arrays(
        path, expected_sha256, layer_shapes(), MAX_FILE_BYTES, "not-a-digit detector", DetectorFileError
    )
    return Detector(weights)


@lru_cache(maxsize=1)
def shipped_detector() -> Detector:
    """The shipped detector, read and checked once per process (raises DetectorFileError when unusable)."""
    return read_detector(detector_path())


def detector_available() -> bool:
    """Whether the shipped detector can be used (a damaged file is logged once and the decisions go without it)."""
    return shipped_network_usable(shipped_detector, "not-a-digit detector")
