"""Save and load Digit Lab model files safely: atomic writes, metadata inside the file, no foreign code."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import json
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import h5py
import keras

from ml import __version__
from ml.regular_files import irregular_file_kind

KERAS_SUFFIXES = (".keras",)
H5_SUFFIXES = (".h5", ".hdf5")
SUPPORTED_SUFFIXES = KERAS_SUFFIXES + H5_SUFFIXES
INPUT_SCALES = ("0-1", "0-255", "-1-1", "0-16", "standardize")
INPUT_POLARITIES = ("white_on_black", "black_on_white")

METADATA_ENTRY = "digitlab.json"  # extra entry in the .keras zip; Keras's loader reads only its own entries
H5_METADATA_ATTRIBUTE = "digitlab_metadata"
_KERAS_CONFIG_ENTRY = "config.json"
_MAX_CONFIG_BYTES = 64 * 1024 * 1024
_MODEL_CLASS_NAMES = frozenset({"Sequential", "Functional", "Model"})
_NESTED_LAYER_KEYS = ("layers", "layer", "backward_layer", "forward_layer", "cell", "cells")
_UNSAFE_BUILTIN_CLASSES = {  # built into Keras, yet they run code or graphs from outside the model file's layers
    "Lambda": "a Lambda layer, which can run arbitrary code",
    "__lambda__": "a serialized Python lambda, which can run arbitrary code",
    "TFSMLayer": "a TFSMLayer, which runs an external TensorFlow SavedModel",
    "TorchModuleWrapper": "a TorchModuleWrapper, which unpickles a PyTorch module (arbitrary code)",
    "JaxLayer": "a JaxLayer, which wraps arbitrary JAX functions",
    "FlaxLayer": "a FlaxLayer, which wraps an arbitrary Flax module",
}
_IGNORED_CONFIG_KEYS = ("compile_config",)  # loss/metrics are never built: models load with compile=False
_TEMPORARY_NAME = re.compile(r"\..+\.[a-z0-9_]{8}(\.keras|\.h5|\.hdf5)")
"""What ``save_model``'s ``mkstemp(prefix=".<stem>.", suffix=<suffix>)`` names its temporary files."""
STALE_TEMPORARY_SECONDS = 300
"""A save rewrites its temporary file as it goes and takes seconds, so one untouched for 5 minutes is left over."""


class ModelFileError(Exception):
    """A model file Digit Lab refuses or cannot read; str(e) is a clear user-facing message."""


def _default_class_names() -> list[str]:
    return [str(digit) for digit in range(10)]


