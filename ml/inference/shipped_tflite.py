"""The bundled model's TFLite conversion, shipped beside it so that the first launch converts nothing.

Converting the bundled model takes about a second in the model thread and holds Python's GIL for about 0.3 s of it
(a freeze of the window at the first launch). ``tools/build_bundled_fast_paths.py`` converts it once, checks the result
against Keras on MNIST test images, and writes ``<model>.tflite`` with a ``<model>.tflite.json`` record: the SHA-256 of
the ``.keras`` file it was made from and of the flatbuffer itself. At load, a flatbuffer whose record matches both
files is copied into the TFLite cache, where the predictor checks it against Keras once more before using it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from ml.atomic_files import write_bytes_atomically
from ml.data.sources import sha256_of
from ml.inference.calibration import as_probabilities
from ml.inference.model_input import prepare_for_model
from ml.inference.predictor import tflite_cache_file
from ml.inference.shipped_model import (
    EarlyPredictor,
    ShippedModelCard,
    is_shipped_model,
    read_shipped_card,
    sha256_of_bytes,
)
from ml.inference.tflite import convert_to_tflite, tflite_runner
from ml.models.classifier import outputs_probabilities
from ml.models.files import LoadedModel

logger = logging.getLogger(__name__)

RECORD_SUFFIX = ".json"
BUILD_TOLERANCE = 1e-4  # the shipped conversion must match Keras's probabilities this closely, as the predictor's


@dataclass(frozen=True)
class ShippedConversion:
    """What ``build_shipped_tflite`` measured: the files written and how closely the conversion matches Keras."""

    flatbuffer: Path
    record: Path
    images: int
    max_difference: float
    agreement: float


def shipped_tflite_path(model_path: Path) -> Path:
    """Where a shipped model's conversion lies: beside it, ``name.keras`` -> ``name.tflite``."""
    return Path(model_path).with_suffix(".tflite")


def checked_shipped_flatbuffer(model_path: Path) -> bytes | None:
    """The shipped conversion of ``model_path`` when its record names this very file and flatbuffer; else None."""
    flatbuffer_path = shipped_tflite_path(model_path)
    record_path = flatbuffer_path.with_name(flatbuffer_path.name + RECORD_SUFFIX)
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        flatbuffer = flatbuffer_path.read_bytes()
    except (OSError, ValueError) as error:
        logger.debug("No shipped TFLite conversion for %s: %s", model_path, error)
        return None
    if not isinstance(record, dict) or record.get("source_sha256") != sha256_of(Path(model_path)):
        logger.info("The shipped TFLite conversion was made from another %s; converting afresh", model_path.name)
        return None
    if record.get("tflite_sha256") != sha256_of_bytes(flatbuffer):
        logger.info("The shipped TFLite conversion of %s is damaged; converting afresh", model_path.name)
        return None
    return flatbuffer


class ShippedFastPath(EarlyPredictor):
    """Probabilities from a shipped model's checked conversion before Keras has loaded the model, image by image."""

    backend = "tflite"

    def __init__(self, card: ShippedModelCard, flatbuffer: bytes, applies_softmax: bool) -> None:
        super().__init__(card, applies_softmax)
        self._run = tflite_runner(flatbuffer, threads=1)

    def _raw(self, batch: np.ndarray) -> np.ndarray:
        return np.concatenate([self._run(batch[index : index + 1]) for index in range(len(batch))])


def shipped_fast_path(model_path: Path) -> ShippedFastPath | None:
    """The early predictor of a model in Digit Lab's assets whose shipped conversion and record match it; else None.

    Reads the record (input shape, softmax), the flatbuffer and the card inside the ``.keras`` zip; Keras is not
    needed. A model without a matching record, or any read failure, gives None: the window then waits for Keras.
    """
    model_path = Path(model_path)
    if not is_shipped_model(model_path):
        return None
    flatbuffer = checked_shipped_flatbuffer(model_path)
    if flatbuffer is None:
        return None
    try:
        flatbuffer_path = shipped_tflite_path(model_path)
        record = json.loads(flatbuffer_path.with_name(flatbuffer_path.name + RECORD_SUFFIX).read_text("utf-8"))
        applies_softmax = record["applies_softmax"]
        input_shape = tuple(int(side) for side in record["batch_shape"][1:])
        if not isinstance(applies_softmax, bool) or not input_shape:
            return None  # a record written before it said whether to apply a softmax
        return ShippedFastPath(read_shipped_card(model_path, input_shape), flatbuffer, applies_softmax)
    except Exception as error:  # noqa: BLE001 - no early predictions; the model still loads as usual
        logger.info("No early predictions from the shipped conversion of %s: %s", model_path.name, error)
        return None


def seed_tflite_cache(loaded: LoadedModel, cache_folder: Path) -> bool:
    """Put a shipped model's checked conversion in the TFLite cache, unless one is there; True when it was added."""
    if not is_shipped_model(loaded.path) or not shipped_tflite_path(loaded.path).is_file():
        return False
    cache_file = tflite_cache_file(loaded, Path(cache_folder))
    if cache_file is None or cache_file.is_file():
        return False
    flatbuffer = checked_shipped_flatbuffer(Path(loaded.path))
    if flatbuffer is None:
        return False
    try:
        write_bytes_atomically(cache_file, flatbuffer)
    except OSError as error:
        logger.debug("Could not seed the TFLite cache: %s", error)
        return False
    return True


def build_shipped_tflite(loaded: LoadedModel, test_images: np.ndarray) -> ShippedConversion:
    """Convert ``loaded`` (batch 1, as the predictor runs it), check it on ``test_images`` (N, 28, 28) against Keras
    and write the flatbuffer and its record beside the model file. Raises ValueError when the two disagree."""
    if loaded.path is None:
        raise ValueError("The model has no file to ship a conversion beside.")
    input_shape = tuple(loaded.input_shape)
    flatbuffer = convert_to_tflite(loaded.model, (1, *input_shape))
    run = tflite_runner(flatbuffer, threads=1)
    applies_softmax = not outputs_probabilities(loaded.model)
    batch = prepare_for_model(np.asarray(test_images, dtype=np.float32), input_shape, loaded.metadata)
    keras_probabilities = as_probabilities(np.asarray(loaded.model.predict(batch, verbose=0)), applies_softmax)
    tflite_probabilities = np.concatenate(
        [as_probabilities(run(batch[index : index + 1]), applies_softmax) for index in range(len(batch))]
    )
    max_difference = float(np.abs(keras_probabilities - tflite_probabilities).max())
    agreement = float(np.mean(keras_probabilities.argmax(axis=1) == tflite_probabilities.argmax(axis=1)))
    if max_difference > BUILD_TOLERANCE:
        raise ValueError(f"The conversion differs from Keras by {max_difference:.3g} (more than {BUILD_TOLERANCE}).")
    flatbuffer_path = shipped_tflite_path(Path(loaded.path))
    record_path = flatbuffer_path.with_name(flatbuffer_path.name + RECORD_SUFFIX)
    record = {
        "source": Path(loaded.path).name,
        "source_sha256": sha256_of(Path(loaded.path)),
        "tflite_sha256": sha256_of_bytes(flatbuffer),
        "batch_shape": [1, *input_shape],
        "tensorflow": tf.__version__,
        "applies_softmax": applies_softmax,  # read by the early predictions, which run before Keras
        "checked_images": len(batch),
        "max_probability_difference": max_difference,
        "agreement": agreement,
    }
    write_bytes_atomically(flatbuffer_path, flatbuffer)
    write_bytes_atomically(record_path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return ShippedConversion(flatbuffer_path, record_path, len(batch), max_difference, agreement)
