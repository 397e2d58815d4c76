"""Save and load Digit Lab model files safely: atomic writes, metadata inside the file."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import re
import shutil
import stat
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import h5py
import keras
import numpy as np

from ml import __version__
from ml.errors import ModelFileError
from ml.models.anatomy import leaf_layers
from ml.models.classifier import check_classifier
from ml.models.formats import H5_SUFFIXES, KERAS_SUFFIXES, SUPPORTED_SUFFIXES
from ml.models.limits import (
    MAX_CONFIG_BYTES,
    check_archive_sizes,
    check_can_feed,
    check_config_depth,
    check_config_size,
    check_config_values,
    check_declared_sizes,
    check_finite_weights,
    check_h5_sizes,
    check_layer_count,
    shorten,
)
from ml.models.metadata import METADATA_ENTRY, ModelMetadata
from ml.models.safety import check_config_is_safe
from ml.regular_files import irregular_file_kind

logger = logging.getLogger(__name__)
H5_METADATA_ATTRIBUTE = "digitlab_metadata"
_KERAS_CONFIG_ENTRY = "config.json"
_TEMPORARY_NAME = re.compile(r"\..+\.[a-z0-9_]{8}(\.keras|\.h5|\.hdf5)")
"""What ``save_model``'s ``mkstemp(prefix=".<stem>.", suffix=<suffix>)`` names its temporary files."""
STALE_TEMPORARY_SECONDS = 300
"""A save rewrites its temporary file as it goes and takes seconds, so one untouched for 5 minutes is left over."""


@dataclass
class LoadedModel:
    """A classifier read from disk (or just trained) together with its metadata."""

    model: keras.Model
    metadata: ModelMetadata
    path: Path | None
    has_metadata: bool

    @property
    def num_classes(self) -> int:
        """Number of classes the model scores."""
        return int(self.model.outputs[0].shape[-1])

    @property
    def input_shape(self) -> tuple:
        """The model's input shape without the batch dimension, e.g. (28, 28, 1)."""
        return tuple(None if size is None else int(size) for size in self.model.inputs[0].shape[1:])

    @property
    def display_name(self) -> str:
        """A short name for the window: the file stem, else the preset, else the Keras model name."""
        if self.path is not None:
            return self.path.stem
        return self.metadata.preset or self.model.name