@dataclass
class ModelMetadata:
    """What Digit Lab knows about a model beyond its weights: classes, expected input, provenance."""

    class_names: list[str] = field(default_factory=_default_class_names)
    input_polarity: str = "white_on_black"
    input_scale: str = "0-1"
    input_mean: list[float] | None = None
    input_std: list[float] | None = None
    dataset: str | None = None
    preset: str | None = None
    hyperparameters: dict = field(default_factory=dict)
    test_accuracy: float | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    created: str | None = None
    digitlab_version: str | None = None

    def to_json(self) -> str:
        """Serialise to a JSON object (all fields)."""
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelMetadata:
        """Parse ``to_json`` output; unknown keys are ignored and malformed fields fall back to defaults."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("Digit Lab metadata must be a JSON object.")
        values: dict[str, Any] = {}
        for name, parse in _FIELD_PARSERS.items():
            if name not in data:
                continue
            with contextlib.suppress(TypeError, ValueError):
                values[name] = parse(data[name])
        return cls(**values)


def _parse_string_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValueError("expected a non-empty list")
    return [str(item) for item in value]


def _parse_float_list_or_none(value: Any) -> list[float] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError("expected a list of numbers")
    return [float(item) for item in value]


def _parse_choice(choices: tuple[str, ...]) -> Any:
    def parse(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"expected one of {choices}")
        return value

    return parse


def _parse_string_or_none(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _parse_float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    return float(value)


def _parse_dict(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    return value


def _parse_history(value: Any) -> dict[str, list[float]]:
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    return {str(key): [float(item) for item in series] for key, series in value.items()}


_FIELD_PARSERS: dict[str, Any] = {
    "class_names": _parse_string_list,
    "input_polarity": _parse_choice(INPUT_POLARITIES),
    "input_scale": _parse_choice(INPUT_SCALES),
    "input_mean": _parse_float_list_or_none,
    "input_std": _parse_float_list_or_none,
    "dataset": _parse_string_or_none,
    "preset": _parse_string_or_none,
    "hyperparameters": _parse_dict,
    "test_accuracy": _parse_float_or_none,
    "history": _parse_history,
    "created": _parse_string_or_none,
    "digitlab_version": _parse_string_or_none,
}


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


# ----------------------------------------------------------------------------------------------- checks


def check_classifier(model: keras.Model) -> int:
    """Return the number of classes; raise ModelFileError unless the model maps one input to (None, k>=2)."""
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, ValueError) as error:
        raise ModelFileError(
            "The model has no defined inputs and outputs (it was never built), so Digit Lab cannot use it."
        ) from error
    if len(inputs) != 1:
        raise ModelFileError(
            f"The model has {len(inputs)} inputs; Digit Lab needs a model with exactly one image input."
        )
    if len(outputs) != 1:
        raise ModelFileError(
            f"The model has {len(outputs)} outputs; Digit Lab needs a classifier with exactly one output."
        )
    shape = tuple(outputs[0].shape)
    if len(shape) != 2 or shape[1] is None or int(shape[1]) < 2:
        raise ModelFileError(
            f"The model is not a classifier: its output has shape {_format_shape(shape)}, but Digit Lab "
            "needs one score per class, shape (None, k) with k >= 2 (a regression head or an image output "
            "cannot be shown as class probabilities)."
        )
    return int(shape[1])


def outputs_probabilities(model: keras.Model) -> bool:
    """True if the layer producing the output applies softmax; otherwise the output is taken as logits."""
    return _produces_probabilities(_output_operation(model))


def _produces_probabilities(operation: Any) -> bool:
    """A softmax layer or activation, or an average of branches that each end in one (an ensemble)."""
    if type(operation).__name__ == "Softmax":
        return True
    if getattr(getattr(operation, "activation", None), "__name__", None) == "softmax":
        return True
    if type(operation).__name__ == "Average" and getattr(operation, "_inbound_nodes", None):
        branches = [tensor._keras_history.operation for tensor in operation._inbound_nodes[0].input_tensors]
        return bool(branches) and all(_produces_probabilities(branch) for branch in branches)
    return False


def _output_operation(model: keras.Model) -> Any:
    """The layer (or op) that produces the model's output, looking inside nested models."""
    try:
        operation = model.outputs[0]._keras_history.operation
    except (AttributeError, IndexError, ValueError):
        operation = model.layers[-1] if model.layers else None
    if isinstance(operation, keras.Model) and operation is not model:
        return _output_operation(operation)
    return operation


def _format_shape(shape: tuple) -> str:
    return str(tuple(None if size is None else int(size) for size in shape))


# ----------------------------------------------------------------------------------------------- saving


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


# ----------------------------------------------------------------------------------------------- loading


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
    _check_config_is_safe(config, name)
    model = _load_with_keras(path, name)
    try:
        num_classes = check_classifier(model)
    except ModelFileError as error:
        raise ModelFileError(f"Cannot use {name}: {error}") from error
    metadata, has_metadata = _resolve_metadata(metadata_text, model, num_classes)
    return LoadedModel(model=model, metadata=metadata, path=path, has_metadata=has_metadata)


