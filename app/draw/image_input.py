"""Images from outside onto the canvas: Open…, drops and the clipboard; a refused file is explained, never raised.

Files are read in a worker thread, so a slow or hostile file never freezes the window: the status bar says
"Reading <name>…", and a read that takes longer than ``READ_TIMEOUT_MS`` is given up (the read itself cannot be
killed; its late result is ignored and the user is told).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QMimeData, QObject, QSettings, Qt, QThread, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.common.threads import keep_until_finished, start_worker_thread
from app.draw.canvas import DrawingCanvas
from ml.models.formats import SUPPORTED_SUFFIXES
from ml.preprocess.read import READ_MAX_SIDE

READ_TIMEOUT_MS = 15_000
"""The longest a file is waited for: Digit Lab's reader caps pixels, so a legitimate image reads in a second or two."""

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.pgm *.ppm *.pbm);;All files (*)"


def local_file_from_mime(mime) -> str | None:
    """The first local file named by a MIME payload: a URL list, or text holding a file URL or path."""
    files = local_files_from_mime(mime)
    return files[0] if files else None


def local_files_from_mime(mime) -> list[str]:
    """The local files named by a MIME payload, in order: a URL list's, or the one in text holding a file URL or
    path."""
    if mime is None:
        return []
    if mime.hasUrls():
        files = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        if files:
            return files
    if mime.hasText():
        text = mime.text().strip().splitlines()[0].strip() if mime.text().strip() else ""
        if text.startswith("file:"):
            path = QUrl(text).toLocalFile()
            return [path] if path else []
        if text and Path(text).expanduser().is_file():
            return [str(Path(text).expanduser())]
    return []


