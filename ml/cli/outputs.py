"""Where a command writes: checked before the work starts, and never replacing an earlier model by default."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from ml.models.formats import SUPPORTED_SUFFIXES


def new_model_path(folder: Path, stem: str) -> Path:
    """``folder/<stem>-<date>-<time>.keras``, numbered ``-2``, ``-3``… if taken, so that no earlier model is lost."""
    name = f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"
    path, number = folder / f"{name}.keras", 1
    while path.exists():
        number += 1
        path = folder / f"{name}-{number}.keras"
    return path


def prepare_folder(folder: Path, contents: str) -> str | None:
    """Why ``folder`` cannot take ``contents`` (words such as "the model"), or None once it exists and takes files.

    A missing folder is created, and writing is proved by creating and deleting a file there, so that a run never
    finds out at its end (or one file at a time) that its work cannot be kept.
    """
    if os.path.exists(folder) and not os.path.isdir(folder):
        return f"cannot create the folder {folder} for {contents}: it is a file, not a folder."
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"cannot create the folder {folder} for {contents}: {error.strerror or error}."
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".digitlab-write-check-"):
            pass
    except OSError as error:
        return f"cannot write {contents} to {folder}: {error.strerror or error}."
    return None


def prepare_output_path(out: Path, contents: str = "the model") -> str | None:
    """Why ``out`` cannot take a model, or None once its folder exists and takes files (checked before training)."""
    if out.suffix.lower() not in SUPPORTED_SUFFIXES:
        return f"cannot save a model as '{out.name}': give {contents} a file name ending in .keras (or .h5)."
    if os.path.isdir(out):
        return f"{out} is a folder; give {contents} a file name, such as {out / 'model.keras'}."
    return prepare_folder(out.parent, contents)