def _refuse_folder(path: Path, name: str) -> NoReturn:
    if (path / "saved_model.pb").exists():
        raise ModelFileError(
            f"{name} is a TensorFlow SavedModel folder, which Keras 3 cannot load as a model. Convert it: "
            "run the code that built the model and call model.save('model.keras'); or, with the "
            "TensorFlow/tf.keras version that wrote it, load it with tf.keras.models.load_model(folder) and "
            "save it as 'model.h5'. (keras.layers.TFSMLayer(folder, call_endpoint='serving_default') can run "
            "it for inference in TensorFlow, but Digit Lab does not open models that wrap an external graph.)"
        )
    raise ModelFileError(f"{name} is a folder, not a model file: choose a {_supported_text()} file.")


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
            config_text = _read_zip_entry(archive, _KERAS_CONFIG_ENTRY, name)
            metadata_text = None
            if METADATA_ENTRY in names:
                metadata_text = _read_zip_entry(archive, METADATA_ENTRY, name)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as error:
        raise damaged from error
    except OSError as error:
        raise ModelFileError(f"Could not read {name}: {_reason(error)}.") from error
    return _parse_config(config_text, name), metadata_text


def _read_zip_entry(archive: zipfile.ZipFile, entry: str, name: str) -> str:
    if archive.getinfo(entry).file_size > _MAX_CONFIG_BYTES:
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
            config_text = h5_file.attrs.get("model_config")
            metadata_text = h5_file.attrs.get(H5_METADATA_ATTRIBUTE)
    except (OSError, KeyError, ValueError) as error:
        raise ModelFileError(f"{name} is a damaged HDF5 file: {_reason(error)}.") from error
    if config_text is None:
        raise ModelFileError(
            f"{name} is an HDF5 file but holds no Keras model (no model_config); if it holds only weights "
            "(model.save_weights), load them into the code that built the model and save that as .keras."
        )
    if metadata_text is not None:
        metadata_text = _as_text(metadata_text)
    return _parse_config(_as_text(config_text), name), metadata_text


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _parse_config(text: str, name: str) -> dict:
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ModelFileError(f"{name} has an unreadable model configuration (not JSON).") from error
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelFileError(f"{name} has a model configuration Digit Lab does not understand.")
    return config


def _load_with_keras(path: Path, name: str) -> keras.Model:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = keras.models.load_model(path, compile=False, safe_mode=True)
    except zipfile.BadZipFile as error:
        raise ModelFileError(f"{name} is not a valid .keras file (damaged or truncated): {_reason(error)}.") from error
    except Exception as error:  # any Keras/h5py failure becomes a readable message
        raise ModelFileError(f"Keras could not load {name}: {_reason(error)}.") from error
    if not isinstance(model, keras.Model):
        raise ModelFileError(f"{name} holds a single Keras layer, not a model.")
    return model


# ------------------------------------------------------------------------------------- config inspection


def _check_config_is_safe(config: dict, name: str) -> None:
    """Refuse Lambda layers, wrappers of foreign code or graphs, and any class that is not built into Keras."""
    for node, is_layer in _walk_config(config, is_layer=True):
        class_name = str(node.get("class_name"))
        if class_name in _UNSAFE_BUILTIN_CLASSES:
            raise ModelFileError(
                f"{name} contains {_UNSAFE_BUILTIN_CLASSES[class_name]}; Digit Lab refuses to load it."
            )
        if class_name.startswith("__") and class_name.endswith("__"):
            continue  # Keras's own markers for tensors, tuples and arrays inside configs
        if not _is_builtin(node, is_layer):
            raise ModelFileError(
                f"{name} uses a custom {_describe_custom(node, is_layer)} that Digit Lab does not "
                "know. Digit Lab never runs code from model files; rebuild the model from built-in Keras "
                "layers to open it here."
            )


