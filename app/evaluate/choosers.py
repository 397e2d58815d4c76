"""What the workspace offers to judge on, and the second model of a comparison or an overlay."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

from app.evaluate.worker import ModelRef, model_ref

SET_LABELS = {
    "mnist-test": "MNIST test (10,000 images)",
    "fashion-test": "Fashion-MNIST test (10,000 images)",
    "digits-test": "scikit-learn digits, test split",
    "folder": "An image folder…",
}
MODEL_FILTER = "Keras models (*.keras *.h5 *.hdf5)"


def previous_model(description: dict | None) -> ModelRef | None:
    """The model one switch away (Model ▸ Switch to previous model), as the model thread describes it."""
    description = description or {}
    path = description.get("previous_source_path")
    if not path:
        return None
    return model_ref(path, description.get("previous_name") or "previous", description.get("previous_temperature"))


def ask_model_file(parent: QWidget, settings: QSettings) -> ModelRef | None:
    """A model file the user picks (None when cancelled); its folder is remembered."""
    start = str(settings.value("evaluate/models", ""))
    path, _ = QFileDialog.getOpenFileName(parent, "Compare with a model", start, MODEL_FILTER)
    if not path:
        return None
    settings.setValue("evaluate/models", str(path))
    return model_ref(path, Path(path).stem)


def told_apart(other: ModelRef, active_name: str) -> ModelRef:
    """``other`` named so that it reads apart from the active model: by its file's name, then its folder too, when
    its own name is the active model's (an export of the model, a copy in another folder)."""
    if other.name != active_name:
        return other
    path = Path(other.path)
    for name in (path.name, f"{path.name} in {path.parent.name or path.parent}", f"{other.name} (other)"):
        if name != active_name:
            return dataclasses.replace(other, name=name)
    return other
