"""The per-user folders Digit Lab writes to (Qt's standard locations, with plain fallbacks)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths


def user_cache_folder() -> Path:
    """The per-user cache folder: trained models not yet kept, converted TFLite models."""
    cache = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    return Path(cache) if cache else Path.home() / ".cache" / "digitlab"


def trained_models_folder() -> Path:
    """Where freshly trained models are saved before the user keeps one (the newest few runs stay there)."""
    return user_cache_folder() / "trained"


def default_models_folder() -> Path:
    """Where model files go until the user picks another folder: "Digit Lab models" in the Documents folder."""
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents or Path.home()) / "Digit Lab models"


def user_data_folder() -> Path:
    """The per-user data folder (Qt's AppDataLocation): My samples and taught model versions live here."""
    data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(data) if data else Path.home() / ".local" / "share" / "digitlab"
