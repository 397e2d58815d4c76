"""A view of the preprocessing stages: each stage as a small thumbnail with its name."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetrics, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.common.images import array_to_qimage, shrunk_to_fit

THUMBNAIL_SIDE = 56
COLUMN_WIDTH = 66  # a stage's caption, a little wider than its thumbnail
COLUMN_SPACING = 6
RESERVED_COLUMNS = 6  # a drawing's stages: input, background removed, cropped, stroke width, scaled, centred


def render_thumbnail(image: QImage | None, side: int, frame: QPen) -> QImage:
    """``image`` centred in a transparent ``side``-pixel square on black, framed: magnified by a whole factor with
    crisp pixels, or shrunk smoothly, as the model input's view draws it."""
    canvas = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    canvas.fill(Qt.GlobalColor.transparent)
    width = height = float(side)
    if image is not None:
        factor = side / max(image.width(), image.height())
        factor = float(int(factor)) if factor >= 1 else factor
        width, height = image.width() * factor, image.height() * factor
    rect = QRectF((side - width) / 2, (side - height) / 2, width, height)
    painter = QPainter(canvas)
    painter.fillRect(rect, Qt.GlobalColor.black)
    if image is not None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, width < image.width())
        painter.drawImage(rect, image)
    painter.setPen(frame)
    painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))
    painter.end()
    return canvas


class StageThumbnail(QLabel):
    """One stage, small. It is rendered into a pixmap when it changes, so that the window's repaints run no Python
    for it: each Python paint method waits for the GIL while the model thread runs Python (up to 1 ms, and seven
    thumbnails repaint with every prediction)."""

    def __init__(self, side: int = THUMBNAIL_SIDE, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixels: np.ndarray | None = None
        self._image: QImage | None = None
        self.setFixedSize(side, side)

    @property
    def pixels(self) -> np.ndarray | None:
        """The stage shown, as the model thread made it, or None."""
        return self._pixels

    @property
    def image(self) -> QImage | None:
        """The stage as drawn: area-averaged down first when it is several times larger than the thumbnail."""
        return self._image

    def set_image(self, image: np.ndarray | None) -> None:
        """Show a 2-D gray array in [0, 1] (1 = white), or nothing."""
        ratio = self.devicePixelRatioF()
        side = round(self.width() * ratio)
        self._pixels = None if image is None else np.asarray(image, dtype=np.float32)
        self._image = None if self._pixels is None else array_to_qimage(shrunk_to_fit(self._pixels, side))
        frame = QPen(self.palette().color(QPalette.ColorRole.Mid), ratio)
        pixmap = QPixmap.fromImage(render_thumbnail(self._image, side, frame))
        pixmap.setDevicePixelRatio(ratio)
        self.setPixmap(pixmap)


class StageStrip(QWidget):
    """A view of the preprocessing stages, each as a small thumbnail with its name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(COLUMN_SPACING)
        self._names: list[str] = []
        self._columns: list[tuple[QWidget, StageThumbnail, QLabel]] = []  # holder, thumbnail, caption
        self._layout.addStretch(1)
        self._caption_font = QFont(self.font())
        self._caption_font.setPointSizeF(max(self.font().pointSizeF() * 0.85, 7.0))
        # Once stages are shown, never smaller than the most shown so far (_rebuild): a drawing whose stages differ
        # from the last one's must not relay the prediction panel out (the bars' plot and the model input's view
        # resized with it, 20-40 ms of the window's thread while the user draws). Room for two-line captions then (every
        # stage name fits two at this width; a longer one grows the strip once, and it stays grown).
        self._caption_height = THUMBNAIL_SIDE + 2 + 2 * QFontMetrics(self._caption_font).lineSpacing()

    def reserve_drawing_stages(self, reserve: bool) -> None:
        """Keep (or stop keeping) the width of a drawing's stages before any are shown: beside the wide canvas, whose
        splitter gives the panel little more than its minimum, the first reading widened the panel and the drawing
        narrowed by about 100 px under the user's pen. Not beside the square canvas, so the window still fits a
        small screen."""
        width = RESERVED_COLUMNS * COLUMN_WIDTH + (RESERVED_COLUMNS - 1) * COLUMN_SPACING
        self.setMinimumWidth(width if reserve else 0)

    @property
    def stage_names(self) -> list[str]:
        """Names of the stages shown."""
        return list(self._names)

    @property
    def thumbnails(self) -> list[StageThumbnail]:
        """One thumbnail per stage, in order."""
        return [thumbnail for _, thumbnail, _ in self._columns[: len(self._names)]]

    def set_stages(self, stages: Sequence[tuple[str, np.ndarray]]) -> None:
        """Show each (name, image) stage; the columns are recaptioned only when the names change."""
        names = [name for name, _ in stages]
        if names != self._names:
            self._rebuild(names)
        for thumbnail, (_, image) in zip(self.thumbnails, stages, strict=True):
            thumbnail.set_image(image)

    def _rebuild(self, names: list[str]) -> None:
        """Caption a thumbnail per name: the columns are kept and reused (hidden when not needed), not made anew."""
        while len(self._columns) < len(names):
            column = QVBoxLayout()
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            thumbnail = StageThumbnail()
            caption = QLabel()
            caption.setFont(self._caption_font)
            caption.setWordWrap(True)
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            caption.setFixedWidth(COLUMN_WIDTH)
            column.addWidget(thumbnail, 0, Qt.AlignmentFlag.AlignHCenter)
            column.addWidget(caption, 1)
            holder = QWidget()
            holder.setLayout(column)
            self._layout.insertWidget(len(self._columns), holder)
            self._columns.append((holder, thumbnail, caption))
        self._names = names
        for position, (holder, _, caption) in enumerate(self._columns):
            if position < len(names):
                caption.setText(names[position])
            holder.setVisible(position < len(names))
        if names:
            needed = self._layout.sizeHint()
            height = max(self.minimumHeight(), needed.height(), self._caption_height)
            self.setMinimumSize(max(self.minimumWidth(), needed.width()), height)
