"""What the early predictors of Digit Lab's own models share, without Keras: whether a model file is one Digit Lab
shipped, its card read straight from the ``.keras`` zip, and the predictor's single-image and batch interface.

The early predictors answer the first drawings at launch, before Keras has loaded the model: the shipped numpy
weights (``ml.inference.shipped_numpy``, no TensorFlow at all) and the shipped TFLite conversion
(``ml.inference.shipped_tflite``).
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.assets import asset_path
from ml.inference.calibration import apply_temperature, as_probabilities
from ml.inference.model_input import prepare_for_model
from ml.models.metadata import METADATA_ENTRY, ModelMetadata

MAX_CARD_BYTES = 1 << 20


def is_shipped_model(model_path: Path | None) -> bool:
    """True for a model in Digit Lab's own assets (never a user's file: only those shipped files are trusted)."""
    if model_path is None:
        return False
    try:
        return Path(model_path).resolve().parent == asset_path("models").resolve()
    except OSError:
        return False


def sha256_of_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes already read (so what is checked is what is used)."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ShippedModelCard:
    """What the early predictions need of a shipped model, read without Keras: its file, card and input shape."""

    path: Path
    metadata: ModelMetadata
    input_shape: tuple
    has_metadata: bool = True

    @property
    def display_name(self) -> str:
        """The model's name, as :class:`ml.models.files.LoadedModel` gives it: the file stem."""
        return self.path.stem


def read_shipped_card(model_path: Path, input_shape: tuple) -> ShippedModelCard:
    """The card inside a shipped ``.keras`` zip (raises OSError, KeyError, ValueError or BadZipFile when unreadable)."""
    with zipfile.ZipFile(model_path) as archive:
        if archive.getinfo(METADATA_ENTRY).file_size > MAX_CARD_BYTES:
            raise ValueError("the model card is too large")
        metadata = ModelMetadata.from_json(archive.read(METADATA_ENTRY))
    return ShippedModelCard(Path(model_path), metadata, tuple(input_shape))


class EarlyPredictor:
    """The predictor's interface (``predict_one``, ``predict_batch``) over a shipped model's raw outputs, with the
    same preprocessing and temperature as :class:`ml.inference.predictor.Predictor`. Subclasses give ``_raw``."""

    backend = ""

    def __init__(self, card: ShippedModelCard, applies_softmax: bool) -> None:
        self.loaded = card
        self.class_names: list[str] = list(card.metadata.class_names)
        self.applies_softmax = applies_softmax

    def predict_one(self, image28: np.ndarray) -> np.ndarray:
        """(28, 28) -> (k,) probabilities, as ``Predictor.predict_one``."""
        image28 = np.asarray(image28)
        if image28.ndim != 2:
            raise ValueError(f"predict_one expects one (28, 28) image, got shape {image28.shape}.")
        return self.predict_batch(image28[np.newaxis])[0]

    def predict_batch(self, images28: np.ndarray, batch_size: int = 256, calibrated: bool = True) -> np.ndarray:
        """(N, 28, 28) -> (N, k) probabilities (``batch_size`` is accepted for the predictor's signature)."""
        batch = prepare_for_model(np.asarray(images28), self.loaded.input_shape, self.loaded.metadata)
        probabilities = as_probabilities(self._raw(batch), self.applies_softmax)
        return apply_temperature(probabilities, self.loaded.metadata.temperature) if calibrated else probabilities

    def _raw(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError
