"""The bundled model as plain numpy weights, shipped beside it, so that the first drawing is answered without
TensorFlow (whose import takes about 3 s of CPU at launch).

``tools/build_bundled_fast_paths.py`` turns the ``.keras`` file into a plan of numpy layers and their arrays
(``ml.inference.numpy_conversion``), checks the result against Keras on MNIST test images, and writes
``<model>.numpy.npz`` (the arrays, and the plan as a JSON string) with a ``<model>.numpy.json`` record: the SHA-256
of the ``.keras`` file it was made from and of the ``.npz`` itself. At launch the ``.npz`` is used only when the
record matches both files; it is read with ``allow_pickle=False`` and every array's shape is checked against the plan.
A stale, altered or damaged file is refused with a log line, and the window falls back to the TFLite conversion.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.atomic_files import write_bytes_atomically
from ml.data.sources import sha256_of
from ml.errors import ModelFileError
from ml.inference.numpy_network import NumpyNetwork, NumpyNetworkError
from ml.inference.shipped_model import EarlyPredictor, is_shipped_model, read_shipped_card, sha256_of_bytes

logger = logging.getLogger(__name__)

NETWORK_SUFFIX = ".numpy.npz"
RECORD_SUFFIX = ".numpy.json"
PLAN_ENTRY = "plan"  # the plan, a JSON string array inside the .npz (numpy reads it without unpickling)
MAX_NETWORK_BYTES = 64 << 20
MAX_RECORD_BYTES = 64 << 10
BUILD_TOLERANCE = 1e-4  # the numpy pass must match Keras's probabilities this closely, as every fast path


class ShippedNetworkRefused(ModelFileError):
    """The shipped numpy weights are missing, stale (made from another model file), altered or damaged."""


@dataclass(frozen=True)
class ShippedNetwork:
    """What ``build_shipped_numpy`` measured: the files written and how closely the numpy pass matches Keras."""

    network: Path
    record: Path
    images: int
    max_difference: float
    agreement: float


def shipped_network_path(model_path: Path) -> Path:
    """``name.keras`` -> ``name.numpy.npz`` beside it."""
    return Path(model_path).with_suffix(NETWORK_SUFFIX)


def shipped_record_path(model_path: Path) -> Path:
    """``name.keras`` -> ``name.numpy.json`` beside it."""
    return Path(model_path).with_suffix(RECORD_SUFFIX)


def read_network(data: bytes) -> NumpyNetwork:
    """Parse ``.npz`` bytes (never unpickling) into a checked network; raises :class:`ShippedNetworkRefused`."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        plan_text = arrays.pop(PLAN_ENTRY)
        if plan_text.dtype.kind != "U" or plan_text.ndim != 0:
            raise ValueError("its plan is not a string")
        return NumpyNetwork(json.loads(str(plan_text)), arrays)
    except NumpyNetworkError as error:
        raise ShippedNetworkRefused(str(error)) from error
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise ShippedNetworkRefused(f"the numpy weights file is damaged ({error})") from error


def checked_shipped_network(model_path: Path) -> NumpyNetwork:
    """The shipped numpy network of ``model_path`` when its record names this very ``.keras`` file and ``.npz``;
    raises :class:`ShippedNetworkRefused` with a one-line reason otherwise."""
    model_path = Path(model_path)
    network_path, record_path = shipped_network_path(model_path), shipped_record_path(model_path)
    try:
        if record_path.stat().st_size > MAX_RECORD_BYTES or network_path.stat().st_size > MAX_NETWORK_BYTES:
            raise ShippedNetworkRefused("the numpy weights or their record are far larger than Digit Lab ships")
        record = json.loads(record_path.read_text(encoding="utf-8"))
        data = network_path.read_bytes()
    except (OSError, ValueError) as error:
        raise ShippedNetworkRefused(f"no usable numpy weights or record ({error})") from error
    if not isinstance(record, dict) or record.get("source_sha256") != sha256_of(model_path):
        raise ShippedNetworkRefused(f"the numpy weights were made from another {model_path.name} (stale)")
    if record.get("network_sha256") != sha256_of_bytes(data):
        raise ShippedNetworkRefused(f"{network_path.name} has been altered or damaged (its SHA-256 differs)")
    return read_network(data)


class ShippedNumpyPath(EarlyPredictor):
    """Probabilities from the shipped numpy network: the predictor's interface, no TensorFlow imported."""

    backend = "numpy"

    def __init__(self, card, network: NumpyNetwork) -> None:
        super().__init__(card, applies_softmax=not network.output_is_probabilities)
        self.network = network

    def _raw(self, batch: np.ndarray) -> np.ndarray:
        return self.network.outputs(batch)


def shipped_numpy_path(model_path: Path) -> ShippedNumpyPath | None:
    """The TensorFlow-free early predictor of a model in Digit Lab's assets whose shipped numpy weights and record
    match it; None (with a log line saying why) otherwise: the window then takes the TFLite path."""
    model_path = Path(model_path)
    if not is_shipped_model(model_path):
        return None
    try:
        network = checked_shipped_network(model_path)
        card = read_shipped_card(model_path, network.input_shape)
    except ShippedNetworkRefused as error:
        logger.warning("Not using the shipped numpy weights of %s: %s", model_path.name, error)
        return None
    except Exception as error:  # noqa: BLE001 - an unreadable card: the model still loads as usual
        logger.warning("Not using the shipped numpy weights of %s: no readable card (%s)", model_path.name, error)
        return None
    if card.metadata.class_names and len(card.metadata.class_names) != network.output_shape[0]:
        logger.warning("Not using the shipped numpy weights of %s: another number of classes", model_path.name)
        return None
    return ShippedNumpyPath(card, network)


def build_shipped_numpy(loaded, test_images: np.ndarray) -> ShippedNetwork:
    """Write ``loaded``'s numpy network and record beside its file once it matches Keras on ``test_images``
    (N, 28, 28) within ``BUILD_TOLERANCE``; raises ValueError when it does not (nothing is written then)."""
    from ml.inference.calibration import as_probabilities
    from ml.inference.model_input import prepare_for_model
    from ml.inference.numpy_conversion import network_plan

    if loaded.path is None:
        raise ValueError("The model has no file to ship numpy weights beside.")
    plan, arrays = network_plan(loaded.model)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{PLAN_ENTRY: np.array(json.dumps(plan))})
    data = buffer.getvalue()
    network = read_network(data)  # exactly what the window will read
    applies_softmax = not network.output_is_probabilities
    batch = prepare_for_model(np.asarray(test_images, dtype=np.float32), tuple(loaded.input_shape), loaded.metadata)
    keras_probabilities = as_probabilities(np.asarray(loaded.model.predict(batch, verbose=0)), applies_softmax)
    numpy_probabilities = as_probabilities(network.outputs(batch), applies_softmax)
    max_difference = float(np.abs(keras_probabilities - numpy_probabilities).max())
    agreement = float(np.mean(keras_probabilities.argmax(axis=1) == numpy_probabilities.argmax(axis=1)))
    if max_difference > BUILD_TOLERANCE:
        raise ValueError(f"The numpy pass differs from Keras by {max_difference:.3g} (more than {BUILD_TOLERANCE}).")
    model_path = Path(loaded.path)
    record = {
        "source": model_path.name,
        "source_sha256": sha256_of(model_path),
        "network_sha256": sha256_of_bytes(data),
        "numpy": np.__version__,
        "checked_images": len(batch),
        "max_probability_difference": max_difference,
        "agreement": agreement,
    }
    network_path, record_path = shipped_network_path(model_path), shipped_record_path(model_path)
    write_bytes_atomically(network_path, data)
    write_bytes_atomically(record_path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return ShippedNetwork(network_path, record_path, len(batch), max_difference, agreement)
