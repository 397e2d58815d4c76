"""A gallery of evaluated images: thumbnails with their true and predicted class, a click opens one in the canvas.

The thumbnails are drawn lazily by a list model (only those scrolled into view), so a gallery of every test image
stays quick.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QListView, QVBoxLayout, QWidget

from app.common.images import array_to_qimage

THUMBNAIL_SIDE = 56
CELL = QSize(88, 92)
PIXMAPS_KEPT = 600  # thumbnails kept drawn; scrolling through more redraws the oldest


class GalleryModel(QAbstractListModel):
    """Rows of (dataset index, caption, tooltip) over one image array; pixmaps made when first shown."""

    INDEX_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._images: np.ndarray | None = None
        self._indices = np.zeros(0, dtype=np.int64)
        self._captions: list[str] = []
        self._tooltips: list[str] = []
        self._pixmaps: dict[int, QPixmap] = {}

    def set_items(
        self, images: np.ndarray | None, indices: np.ndarray, captions: list[str], tooltips: list[str]
    ) -> None:
        """Show ``images[indices]`` with one caption and tooltip each."""
        self.beginResetModel()
        self._images = images
        self._indices = np.asarray(indices, dtype=np.int64)
        self._captions = list(captions)
        self._tooltips = list(tooltips)
        self._pixmaps.clear()
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        """One row per image (none under a valid parent: it is a flat list)."""
        return 0 if parent.isValid() else len(self._indices)

    def dataset_index(self, row: int) -> int:
        """The image's index in the evaluated set."""
        return int(self._indices[row])

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        """The thumbnail, its caption, its tooltip, or its dataset index."""
        if not index.isValid() or not 0 <= index.row() < len(self._indices):
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._captions[row]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltips[row]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(row)
        if role == self.INDEX_ROLE:
            return self.dataset_index(row)
        return None

    def _pixmap(self, row: int) -> QPixmap | None:
        if self._images is None:
            return None
        pixmap = self._pixmaps.get(row)
        if pixmap is None:
            if len(self._pixmaps) >= PIXMAPS_KEPT:
                self._pixmaps.pop(next(iter(self._pixmaps)))
            image = array_to_qimage(np.asarray(self._images[self.dataset_index(row)], dtype=np.float32))
            pixmap = QPixmap.fromImage(
                image.scaled(THUMBNAIL_SIDE, THUMBNAIL_SIDE, Qt.AspectRatioMode.KeepAspectRatio)  # crisp pixels
            )
            self._pixmaps[row] = pixmap
        return pixmap


class ImageGallery(QWidget):
    """A title and a grid of thumbnails; clicking one emits ``image_chosen`` with its index in the set."""

    image_chosen = Signal(int)

    def __init__(self, empty_text: str = "No images.", placeholder: str | None = None, parent: QWidget | None = None):
        """``empty_text``: what a result with no images says; ``placeholder``: the title before any (default: it)."""
        super().__init__(parent)
        self.empty_text = empty_text
        self.placeholder = empty_text if placeholder is None else placeholder
        self.title = QLabel(self.placeholder)
        self.title.setWordWrap(True)
        self.model = GalleryModel(self)
        self.view = QListView()
        self.view.setObjectName("GalleryView")
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setGridSize(CELL)
        self.view.setIconSize(QSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        self.view.setWordWrap(True)
        self.view.setSpacing(2)
        self.view.setModel(self.model)
        self.view.clicked.connect(self._on_clicked)
        self.view.activated.connect(self._on_clicked)  # Enter on the keyboard
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)

    def show_images(
        self,
        title: str,
        images: np.ndarray | None,
        indices: np.ndarray,
        captions: list[str],
        tooltips: list[str] | None = None,
    ) -> None:
        """Show ``images[indices]`` in this order, each with its caption, under ``title``."""
        self.title.setText(title if len(indices) else f"{title}\n{self.empty_text}")
        self.model.set_items(images, indices, captions, tooltips if tooltips is not None else captions)
        self.view.scrollToTop()

    def clear(self, text: str | None = None) -> None:
        """No images, nothing shown yet; ``text`` (or the placeholder) as the title."""
        self.title.setText(text or self.placeholder)
        self.model.set_items(None, np.zeros(0, dtype=np.int64), [], [])

    def count(self) -> int:
        """How many images the gallery holds."""
        return self.model.rowCount()

    def dataset_indices(self) -> list[int]:
        """The shown images' indices in the set, in order."""
        return [self.model.dataset_index(row) for row in range(self.count())]

    @Slot(QModelIndex)
    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.image_chosen.emit(self.model.dataset_index(index.row()))


def example_captions(
    indices: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    confidence: np.ndarray,
    class_names: list[str],
) -> tuple[list[str], list[str]]:
    """Short captions (``4 → 9 · 98 %``) and tooltips (``#123: true 4, predicted 9 with 98.1 % confidence``)."""
    captions, tooltips = [], []
    for index in np.asarray(indices, dtype=np.int64):
        true_name = class_names[int(labels[index])]
        predicted_name = class_names[int(predictions[index])]
        percent = float(confidence[index]) * 100
        arrow = "✓" if true_name == predicted_name else "→ " + short_name(predicted_name)
        captions.append(f"{short_name(true_name)} {arrow}\n{confidence_text(percent)}")
        tooltips.append(
            f"Image #{int(index)}: true {true_name}, predicted {predicted_name} with {percent:.1f} % confidence. "
            "Click to open it in the canvas."
        )
    return captions, tooltips


def short_name(name: str, limit: int = 8) -> str:
    """A class name cut to fit a thumbnail's caption."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def confidence_text(percent: float) -> str:
    """``98 %``, ``99.7 %``, or ``>99.9 %`` rather than a rounded 100 %."""
    if percent >= 99.95:
        return ">99.9 %"
    return f"{percent:.1f} %" if percent >= 99.5 else f"{percent:.0f} %"


def opened_image_words(eval_set, index: int, evaluation) -> str:
    """What an image opened in the canvas is: its set, number and class, and what ``evaluation`` (if any) made of the
    set's own pixels (the canvas reads it as any opened image, through its preprocessing, so may differ a little)."""
    true_name = eval_set.class_names[int(eval_set.labels[index])]
    words = f"{eval_set.title.split(' (')[0]} #{index}: true {true_name}"
    if evaluation is not None:
        predicted = evaluation.class_names[int(evaluation.predictions[index])]
        words += f"; evaluated as {predicted} ({confidence_text(float(evaluation.confidence[index]) * 100)})"
        words += " from the set's own pixels, here after the canvas's preprocessing"
    return words
