"""The About box's text: Digit Lab's version and everything it runs on."""

from __future__ import annotations

import html
import platform

import numpy as np
import pyqtgraph as pg
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QUrl, qVersion

from app.common.errors import log_file_path
from app.common.user_folders import trained_models_folder
from ml import __version__


def about_text(backend: dict | None) -> str:
    """Versions of Digit Lab and everything it runs on, and the device in use."""
    rows = [
        ("Digit Lab", __version__),
        ("Python", platform.python_version()),
        ("Qt", qVersion()),
        ("PySide6", pyside_version),
        ("pyqtgraph", pg.__version__),
        ("numpy", np.__version__),
        ("TensorFlow", backend["tensorflow"] if backend else "loading…"),
        ("Keras", backend["keras"] if backend else "loading…"),
        ("Device", backend["device"] if backend else "loading…"),
    ]
    rows += [("Log", folder_link(log_file_path().parent)), ("Unsaved runs", folder_link(trained_models_folder()))]
    table = "".join(f"<tr><td>{name}</td><td>&nbsp;&nbsp;{value}</td></tr>" for name, value in rows)
    return (
        "<h3>Digit Lab</h3><p>Draw a digit and watch a neural network decide; "
        f"train, load and compare Keras classifiers.</p><table>{table}</table>"
    )


def folder_link(folder) -> str:
    """A link that opens ``folder`` in the file manager, showing its path."""
    return f'<a href="{QUrl.fromLocalFile(str(folder)).toString()}">{html.escape(str(folder))}</a>'