def _describe_custom(node: dict, is_layer: bool) -> str:
    """E.g. "layer 'MyLayer' (registered as 'MyPackage>MyLayer')" for the refusal message."""
    class_name = str(node.get("class_name"))
    if class_name == "function" and isinstance(node.get("config"), str):
        class_name = node["config"]  # Keras 3 records plain functions as class "function"
    registered = node.get("registered_name")
    kind = "layer" if is_layer else "component"
    description = f"{kind} '{class_name.split('>')[-1]}'"
    if isinstance(registered, str) and ">" in registered:
        description += f" (registered as '{registered}')"
    return description


def _walk_config(node: Any, is_layer: bool) -> Iterator[tuple[dict, bool]]:
    """Yield every dict that names a class, flagging those that sit where a layer or model belongs."""
    if isinstance(node, list):
        for item in node:
            yield from _walk_config(item, is_layer)
        return
    if not isinstance(node, dict):
        return
    names_class = "class_name" in node
    if names_class:
        yield node, is_layer
    for key, value in node.items():
        if key in _IGNORED_CONFIG_KEYS:
            continue
        if key == "config" and names_class and isinstance(value, dict):
            for inner_key, inner_value in value.items():
                yield from _walk_config(inner_value, inner_key in _NESTED_LAYER_KEYS)
        else:
            yield from _walk_config(value, False)


def _is_builtin(node: dict, is_layer: bool) -> bool:
    class_name = node.get("class_name")
    if not isinstance(class_name, str) or ">" in class_name:
        return False
    registered = node.get("registered_name")
    if isinstance(registered, str) and ">" in registered:
        return False
    if "module" in node:  # Keras 3 config: the module says where the class lives
        module = node["module"]
        if not isinstance(module, str) or module.split(".")[0] != "keras":
            return False
        return not is_layer or class_name in _builtin_layer_names() or _is_keras_operation(module, class_name)
    return not is_layer or class_name in _builtin_layer_names()  # Keras 2 (tf.keras) .h5 config


@functools.cache
def _builtin_layer_names() -> frozenset[str]:
    names = {
        attribute
        for attribute, value in vars(keras.layers).items()
        if isinstance(value, type) and issubclass(value, keras.layers.Layer)
    }
    return frozenset(names | _MODEL_CLASS_NAMES)


def _is_keras_operation(module: str, class_name: str) -> bool:
    """True for Keras's own ops (e.g. keras.src.ops.numpy.Add) recorded in functional configs."""
    try:
        candidate = getattr(importlib.import_module(module), class_name, None)
    except ImportError:
        return False
    return isinstance(candidate, type) and issubclass(candidate, keras.Operation)


# ------------------------------------------------------------------------------------------- metadata


def _resolve_metadata(text: str | None, model: keras.Model, num_classes: int) -> tuple[ModelMetadata, bool]:
    """The file's metadata if readable (class names checked against the model), else inferred defaults."""
    inferred = _infer_metadata(model, num_classes)
    if text is None:
        return inferred, False
    try:
        metadata = ModelMetadata.from_json(text)
    except ValueError:
        return inferred, False
    if len(metadata.class_names) != num_classes:
        metadata.class_names = inferred.class_names
    return metadata, True


def _infer_metadata(model: keras.Model, num_classes: int) -> ModelMetadata:
    """Sensible defaults for a plain Keras file: classes "0".."k-1", [0, 1] input unless it rescales 0-255."""
    return ModelMetadata(
        class_names=[str(index) for index in range(num_classes)], input_scale=_infer_input_scale(model)
    )


def _infer_input_scale(model: keras.Model) -> str:
    first = next((layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)), None)
    if isinstance(first, keras.layers.Rescaling):
        scale = first.scale
        if isinstance(scale, int | float) and math.isclose(scale * 255.0, 1.0, rel_tol=1e-3):
            return "0-255"
        if isinstance(scale, int | float) and math.isclose(scale * 127.5, 1.0, rel_tol=1e-3):
            return "0-255"
    return "0-1"
