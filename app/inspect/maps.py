"""Widgets that draw layer outputs and kernels: a mosaic of crisp maps, a colour legend and one enlarged map."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QImage,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.inspect.colors import ColorScale, lookup_table, rgba_to_qimage

GAP = 2  # pixels between tiles


def as_maps(values: np.ndarray) -> np.ndarray:
    """Any layer output as a stack of 2-D maps (n, h, w): (h, w, c) → c maps; a vector → one 1x1 map per unit."""
    array = np.asarray(values, dtype=np.float32)
    if array.ndim == 3:
        return np.ascontiguousarray(np.moveaxis(array, -1, 0))
    if array.ndim == 2:
        return array[None]
    return array.reshape(-1, 1, 1)


def mosaic_columns(count: int, map_side: int) -> int:
    """How many tiles a row holds: up to 32 maps, up to 64 single units (a dense layer's strip)."""
    return max(1, min(count, 64 if map_side <= 1 else 32))


def format_number(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits; a ReLU's -0.0 as ``0``, not ``-0``."""
    return f"{float(value) + 0.0:.{digits}g}"  # -0.0 + 0.0 is 0.0


def format_range(low: float, high: float) -> str:
    """``-1.23 … 4.56`` with a precision that suits the numbers."""
    return f"{format_number(low)} … {format_number(high)}"


class MapMosaic(QWidget):
    """A grid of same-sized maps drawn nearest-neighbour on one colour scale; hovering names, clicking picks a map.

    The colour image is made lazily at paint time, so rows scrolled out of view cost nothing per update.
    """

    map_clicked = Signal(int)

    def __init__(self, max_tile: int = 56, labels: Sequence[str] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._maps = np.zeros((0, 1, 1), np.float32)
        self._scale = ColorScale(0.0, 1.0, "inferno")
        self._image: QImage | None = None
        self._image_tile = 0
        self._selected: int | None = None
        self._dirty = False
        self._columns = 1
        self._tile = 8
        self._max_tile = max_tile
        self._labels = list(labels)
        self.describe = lambda index: ""  # the hover text for one map; the row sets it
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    @property
    def maps(self) -> np.ndarray:
        """The maps shown (n, h, w)."""
        return self._maps

    @property
    def count(self) -> int:
        """How many maps are shown."""
        return int(self._maps.shape[0])

    @property
    def scale(self) -> ColorScale:
        """The colour scale of the maps."""
        return self._scale

    @property
    def selected(self) -> int | None:
        """The map framed as enlarged, or None."""
        return self._selected

    def set_selected(self, index: int | None) -> None:
        """Frame map ``index`` (the one shown enlarged), or none."""
        if index != self._selected:
            self._selected = index
            self.update()

    @property
    def labels(self) -> list[str]:
        """The captions under the tiles (class names), or none."""
        return list(self._labels)

    def set_labels(self, labels: Sequence[str]) -> None:
        """Captions under the tiles (class names under logits and softmax)."""
        self._labels = list(labels)
        self._fit_height()
        self.update()

    def set_maps(self, maps: np.ndarray, scale: ColorScale) -> None:
        """Show ``maps`` (n, h, w) on ``scale``; the layout changes only when the number or shape of maps does."""
        reshaped = self._maps.shape != maps.shape
        self._maps = maps
        self._scale = scale
        self._dirty = True
        if reshaped:
            self._columns = mosaic_columns(maps.shape[0], max(maps.shape[1:]))
            self._fit_height()
            enlargeable = max(maps.shape[1:]) > 1  # a unit of a strip is one value: nothing to enlarge
            self.setCursor(Qt.CursorShape.PointingHandCursor if enlargeable else Qt.CursorShape.ArrowCursor)
        self.update()

    def color_image(self) -> QImage | None:
        """The maps coloured, magnified nearest-neighbour and tiled with gaps, at the size they are drawn.

        Made with numpy once per update (or resize), so a repaint is a single unscaled ``drawImage``.
        """
        if self._dirty or self._image_tile != self._tile:
            self._image = self._render() if self.count else None
            self._image_tile = self._tile
            self._dirty = False
        return self._image

    def _render(self) -> QImage:
        count, height, width = self._maps.shape
        tile = self.tile_rect(0)
        rows = math.ceil(count / self._columns)
        pick_rows = np.arange(tile.height()) * height // max(1, tile.height())
        pick_columns = np.arange(tile.width()) * width // max(1, tile.width())
        colored = self._scale.colorize(self._maps[:, pick_rows][:, :, pick_columns])  # (n, tile h, tile w, 4)
        cell_height, cell_width = self._tile + GAP + self._label_height(), self._tile + GAP
        cells = np.zeros((rows * self._columns, cell_height, cell_width, 4), np.uint8)  # transparent gaps
        cells[:count, : tile.height(), : tile.width()] = colored
        grid = cells.reshape(rows, self._columns, cell_height, cell_width, 4).transpose(0, 2, 1, 3, 4)
        return rgba_to_qimage(grid.reshape(rows * cell_height, self._columns * cell_width, 4))

    def tile_rect(self, index: int) -> QRect:
        """Where map ``index`` is drawn."""
        height, width = self._maps.shape[1:]
        side = max(height, width)
        tile_w, tile_h = self._tile * width // side, self._tile * height // side
        row, column = divmod(index, self._columns)
        return QRect(column * (self._tile + GAP), row * (self._tile + GAP + self._label_height()), tile_w, tile_h)

    def index_at(self, point: QPoint) -> int | None:
        """The map under ``point``, or None."""
        for index in range(self.count):
            if self.tile_rect(index).contains(point):
                return index
        return None

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """As wide as the columns want, as tall as the rows need."""
        return QSize(self._columns * (self._max_tile + GAP), self.minimumHeight())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Tiles grow with the width (integer multiples of the map's pixels when they can)."""
        self._fit_height()
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Each map nearest-neighbour into its tile (one prepared image), with captions when set."""
        image = self.color_image()
        if image is None:
            return
        painter = QPainter(self)
        painter.drawImage(0, 0, image)
        if self._selected is not None and self._selected < self.count:
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
            painter.drawRect(self.tile_rect(self._selected).adjusted(-1, -1, 0, 0))
        if not self._labels:
            return
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        for index, label in enumerate(self._labels[: self.count]):
            target = self.tile_rect(index)
            below = QRect(target.left() - GAP, target.bottom() + 1, target.width() + 2 * GAP, self._label_height())
            painter.drawText(below, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, label)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Hovering a map shows its layer, shape and value range."""
        index = self.index_at(event.position().toPoint())
        text = self.describe(index) if index is not None else ""
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self, self.tile_rect(index))
        else:
            QToolTip.hideText()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """A left click on a map asks for it enlarged (not on a strip's single units)."""
        index = self.index_at(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and index is not None and max(self._maps.shape[1:]) > 1:
            self.map_clicked.emit(index)

    def _label_height(self) -> int:
        return QFontMetrics(self.font()).height() if self._labels else 0

    def _fit_height(self) -> None:
        count = self.count
        available = max(self.width(), 60)
        tile = (available - GAP * (self._columns - 1)) // self._columns
        side = max(self._maps.shape[1:])
        tile = min(self._max_tile, tile)
        if side > 1 and tile >= side:
            tile = side * (tile // side)  # an integer magnification: every pixel equal
        self._tile = int(max(4, tile))
        rows = math.ceil(count / self._columns) if count else 0
        self.setFixedHeight(max(0, rows * (self._tile + GAP + self._label_height())))


class ColorLegend(QWidget):
    """A small horizontal colour bar with its scale's two ends written beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scale = ColorScale(0.0, 1.0, "inferno")
        self.setFixedHeight(QFontMetrics(self.font()).height() + 2)
        self.setMinimumWidth(150)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    @property
    def scale(self) -> ColorScale:
        """The scale shown."""
        return self._scale

    def set_scale(self, scale: ColorScale) -> None:
        """Show ``scale``."""
        if scale != self._scale:
            self._scale = scale
            self.update()

    @property
    def texts(self) -> tuple[str, str]:
        """The two ends as written beside the bar."""
        return format_number(self._scale.low), format_number(self._scale.high)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Room for two numbers and a bar."""
        return QSize(200, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """``low [gradient] high``."""
        painter = QPainter(self)
        metrics = QFontMetrics(self.font())
        low, high = self.texts
        low_width, high_width = metrics.horizontalAdvance(low), metrics.horizontalAdvance(high)
        bar = QRectF(low_width + 4, 3, max(10, self.width() - low_width - high_width - 8), self.height() - 6)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        table = lookup_table(self._scale.cmap)
        for position in np.linspace(0.0, 1.0, 9):
            red, green, blue, _ = table[int(position * (len(table) - 1))]
            gradient.setColorAt(float(position), QColor(int(red), int(green), int(blue)))
        painter.fillRect(bar, gradient)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.WindowText)))
        flags = Qt.AlignmentFlag.AlignVCenter
        painter.drawText(QRectF(0, 0, low_width, self.height()), flags | Qt.AlignmentFlag.AlignLeft, low)
        right = QRectF(bar.right() + 4, 0, high_width, self.height())
        painter.drawText(right, flags | Qt.AlignmentFlag.AlignLeft, high)


class PixelView(QWidget):
    """One RGBA image drawn square, nearest-neighbour at an integer magnification, with a caption's worth of room."""

    def __init__(self, side: int = 168, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._side = side
        self.setMinimumSize(side // 2, side // 2)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    @property
    def image(self) -> QImage | None:
        """The image shown."""
        return self._image

    def set_rgba(self, rgba: np.ndarray | None) -> None:
        """Show (H, W, 4) uint8 pixels, or nothing."""
        self._image = None if rgba is None else rgba_to_qimage(rgba)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """The preferred square."""
        return QSize(self._side, self._side)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Black square and the image, crisp."""
        painter = QPainter(self)
        available = float(min(self.width(), self.height()))
        if self._image is None:
            width = height = available
        else:
            longest = max(self._image.width(), self._image.height())
            factor = available / longest
            factor = float(int(factor)) if factor >= 1 else factor
            width, height = self._image.width() * factor, self._image.height() * factor
        rect = QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)
        painter.fillRect(rect, Qt.GlobalColor.black)
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(rect, self._image)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))


def gray_rgba(image: np.ndarray) -> np.ndarray:
    """A 2-D image in [0, 1] as opaque gray RGBA pixels."""
    levels = (np.clip(np.nan_to_num(np.asarray(image, np.float32)), 0.0, 1.0) * 255.0).astype(np.uint8)
    rgba = np.repeat(levels[..., None], 4, axis=-1)
    rgba[..., 3] = 255
    return rgba
