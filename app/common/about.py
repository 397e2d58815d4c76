"""The About box's text: Digit Lab's version and everything it runs on."""

from __future__ import annotations

import html
import platform
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QUrl, Slot, qVersion
from PySide6.QtGui import QDesktopServices, QIcon
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.common.errors import current_log_file
from app.common.user_folders import default_models_folder, trained_models_folder
from ml import __version__
from ml.assets import asset_path


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
    folders = [
        ("Models", default_models_folder()),
        ("Unsaved runs", trained_models_folder()),
        ("Log", current_log_file().parent),
    ]
    version_table = table_rows(rows[1:])  # Digit Lab's own version heads the box
    folder_table = table_rows([(name, folder_link(path)) for name, path in folders])
    return (
        f"<h2>Digit Lab {html.escape(__version__)}</h2><p>Draw a digit and watch a neural network decide;<br>"
        "train, load and compare Keras classifiers.</p>"
        f"<p><b>Folders</b> (click to open)</p><table>{folder_table}</table>"
        f"<p><b>Runs on</b></p><table>{version_table}</table>"
    )


def table_rows(rows: list[tuple[str, str]]) -> str:
    """HTML table rows: a name, then its value."""
    return "".join(f"<tr><td>{name}</td><td>&nbsp;&nbsp;{value}</td></tr>" for name, value in rows)


def folder_link(folder) -> str:
    """A link that opens ``folder`` in the file manager, showing its path."""
    path = html.escape(str(folder))
    return f'<a href="{QUrl.fromLocalFile(str(folder)).toString()}">{path}</a>'


@Slot(str)
def open_folder_link(url: str) -> bool:
    """Open a folder link in the file manager, making Digit Lab's folder first: on a fresh machine "Models" and
    "Unsaved runs" do not exist yet, and their links did nothing."""
    folder = Path(QUrl(url).toLocalFile())
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # the file manager then says what is wrong with the path
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def application_icon() -> QIcon:
    """Digit Lab's icon (``assets/digitlab-icon.png``, drawn by ``tools/draw_icon.py``); empty when it is missing."""
    path = asset_path("digitlab-icon.png")
    return QIcon(str(path)) if path.is_file() else QIcon()


class AboutDialog(QDialog):
    """Help ▸ About: the icon, the version, links to Digit Lab's folders and what it runs on; paths never wrap."""

    def __init__(self, backend: dict | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AboutDialog")
        self.setWindowTitle("About Digit Lab")
        icon = QLabel()
        icon.setPixmap(application_icon().pixmap(72, 72))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text = QLabel(about_text(backend))
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(False)  # a wrapping label breaks long paths at "/"
        self.text.linkActivated.connect(open_folder_link)  # the file manager there, the folder made if need be
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        content = QHBoxLayout()
        content.setSpacing(18)
        content.addWidget(icon)
        content.addWidget(self.text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(content)
        layout.addWidget(buttons)
