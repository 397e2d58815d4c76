"""Where an export may go: the formats, their names and suffixes, and the checks made before anything is written.

Free of TensorFlow, so the window's export dialog checks a typed path with the very rules the exporter applies.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ml.errors import DigitLabError

FORMATS: dict[str, str] = {
    "tflite": "TensorFlow Lite, float32",
    "tflite-int8": "TensorFlow Lite, full-integer int8",
    "savedmodel": "TensorFlow SavedModel folder (serving signature 'serve')",
    "h5": "Keras HDF5 (.h5), the card inside",
}
SUFFIXES: dict[str, tuple[str, ...]] = {"tflite": (".tflite",), "tflite-int8": (".tflite",), "h5": (".h5", ".hdf5")}
FORMAT_NAMES: dict[str, str] = {
    "tflite": "TFLite",
    "tflite-int8": "int8 TFLite",
    "savedmodel": "SavedModel",
    "h5": "h5",
}
ARTICLES: dict[str, str] = {"tflite": "a", "tflite-int8": "an", "savedmodel": "a", "h5": "an"}  # "an h5": said "aitch"


class ExportError(DigitLabError):
    """An export that could not be written or did not match the model; nothing was left behind."""


def format_name(fmt: str, article: bool = False) -> str:
    """How messages name ``fmt``: "TFLite", "SavedModel", "h5"; with ``article``: "a TFLite", "an h5"."""
    name = FORMAT_NAMES.get(fmt, fmt)
    return f"{ARTICLES.get(fmt, 'a')} {name}" if article else name


def sidecar_path(path: Path, fmt: str) -> Path | None:
    """``model.tflite`` -> ``model.tflite.json``; a SavedModel folder ``digits`` -> ``digits.savedmodel.json``; None
    for ``h5`` (its card is inside)."""
    if fmt == "h5":
        return None
    return path.with_name(f"{path.name}.savedmodel.json" if fmt == "savedmodel" else f"{path.name}.json")


def check_destination(fmt: str, out: str | os.PathLike) -> Path:
    """The export's path, refused in plain words when the format, the name or the folder will not do."""
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format '{fmt}'; use one of {', '.join(FORMATS)}.")
    path = Path(out).expanduser().absolute()
    if fmt in SUFFIXES and path.suffix.lower() not in SUFFIXES[fmt]:
        named = format_name(fmt, article=True)
        raise ExportError(
            f"{named[0].upper()}{named[1:]} export must be named {' or '.join(SUFFIXES[fmt])}, not '{path.name}'."
        )
    if not path.parent.is_dir():
        raise ExportError(f"Cannot export to {path}: the folder {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ExportError(f"Cannot export to {path}: the folder {path.parent} cannot be written.")
    if fmt == "savedmodel":
        if path.exists() and not path.is_dir():
            raise ExportError(f"Cannot export a SavedModel to {path}: a file of that name is in the way.")
        if path.is_dir() and any(path.iterdir()) and not (path / "saved_model.pb").exists():
            raise ExportError(
                f"Cannot export a SavedModel to {path}: that folder holds other files; choose a new folder."
            )
    elif path.is_dir():
        raise ExportError(f"Cannot export to {path}: a folder of that name is in the way.")
    sidecar = sidecar_path(path, fmt)
    if sidecar is not None and sidecar.is_dir():
        raise ExportError(f"Cannot write the metadata file {sidecar}: a folder of that name is in the way.")
    os.rmdir(workspace_beside(path))  # a folder that says it can be written and cannot (/proc, a full disk): refused
    return path


def workspace_beside(path: Path) -> Path:
    """A new hidden folder beside ``path`` to write the export in; ExportError in plain words when none can be made."""
    try:
        return Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.export-"))
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise ExportError(
            f"Cannot export to {path}: the folder {path.parent} cannot be written ({reason}); nothing was written."
        ) from error
