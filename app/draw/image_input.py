"""Images from outside onto the canvas: Open…, drops and the clipboard; a refused file is explained, never raised."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QObject, QSettings, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.draw.canvas import DrawingCanvas
from ml.models.formats import SUPPORTED_SUFFIXES

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.pgm *.ppm *.pbm);;All files (*)"


def local_file_from_mime(mime) -> str | None:
    """The first local file named by a MIME payload: a URL list, or text holding a file URL or path."""
    if mime is None:
        return None
    if mime.hasUrls():
        for url in mime.urls():
            if url.isLocalFile():
                return url.toLocalFile()
    if mime.hasText():
        text = mime.text().strip().splitlines()[0].strip() if mime.text().strip() else ""
        if text.startswith("file:"):
            return QUrl(text).toLocalFile() or None
        if text and Path(text).expanduser().is_file():
            return str(Path(text).expanduser())
    return None


class ImageInput(QObject):
    """Puts images from files, drops and the clipboard on a canvas; model files dropped are handed on."""

    status_changed = Signal(str, int)  # a message for the status bar and how long to show it (ms)
    model_file_dropped = Signal(str)

    def __init__(self, canvas: DrawingCanvas, settings: QSettings, window: QWidget) -> None:
        super().__init__(window)
        self.canvas = canvas
        self.settings = settings
        self.window = window

    def open_file(self, path: str | os.PathLike) -> bool:
        """Show an image file on the canvas and predict it; False (with a message) when it cannot be read."""
        from ml.errors import ImageReadError
        from ml.preprocess.read import read_image

        try:
            gray = read_image(path)
        except ImageReadError as error:
            QMessageBox.warning(self.window, "Cannot open image", str(error))
            return False
        self.canvas.set_image(gray)
        self.settings.setValue("paths/images", str(Path(path).parent))
        self.status_changed.emit(f"Opened {Path(path).name}", 5000)
        return True

    def load_image(self, image: QImage | np.ndarray, source: str = "the clipboard") -> bool:
        """Show an in-memory image on the canvas and predict it; False (with a message) when it is unusable."""
        if isinstance(image, QImage) and image.isNull():
            self.status_changed.emit(f"The image from {source} is empty.", 8000)
            return False
        try:
            self.canvas.set_image(image)
        except ValueError as error:
            QMessageBox.warning(self.window, "Cannot use image", f"Cannot use the image from {source}: {error}")
            return False
        self.status_changed.emit(f"Pasted an image from {source}", 5000)
        return True

    def paste(self) -> bool:
        """Paste image data, an image file's URL or an image file's path from the clipboard."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QPixmap):
                image = image.toImage()
            if isinstance(image, QImage):
                return self.load_image(image)
        path = local_file_from_mime(mime)
        if path is not None:
            return self.open_file(path)
        self.status_changed.emit("The clipboard holds no image or image file.", 8000)
        return False

    def ask_and_open(self) -> None:
        """Ask for an image file (starting in the last image folder) and open it."""
        folder = self.settings.value("paths/images", str(Path.home()), type=str)
        path, _ = QFileDialog.getOpenFileName(self.window, "Open image", folder, IMAGE_FILTER)
        if path:
            self.open_file(path)

    @staticmethod
    def accepts(mime: QMimeData) -> bool:
        """True for image data and local files (what a drop can bring)."""
        return mime.hasImage() or local_file_from_mime(mime) is not None

    def drop(self, mime: QMimeData) -> bool:
        """A dropped model file is handed on; a dropped image is shown and predicted. False when nothing was used."""
        path = local_file_from_mime(mime)
        if path is not None and Path(path).suffix.lower() in SUPPORTED_SUFFIXES:
            self.model_file_dropped.emit(path)
        elif path is not None:
            self.open_file(path)
        elif mime.hasImage():
            self.load_image(QImage(mime.imageData()), source="the dropped data")
        else:
            return False
        return True
