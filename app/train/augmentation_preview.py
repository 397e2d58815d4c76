"""The augmentation preview: training images and random augmentations of them, as training would see them."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRect, QSize, Qt, QThread, Signal, Slot
from PySide6.QtGui import QCloseEvent, QColor, QFont, QImage, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.common.images import array_to_qimage
from app.common.threads import start_worker_thread
from ml.plurals import plural

PREVIEW_COLUMNS = 8
PREVIEW_ROWS = 4
POOL_SIZE = 512  # training images drawn once; Shuffle picks new ones from these without reloading the dataset
DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "sklearn-digits": "scikit-learn digits"}
DEFAULT_SOURCE: dict[str, Any] = {"dataset": "mnist", "data_file": None, "image_size": None, "color_mode": "grayscale"}


def load_preview_pool(source: dict[str, Any], seed: int) -> dict[str, Any]:
    """A random sample of the source dataset's training images (float (N, H, W, C) in [0, 1]) and their labels.

    An image folder is listed and only the sampled files are read, however big the folder.
    """
    from ml.data.datasets import load_dataset

    name = source.get("dataset") or "mnist"
    if Path(name).is_dir():
        from ml.data.streaming import open_image_folder

        folder = open_image_folder(
            name, image_size=source.get("image_size"), color_mode=source.get("color_mode") or "grayscale"
        )
        chosen = np.sort(np.random.default_rng(seed).permutation(len(folder.train))[:POOL_SIZE])
        images, read = folder.read_batch(folder.train.paths[chosen])
        return {
            "images": np.ascontiguousarray(images[read], dtype=np.float32),
            "labels": [folder.class_names[int(label)] for label in folder.train.labels[chosen][read]],
            "name": folder.name,
        }
    dataset = load_dataset(
        source.get("dataset") or "mnist",
        data_file=source.get("data_file"),
        image_size=source.get("image_size"),
        color_mode=source.get("color_mode") or "grayscale",
    )
    chosen = np.random.default_rng(seed).permutation(len(dataset.x_train))[:POOL_SIZE]
    return {
        "images": np.ascontiguousarray(dataset.x_train[chosen], dtype=np.float32),
        "labels": [dataset.class_names[int(label)] for label in dataset.y_train[chosen]],
        "name": dataset.name,
    }


def augment_preview(pool: dict[str, Any], seed: int, columns: int, rows: int) -> dict[str, Any]:
    """``columns`` images from the pool and ``rows`` augmentations of each (``ml.data.augment.augmented_examples``)."""
    from ml.data.augment import AugmentSettings, augmented_examples

    images = pool["images"]
    if images.ndim != 4 or images.shape[1] != images.shape[2]:
        raise ValueError(f"Augmentation applies to square images, not to data of shape {images.shape[1:]}.")
    picked = np.random.default_rng(seed).choice(len(images), size=min(columns, len(images)), replace=False)
    originals = images[picked]
    repeated = np.tile(originals, (rows, 1, 1, 1))  # row r holds augmentation r of every column
    augmented = augmented_examples(repeated, seed=seed).reshape(rows, len(picked), *originals.shape[1:])
    return {
        "originals": originals,
        "augmented": augmented.astype(np.float32),
        "labels": [pool["labels"][index] for index in picked],
        "settings": dataclasses.asdict(AugmentSettings()),
        "seed": seed,
    }


class AugmentationWorker(QObject):
    """Loads training images (once) and augments a few of them, off the GUI thread."""

    examples_ready = Signal(dict)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, source: dict[str, Any], seed: int, pool: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.source = dict(source)
        self.seed = seed
        self.pool = pool

    @Slot()
    def run(self) -> None:
        """Emit ``examples_ready`` (with the pool, for the next shuffle) or ``failed``; always ``finished``."""
        try:
            pool = self.pool if self.pool is not None else load_preview_pool(self.source, self.seed)
            examples = augment_preview(pool, self.seed, PREVIEW_COLUMNS, PREVIEW_ROWS)
            examples["pool"] = pool
            self.examples_ready.emit(examples)
        except Exception as error:  # noqa: BLE001 - shown in the dialog in plain words
            from ml.errors import DatasetError

            message = str(error) if isinstance(error, DatasetError | ValueError) else f"{type(error).__name__}: {error}"
            self.failed.emit(f"Cannot preview augmentation: {message}")
        finally:
            self.finished.emit()


def image_to_qimage(image: np.ndarray) -> QImage:
    """A float (H, W), (H, W, 1) or (H, W, 3) image in [0, 1] as a QImage that owns its pixels."""
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return array_to_qimage(image)
    rgb = np.ascontiguousarray(np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8))
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, width * 3, QImage.Format.Format_RGB888).copy()


class SampleGrid(QWidget):
    """A view of a preview: each column a training image (top, labelled) above its augmentations, crisp pixels."""

    GAP = 6
    LABEL_HEIGHT = 18
    SEPARATOR = 12

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.originals: list[QImage] = []
        self.augmented: list[list[QImage]] = []
        self.labels: list[str] = []
        self.image_side = 28
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(self._size_for_scale(2))

    def set_examples(self, originals: np.ndarray, augmented: np.ndarray, labels: list[str]) -> None:
        """Show ``originals`` (N, H, W[, C]) with ``augmented`` (rows, N, H, W[, C]) below them."""
        self.originals = [image_to_qimage(image) for image in originals]
        self.augmented = [[image_to_qimage(image) for image in row] for row in augmented]
        self.labels = list(labels)
        self.image_side = int(originals.shape[1])
        self.setMinimumSize(self._size_for_scale(2))
        self.updateGeometry()
        self.update()

    @property
    def columns(self) -> int:
        """Images per row."""
        return max(len(self.originals), PREVIEW_COLUMNS)

    @property
    def rows(self) -> int:
        """Rows of images, the originals included."""
        return 1 + max(len(self.augmented), PREVIEW_ROWS)

    def _size_for_scale(self, scale: int) -> QSize:
        side = self.image_side * scale
        width = self.columns * side + (self.columns - 1) * self.GAP
        height = self.LABEL_HEIGHT + self.rows * side + (self.rows - 1) * self.GAP + self.SEPARATOR
        return QSize(width, height)

    def sizeHint(self) -> QSize:
        """Room for 3x magnified images."""
        return self._size_for_scale(max(1, 84 // max(1, self.image_side)))

    def scale(self) -> int:
        """The largest whole magnification that fits, so every image pixel is an equal square."""
        side_width = (self.width() - (self.columns - 1) * self.GAP) / self.columns
        side_height = (self.height() - self.LABEL_HEIGHT - (self.rows - 1) * self.GAP - self.SEPARATOR) / self.rows
        return max(1, math.floor(min(side_width, side_height) / self.image_side))

    def tile_rect(self, row: int, column: int) -> QRect:
        """Where image (row, column) is drawn; row 0 holds the originals."""
        side = self.image_side * self.scale()
        used = self._size_for_scale(self.scale())
        left = (self.width() - used.width()) // 2 + column * (side + self.GAP)
        top = (self.height() - used.height()) // 2 + self.LABEL_HEIGHT + row * (side + self.GAP)
        if row > 0:
            top += self.SEPARATOR
        return QRect(left, top, side, side)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Labels, originals, a separator, then the augmentations; nearest-neighbour magnification."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        text_color = self.palette().color(QPalette.ColorRole.WindowText)
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        for column, image in enumerate(self.originals):
            rect = self.tile_rect(0, column)
            if column < len(self.labels):
                painter.setPen(text_color)
                label_rect = QRect(
                    rect.left() - self.GAP, rect.top() - self.LABEL_HEIGHT, rect.width() + 2 * self.GAP, 16
                )
                elided = painter.fontMetrics().elidedText(
                    self.labels[column], Qt.TextElideMode.ElideRight, label_rect.width()
                )
                painter.drawText(label_rect, Qt.AlignmentFlag.AlignCenter, elided)
            painter.drawImage(rect, image)
            painter.setPen(QPen(QColor(37, 99, 235), 2))
            painter.drawRect(rect.adjusted(-1, -1, 0, 0))
        if self.augmented:
            first = self.tile_rect(1, 0)
            y = first.top() - self.SEPARATOR // 2 - self.GAP // 2
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1, Qt.PenStyle.DashLine))
            painter.drawLine(first.left(), y, self.tile_rect(1, self.columns - 1).right(), y)
        for row, images in enumerate(self.augmented, start=1):
            for column, image in enumerate(images):
                painter.drawImage(self.tile_rect(row, column), image)


def describe_settings(settings: dict[str, Any]) -> str:
    """``rotation ±12°, shift ±8 %, zoom ±12 %, thicker or thinner strokes half the time``."""
    return (
        f"rotation ±{settings['rotation_degrees']:g}°, shift ±{settings['shift_fraction'] * 100:g} %, "
        f"zoom ±{settings['zoom_range'] * 100:g} %, thicker or thinner strokes "
        f"{settings['thickness_probability'] * 100:g} % of the time"
    )


class AugmentationPreviewDialog(QDialog):
    """A view of what "Augment images" does: training images (top row) and random augmentations below each."""

    examples_shown = Signal()

    def __init__(self, source: dict[str, Any] | None = None, parent: QWidget | None = None, seed: int = 0) -> None:
        super().__init__(parent)
        self.setObjectName("AugmentationPreviewDialog")
        self.setWindowTitle("Augmentation preview")
        self.source = dict(source or DEFAULT_SOURCE)
        self.seed = seed
        self._pool: dict[str, Any] | None = None
        self._thread: QThread | None = None
        self._worker: AugmentationWorker | None = None
        self._pending_shuffle = False
        self.examples: dict[str, Any] | None = None
        self.caption = QLabel("Loading training images…")
        self.caption.setWordWrap(True)
        self.grid = SampleGrid()
        self.shuffle_button = QPushButton("Shuffle")
        self.shuffle_button.setToolTip("Other training images, other random augmentations")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.shuffle_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.grid, 1)
        layout.addWidget(buttons)
        self.shuffle_button.clicked.connect(self._on_shuffle_clicked)
        self.resize(780, 640)  # room for 3x magnified digits
        self._start_worker()

    @property
    def is_busy(self) -> bool:
        """True while a worker thread is preparing examples."""
        return self._thread is not None

    def set_source(self, source: dict[str, Any]) -> None:
        """Preview another dataset (the training panel's current choice); reloads its images."""
        if dict(source) == self.source:
            return
        self.source = dict(source)
        self._pool = None
        self._request_examples()

    @Slot()
    def _on_shuffle_clicked(self) -> None:
        """New images and new augmentations."""
        self.seed += 1
        self._request_examples()

    def _request_examples(self) -> None:
        """Start a worker now, or right after the running one."""
        if self.is_busy:
            self._pending_shuffle = True
        else:
            self._start_worker()

    def _start_worker(self) -> None:
        """Prepare examples in a worker thread (TensorFlow's augmentation must not run in the GUI thread)."""
        self.shuffle_button.setEnabled(False)
        worker = AugmentationWorker(self.source, self.seed, self._pool)
        worker.examples_ready.connect(self._on_examples_ready)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self._thread = start_worker_thread(worker, "AugmentationPreviewThread", self._on_thread_finished)

    @Slot(dict)
    def _on_examples_ready(self, examples: dict) -> None:
        """Show the new examples."""
        self._pool = examples.pop("pool")
        self.examples = examples
        self.grid.set_examples(examples["originals"], examples["augmented"], examples["labels"])
        count = examples["augmented"].shape[0]
        name = self._pool["name"]
        source = DATASET_TITLES.get(name) or Path(name).name or name
        ranges = describe_settings(examples["settings"])
        self.caption.setText(
            f"Top row: {plural(len(examples['originals']), 'training image')} from {source}. "
            f"Below each: {count} random augmentations, as training sees them with “Augment images” on ({ranges})."
        )
        self.examples_shown.emit()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        """Say why there is nothing to show."""
        self.caption.setText(message)

    @Slot()
    def _on_thread_finished(self) -> None:
        """The worker is done: allow Shuffle, or start the shuffle asked for meanwhile."""
        if self.sender() is not self._thread:
            return  # a thread that shutdown() already waited for
        self._thread.wait()  # returns at once: it has ended; this only lets it finish its clean-up
        self._forget_thread()

    def _forget_thread(self) -> None:
        """Drop the ended worker and its thread; start a waiting shuffle."""
        self._thread = self._worker = None
        self.shuffle_button.setEnabled(True)
        if self._pending_shuffle:
            self._pending_shuffle = False
            self._start_worker()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Wait for a running worker (it cannot be interrupted; it takes a second or two); True when none runs."""
        self._pending_shuffle = False
        thread = self._thread
        if thread is None:
            return True
        try:
            thread.finished.disconnect(thread.deleteLater)
        except (RuntimeError, TypeError):
            pass
        thread.quit()  # ends its event loop once the worker returns (its own quit would wait for this thread)
        if thread.wait(timeout_ms):
            self._forget_thread()
            thread.deleteLater()
            return True
        from app.common.threads import keep_until_finished

        keep_until_finished(thread)
        return False

    def done(self, result: int) -> None:
        """Closing the dialog lets a running worker finish first."""
        self.shutdown()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Closing the window lets a running worker finish first."""
        self.shutdown()
        super().closeEvent(event)
