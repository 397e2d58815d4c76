"""Per-user folders for the command line, where Qt's QStandardPaths is not available (``ml`` never imports Qt)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ORGANIZATION = "DigitLab"
APPLICATION = "Digit Lab"


def user_data_folder() -> Path:
    """Digit Lab's per-user data folder, where Qt's AppDataLocation puts it (XDG_DATA_HOME on Linux)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / ORGANIZATION / APPLICATION


def kept_models_folder() -> Path:
    """Where ``digitlab train`` keeps a model it could not save where asked (never pruned, unlike the cache)."""
    return user_data_folder() / "trained"
