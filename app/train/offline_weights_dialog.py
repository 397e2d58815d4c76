"""The dialog offered when ImageNet weights cannot be downloaded: use a local weights file, or train from scratch."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QMessageBox, QWidget

OFFLINE_WEIGHTS_MARKER = "Could not fetch the ImageNet weights"  # how ml.models.transfer.offline_weights_message begins
WEIGHTS_URL_PATTERN = re.compile(r"https?://\S+?\.h5")


def is_offline_weights_message(message: str) -> bool:
    """True for the TrainingError message ``ml.models.transfer`` gives when the ImageNet weights cannot be fetched."""
    return message.startswith(OFFLINE_WEIGHTS_MARKER)


def weights_url(message: str) -> str | None:
    """The download address of the weights file named in the message, if any."""
    found = WEIGHTS_URL_PATTERN.search(message)
    return found.group(0) if found else None


class OfflineWeightsDialog(QMessageBox):
    """Explains that the ImageNet weights are out of reach and offers the two ways out as buttons."""

    def __init__(self, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OfflineWeightsDialog")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle("ImageNet weights unavailable")
        self.setText(message.splitlines()[0] if message else "The ImageNet weights could not be downloaded.")
        url = weights_url(message)
        where = (
            f"download <a href='{url}'>{url.rsplit('/', 1)[-1]}</a> on a machine with a network and choose it here"
            if url
            else "choose a copy of the backbone's 'notop' weights file"
        )
        self.setInformativeText(
            f"<p>Two ways out; either restarts training:</p><ul><li><b>Use a local weights file</b>: {where}.</li>"
            "<li><b>Train from scratch</b>: the backbone starts from random weights (slower to learn, "
            "no download).</li></ul>"
        )
        self.setDetailedText(message)
        self.local_file_button = self.addButton("Use a local weights file…", QMessageBox.ButtonRole.AcceptRole)
        self.scratch_button = self.addButton("Train from scratch", QMessageBox.ButtonRole.AcceptRole)
        self.cancel_button = self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(self.local_file_button)
        self.setEscapeButton(self.cancel_button)

    def choice(self) -> str | None:
        """After ``exec()``: ``"file"``, ``"scratch"`` or None (cancelled)."""
        clicked = self.clickedButton()
        if clicked is self.local_file_button:
            return "file"
        if clicked is self.scratch_button:
            return "scratch"
        return None


def ask_offline_weights_choice(message: str, parent: QWidget | None = None) -> str | None:
    """Show the dialog; ``"file"``, ``"scratch"`` or None."""
    dialog = OfflineWeightsDialog(message, parent)
    dialog.exec()
    return dialog.choice()