def save_model(model: keras.Model, path: str | os.PathLike, metadata: ModelMetadata) -> Path:
    """Write ``model`` and ``metadata`` to ``path`` (.keras or .h5) atomically; return the path written."""
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ModelFileError(f"Cannot save a model as '{path.name}': Digit Lab writes {_supported_text()} files.")
    if not path.parent.is_dir():
        raise ModelFileError(f"Could not save model to {path}: the folder {path.parent} does not exist.")
    metadata = dataclasses.replace(
        metadata,
        created=metadata.created or datetime.now(UTC).isoformat(timespec="seconds"),
        digitlab_version=metadata.digitlab_version or __version__,
    )
    remove_stale_temporaries(path.parent)
    try:
        handle, temporary_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=suffix)
    except OSError as error:
        raise ModelFileError(f"Could not save model to {path}: {_reason(error)}.") from error
    os.close(handle)
    temporary_path = Path(temporary_name)
    try:
        _write_model_file(model, temporary_path, metadata)
        _match_permissions(temporary_path, path)
        os.replace(temporary_path, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temporary_path.unlink()
        if not isinstance(error, Exception):
            raise  # KeyboardInterrupt / SystemExit: cleaned up, old file untouched, keep propagating
        unchanged = " The previous file was left unchanged." if path.exists() else ""
        raise ModelFileError(f"Could not save model to {path}: {_reason(error)}.{unchanged}") from error
    return path


def remove_stale_temporaries(folder: Path, *, older_than: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Delete temporary files an interrupted save left in ``folder`` (``.<stem>.<8 chars>.keras``); return them.

    Only regular files of exactly that naming and untouched for ``older_than`` seconds go, so a save that another
    process or thread is writing right now keeps its file, and nothing else in the folder is touched.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _TEMPORARY_NAME.fullmatch(entry.name):
            continue
        try:
            status = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(status.st_mode) and now - status.st_mtime >= older_than:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # gone already, or not ours to delete: the save itself goes on
    return removed


def _write_model_file(model: keras.Model, temporary_path: Path, metadata: ModelMetadata) -> None:
    """Let Keras write the model to ``temporary_path``, add the metadata, and flush it to disk."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(temporary_path))
    if temporary_path.suffix.lower() in KERAS_SUFFIXES:
        with zipfile.ZipFile(temporary_path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(METADATA_ENTRY, metadata.to_json())
    else:
        with h5py.File(temporary_path, "a") as h5_file:
            h5_file.attrs[H5_METADATA_ATTRIBUTE] = metadata.to_json()
    with open(temporary_path, "rb+") as written:
        os.fsync(written.fileno())


def _match_permissions(temporary_path: Path, target: Path) -> None:
    """Give the new file the old file's mode (or an ordinary 0644), not mkstemp's private 0600."""
    if target.exists():
        shutil.copymode(target, temporary_path)
    else:
        os.chmod(temporary_path, 0o644)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error).strip().rstrip(".") or type(error).__name__


def _supported_text() -> str:
    return ", ".join(SUPPORTED_SUFFIXES[:-1]) + " and " + SUPPORTED_SUFFIXES[-1]


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Read a .keras or legacy .h5 classifier after checking it holds only built-in Keras layers."""
    path = Path(path).expanduser()
    name = f"'{path.name}'"
    if path.is_dir():
        _refuse_folder(path, name)
    if not path.exists():
        raise ModelFileError(f"There is no model file at {path}.")
    kind = irregular_file_kind(path)
    if kind is not None:
        raise ModelFileError(f"{name} is not a regular file ({kind}); Digit Lab opens model files only.")
    suffix = path.suffix.lower()
    if suffix in KERAS_SUFFIXES:
        config, metadata_text = _read_keras_archive(path, name)
    elif suffix in H5_SUFFIXES:
        config, metadata_text = _read_h5_file(path, name)
    elif path.name == "saved_model.pb":
        _refuse_folder(path.parent, f"'{path.parent.name}'")
    else:
        raise ModelFileError(f"{name} is not a model file Digit Lab can open: it reads {_supported_text()} files.")
    check_config_is_safe(config, name)
    check_declared_sizes(config, name)
    model = _load_with_keras(path, name)
    try:
        num_classes = check_classifier(model)
    except ModelFileError as error:
        reason = str(error)
        raise ModelFileError(f"Cannot use {name}: {reason[:1].lower()}{reason[1:]}") from error
    metadata, has_metadata = _resolve_metadata(metadata_text, model, num_classes)
    loaded = LoadedModel(model=model, metadata=metadata, path=path, has_metadata=has_metadata)
    check_can_feed(loaded.input_shape, metadata.input_mean, metadata.input_std, name)
    check_finite_weights(model.weights, name)
    return loaded


def _refuse_folder(path: Path, name: str) -> NoReturn:
    if (path / "saved_model.pb").exists():
        raise ModelFileError(
            f"{name} is a TensorFlow SavedModel folder, which Keras 3 cannot load as a model. Convert it: "
            "run the code that built the model and call model.save('model.keras'); or, with the "
            "TensorFlow/tf.keras version that wrote it, load it with tf.keras.models.load_model(folder) and "
            "save it as 'model.h5'. (keras.layers.TFSMLayer(folder, call_endpoint='serving_default') can run "
            "it for inference in TensorFlow, but Digit Lab does not open models that wrap an external graph.)"
        )
    choices = f"{', '.join(SUPPORTED_SUFFIXES[:-1])} or {SUPPORTED_SUFFIXES[-1]}"
    raise ModelFileError(f"{name} is a folder, not a model file: choose a {choices} file.")


def _read_keras_archive(path: Path, name: str) -> tuple[dict, str | None]:
    """The model config and Digit Lab metadata (if any) from a .keras zip."""
    damaged = ModelFileError(
        f"{name} is not a valid .keras file (damaged or truncated): it cannot be opened as a zip archive. "
        "Save the model again or copy the complete file."
    )
    if not zipfile.is_zipfile(path):
        raise damaged
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if _KERAS_CONFIG_ENTRY not in names:
                raise ModelFileError(f"{name} is a zip archive but not a Keras model: it has no {_KERAS_CONFIG_ENTRY}.")
            check_config_size(archive.getinfo(_KERAS_CONFIG_ENTRY).file_size, name)  # from the directory alone
            check_archive_sizes(archive, name)
            config_text = _read_zip_entry(archive, _KERAS_CONFIG_ENTRY, name)
            metadata_text = None
            if METADATA_ENTRY in names:
                metadata_text = _read_zip_entry(archive, METADATA_ENTRY, name)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as error:
        raise damaged from error
    except (OSError, RuntimeError, ValueError) as error:  # h5py reading the weights' directory says OSError
        raise ModelFileError(f"Could not read {name}: {shorten(_reason(error))}.") from error
    return _parse_config(config_text, name), metadata_text


def _read_zip_entry(archive: zipfile.ZipFile, entry: str, name: str) -> str:
    info = archive.getinfo(entry)
    if entry == _KERAS_CONFIG_ENTRY:
        check_config_size(info.file_size, name)
    elif info.file_size > MAX_CONFIG_BYTES:
        raise ModelFileError(f"{name} has an implausibly large '{entry}'; Digit Lab refuses to read it.")
    return archive.read(entry).decode("utf-8", errors="replace")


def _read_h5_file(path: Path, name: str) -> tuple[dict, str | None]:
    """The model config and Digit Lab metadata (if any) from a legacy HDF5 model file."""
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as error:
        raise ModelFileError(f"Could not read {name}: {_reason(error)}.") from error
    if not is_hdf5:
        raise ModelFileError(
            f"{name} is not a model file: it is not an HDF5 file (perhaps an image or text file renamed .h5)."
        )
    try:
        with h5py.File(path, "r") as h5_file:
            check_config_size(_attribute_bytes(h5_file, "model_config"), name)
            config_text = h5_file.attrs.get("model_config")
            if _attribute_bytes(h5_file, H5_METADATA_ATTRIBUTE) > MAX_CONFIG_BYTES:
                raise ModelFileError(f"{name} has an implausibly large Digit Lab metadata attribute; refused.")
            metadata_text = h5_file.attrs.get(H5_METADATA_ATTRIBUTE)
            if config_text is not None:
                check_config_size(len(config_text), name)
            check_h5_sizes(h5_file, name)
    except (OSError, KeyError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{name} is a damaged HDF5 file: {shorten(_reason(error))}.") from error
    if config_text is None:
        raise ModelFileError(
            f"{name} is an HDF5 file but holds no Keras model (no model_config); if it holds only weights "
            "(model.save_weights), load them into the code that built the model and save that as .keras."
        )
    if metadata_text is not None:
        metadata_text = _as_text(metadata_text)
    return _parse_config(_as_text(config_text), name), metadata_text


def _attribute_bytes(h5_file: h5py.File, attribute: str) -> int:
    """The bytes an HDF5 attribute holds as stored (0 when absent), read from its header, not its data."""
    if attribute not in h5_file.attrs:
        return 0
    return int(h5_file.attrs.get_id(attribute).get_storage_size())


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _parse_config(text: str, name: str) -> dict:
    check_config_values(text, name)
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ModelFileError(f"{name} has an unreadable model configuration (not JSON).") from error
    except RecursionError as error:  # json's parser recurses once per bracket
        raise ModelFileError(
            f"{name} has a model configuration nested too deeply to read; no Keras model is built like that."
        ) from error
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelFileError(f"{name} has a model configuration Digit Lab does not understand.")
    check_config_depth(config, name)
    check_layer_count(config, name)
    return config


@contextlib.contextmanager
def _keras_readable(path: Path) -> Iterator[Path]:
    """``path``, or a link to it with its suffix in lower case (Keras reads ``MODEL.KERAS`` as no model file)."""
    if path.suffix == path.suffix.lower():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="digitlab-load-") as folder:
        link = Path(folder) / f"model{path.suffix.lower()}"
        try:
            link.symlink_to(path.resolve())
        except OSError:  # no symbolic links here (Windows without the right): a copy
            shutil.copyfile(path, link)
        yield link


def _load_with_keras(path: Path, name: str) -> keras.Model:
    try:
        with warnings.catch_warnings(), _keras_readable(path) as readable:
            warnings.simplefilter("ignore")
            model = keras.models.load_model(readable, compile=False, safe_mode=True)
    except zipfile.BadZipFile as error:
        raise ModelFileError(f"{name} is not a valid .keras file (damaged or truncated): {_reason(error)}.") from error
    except Exception as error:  # any Keras/h5py failure becomes a readable message, its whole text in the log
        logger.info("Keras could not load %s", path, exc_info=True)
        raise ModelFileError(f"Keras could not load {name}: {shorten(_reason(error))}.") from error
    if not isinstance(model, keras.Model):
        raise ModelFileError(f"{name} holds a single Keras layer, not a model.")
    return model


def _resolve_metadata(text: str | None, model: keras.Model, num_classes: int) -> tuple[ModelMetadata, bool]:
    """The file's metadata if readable (class names checked against the model), else inferred defaults."""
    inferred = _infer_metadata(model, num_classes)
    if text is None:
        return inferred, False
    try:
        metadata = ModelMetadata.from_json(text)
    except (ValueError, RecursionError):
        return inferred, False
    if len(metadata.class_names) != num_classes:
        metadata.class_names = inferred.class_names
    return metadata, True


def _infer_metadata(model: keras.Model, num_classes: int) -> ModelMetadata:
    """Sensible defaults for a plain Keras file: classes "0".."k-1", [0, 1] input unless it rescales 0-255."""
    return ModelMetadata(
        class_names=[str(index) for index in range(num_classes)], input_scale=_infer_input_scale(model)
    )


_RANGE_KEEPING_LAYERS = (
    "Resizing",
    "CenterCrop",
    "Reshape",
    "Permute",
    "Cropping2D",
    "ZeroPadding2D",
    "Dropout",
    "SpatialDropout2D",
    "GaussianDropout",
    "GaussianNoise",
)
"""Layers that leave the pixels' range as it was (augmentation layers, named Random…, pass images through at
inference too): a Rescaling after them still says what range the model's input holds."""


_LARGEST_UNIT_MEAN = 1.5
"""A Normalization layer's mean above this (any channel) was adapted to pixels of 0-255, not of [0, 1]."""


def _largest_mean(layer: Any) -> float:
    """The largest of a Normalization layer's means (0 when it has none that are finite)."""
    try:
        values = np.asarray(layer.mean, dtype=np.float64)
    except (TypeError, ValueError):
        return 0.0
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else 0.0


def _first_value_layer(model: keras.Model) -> Any:
    """The first layer that changes the input's values, looking inside nested models and past augmentation layers
    (``Sequential([RandomRotation(0.1), Rescaling(1 / 255), …])`` and a nested preprocessing model, as in the
    Keras tutorials)."""
    for layer in leaf_layers(model):
        name = type(layer).__name__
        if name.startswith("Random") or name in _RANGE_KEEPING_LAYERS:
            continue
        return layer
    return None


def _infer_input_scale(model: keras.Model) -> str:
    first = _first_value_layer(model)
    if isinstance(first, keras.layers.Normalization) and _largest_mean(first) > _LARGEST_UNIT_MEAN:
        return "0-255"  # adapted to 0-255 pixels (an MNIST mean of about 33; of [0, 1] pixels about 0.13)
    if isinstance(first, keras.layers.Rescaling):
        scale = first.scale
        if isinstance(scale, int | float) and math.isclose(scale * 255.0, 1.0, rel_tol=1e-3):
            return "0-255"
        if isinstance(scale, int | float) and math.isclose(scale * 127.5, 1.0, rel_tol=1e-3):
            return "0-255"
    return "0-1"