def reduced_to_read_size(image: QImage) -> QImage:
    """``image`` area-averaged down to the longer side an image file is read at (``READ_MAX_SIDE``), as a file of
    the same pixels would be; unchanged when not larger. A 5K screenshot pasted whole took 1.4 s of the window's
    thread to convert, and then every prediction worked on all its pixels."""
    if max(image.width(), image.height()) <= READ_MAX_SIDE:
        return image
    return image.scaled(
        READ_MAX_SIDE,
        READ_MAX_SIDE,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def _short(error: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ImageReadWorker(QObject):
    """Reads one image file off the GUI thread with Digit Lab's safe reader; says what it read or why not."""

    read = Signal(int, object)  # request number, the (H, W) float32 image
    refused = Signal(int, str)  # request number, the message
    finished = Signal()

    def __init__(self, request: int, path: str) -> None:
        super().__init__()
        self.request = request
        self.path = path

    def run(self) -> None:
        """Read the file; every failure becomes a message, and ``finished`` always follows."""
        try:
            from ml.errors import ImageReadError
            from ml.preprocess.read import read_image
        except Exception as error:  # noqa: BLE001 - even a failed import ends in a message
            self.refused.emit(self.request, f"Cannot read '{Path(self.path).name}': {_short(error)}")
            self.finished.emit()
            return
        try:
            self.read.emit(self.request, read_image(self.path))
        except ImageReadError as error:
            self.refused.emit(self.request, str(error))
        except Exception as error:  # noqa: BLE001 - the thread must end with a message, whatever the file did
            self.refused.emit(self.request, f"Cannot read '{Path(self.path).name}': {_short(error)}")
        finally:
            self.finished.emit()


class ImageInput(QObject):
    """Puts images from files, drops and the clipboard on a canvas; model files dropped are handed on."""

    status_changed = Signal(str, int)  # a message for the status bar and how long to show it (ms)
    model_file_dropped = Signal(str)
    image_loaded = Signal(str)  # the file now on the canvas
    image_refused = Signal(str, str)  # the file and why it was not used (refused, unreadable or too slow)

    def __init__(self, canvas: DrawingCanvas, settings: QSettings, window: QWidget) -> None:
        super().__init__(window)
        self.canvas = canvas
        self.settings = settings
        self.window = window
        self.read_timeout_ms = READ_TIMEOUT_MS
        self._request = 0  # the newest read; results of older ones are ignored
        self._pending: dict[int, tuple[str, QTimer]] = {}  # reads awaited: their file and time limit
        self._left_out: dict[int, int] = {}  # reads of the first of several files dropped or pasted: how many others
        self._threads: dict[int, tuple[QThread, ImageReadWorker]] = {}  # held until each thread has finished
        application = QCoreApplication.instance()
        if application is not None:
            application.aboutToQuit.connect(self._hand_over_threads)

    def _hand_over_threads(self) -> None:
        """At exit, reads still running are handed to the application's final wait, never destroyed running."""
        for thread, _worker in list(self._threads.values()):
            try:
                if thread.isRunning():
                    keep_until_finished(thread)
            except RuntimeError:
                continue

    @property
    def is_reading(self) -> bool:
        """True while the newest file asked for is still being awaited."""
        return self._request in self._pending

    def open_file(self, path: str | os.PathLike, left_out: int = 0) -> bool:
        """Start reading an image file to show and predict; ``image_loaded`` or ``image_refused`` follows.

        Returns True once the read has started (the window stays responsive meanwhile); a newer request makes
        the result of an older one be ignored. ``left_out``: how many more files came with it (dropped or pasted
        together), which the status bar then says were not opened.
        """
        path = str(path)
        self._request += 1
        request = self._request
        self._left_out = {request: left_out} if left_out else {}
        worker = ImageReadWorker(request, path)
        worker.read.connect(self._on_read)
        worker.refused.connect(self._on_refused)
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.timeout.connect(lambda: self._give_up(request))
        self._pending[request] = (path, timer)
        self._threads[request] = (start_worker_thread(worker, "ImageReadThread", self._on_thread_finished), worker)
        timer.start(self.read_timeout_ms)
        self.status_changed.emit(f"Reading {Path(path).name}…", 0)
        return True

    def _on_thread_finished(self) -> None:
        """Let go of the threads that have finished (run in the GUI thread)."""
        for request, (thread, _worker) in list(self._threads.items()):
            try:
                finished = thread.isFinished()
            except RuntimeError:  # already deleted by Qt
                finished = True
            if finished:
                del self._threads[request]

    def _current(self, request: int) -> str | None:
        """The path of ``request`` if it is still the newest read and was not given up; its timer stopped."""
        entry = self._pending.pop(request, None)
        if entry is None:
            return None
        entry[1].stop()
        entry[1].deleteLater()
        return entry[0] if request == self._request else None

    def _on_read(self, request: int, gray: np.ndarray) -> None:
        path = self._current(request)
        if path is None:
            return
        self.canvas.set_image(gray)
        self.settings.setValue("paths/images", str(Path(path).parent))
        note = self._others_note(request)
        self.status_changed.emit(f"Opened {Path(path).name}{note}", 8000 if note else 5000)
        self.image_loaded.emit(path)

    def _on_refused(self, request: int, message: str) -> None:
        path = self._current(request)
        if path is None:
            return
        self.status_changed.emit(f"Could not open {Path(path).name}{self._others_note(request)}", 5000)
        QMessageBox.warning(self.window, "Cannot open image", message)
        self.image_refused.emit(path, message)

    def _others_note(self, request: int) -> str:
        """For the first of several files dropped or pasted together: that only it was opened; else nothing."""
        others = self._left_out.pop(request, 0)
        if not others:
            return ""
        rest = "the other was" if others == 1 else f"the other {others} were"
        return f" (the first of {others + 1} files; {rest} not opened: Digit Lab shows one image at a time)"

    def _give_up(self, request: int) -> None:
        """The read took too long: forget it (its thread finishes on its own) and say so."""
        entry = self._pending.pop(request, None)
        if entry is None:
            return
        path, timer = entry
        timer.deleteLater()
        if request in self._threads:
            keep_until_finished(self._threads[request][0])  # never destroyed while the reader is still inside it
        if request != self._request:
            return
        seconds = self.read_timeout_ms / 1000
        message = (
            f"Reading '{Path(path).name}' took longer than {seconds:g} s, so Digit Lab gave up on it; the drawing "
            "was kept. The file may be on a slow network drive, or not be an ordinary image."
        )
        self.status_changed.emit(f"Gave up reading {Path(path).name}", 8000)
        QMessageBox.warning(self.window, "Cannot open image", message)
        self.image_refused.emit(path, message)

    def load_image(self, image: QImage | np.ndarray, source: str = "the clipboard", verb: str = "Pasted") -> bool:
        """Show an in-memory image on the canvas and predict it; False (with a message) when it is unusable.
        The status bar then says ``<verb> an image from <source>``."""
        if isinstance(image, QImage) and image.isNull():
            self.status_changed.emit(f"The image from {source} is empty.", 8000)
            return False
        if isinstance(image, QImage):
            image = reduced_to_read_size(image)
        try:
            self.canvas.set_image(image)
        except ValueError as error:
            QMessageBox.warning(self.window, "Cannot use image", f"Cannot use the image from {source}: {error}")
            return False
        self.status_changed.emit(f"{verb} an image from {source}", 5000)
        return True

    def show_image(self, image: np.ndarray, description: str) -> None:
        """Put an image chosen elsewhere in the window (an evaluated example) on the canvas; it is predicted as is."""
        self.canvas.set_image(image)
        self.status_changed.emit(f"Opened {description}", 8000)

    def paste(self) -> bool:
        """Paste image data, an image file's URL or an image file's path from the clipboard."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QPixmap):
                image = image.toImage()
            if isinstance(image, QImage):
                return self.load_image(image)
        files = local_files_from_mime(mime)
        if files:
            return self.open_file(files[0], left_out=len(files) - 1)
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
        files = local_files_from_mime(mime)
        path = files[0] if files else None
        if path is not None and Path(path).suffix.lower() in SUPPORTED_SUFFIXES:
            self.model_file_dropped.emit(path)
        elif path is not None:
            self.open_file(path, left_out=len(files) - 1)
        elif mime.hasImage():
            self.load_image(QImage(mime.imageData()), source="another application", verb="Dropped")
        else:
            return False
        return True
