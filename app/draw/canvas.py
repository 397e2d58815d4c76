"""The drawing area: smooth black ink on white paper, an eraser, per-stroke undo/redo and images to draw over."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QEnterEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.common.evidence import evidence_qimage
from app.common.images import array_to_qimage, qimage_to_array
from app.draw.number_boxes import NumberBox, TabArea, box_at, document_boxes, paint_number_boxes
from app.draw.strokes import (
    DOCUMENT_SIZE,
    Drawing,
    Point,
    Stroke,
    as_gray_array,
    background_rect,
    border_gray_level,
    is_flat,
    paint_drawing,
    paint_stroke,
)

WIDE_DOCUMENT_WIDTH = 3 * DOCUMENT_SIZE
"""Width of the wide drawing (for numbers): 3:1, as tall as the square one."""
MINIMUM_SIDE = 220
"""The canvas may shrink below the document's size (it is drawn scaled) so that small windows keep the dock whole."""
DEFAULT_BRUSH_SIZE = 20.0
BRUSH_SIZE_RANGE = (4.0, 60.0)
HISTORY_LIMIT = 200
_MIN_POINT_SPACING = 0.75  # document pixels between recorded points; closer ones add nothing visible


class DrawingCanvas(QWidget):
    """A view of a :class:`Drawing`: the user paints black ink on white paper; every edit emits ``changed``."""

    changed = Signal()
    history_changed = Signal()
    number_box_clicked = Signal(int)  # the caption tab of a read number's digit was clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._history: list[Drawing] = [Drawing()]
        self._position = 0
        self._brush_size = DEFAULT_BRUSH_SIZE
        self._erasing = False
        self._live_points: list[Point] = []
        self._live_erases = False
        self._hover: QPointF | None = None
        self._cache: QImage | None = None
        self._document: QImage | None = None  # the committed drawing in document pixels (gray), for image_array
        self._live_render: tuple[tuple, np.ndarray] | None = None  # image_array of the stroke in progress, by state
        self._overlay: QImage | None = None
        self._composite: QImage | None = None  # the cache with the overlay in it
        self._number_boxes: list[NumberBox] = []
        self._tab_area = TabArea()  # the drawing's width and ink when its number was read: tabs keep off the ink
        self._selected_box: int | None = None
        self._document_width = DOCUMENT_SIZE
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # drawing takes the focus, so Esc then clears this canvas
        self.setMinimumSize(MINIMUM_SIDE, MINIMUM_SIDE)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    # ------------------------------------------------------------------------------------------ public

    @property
    def drawing(self) -> Drawing:
        """The current (committed) drawing."""
        return self._history[self._position]

    @property
    def document_width(self) -> int:
        """Width of the drawing in document pixels: :data:`DOCUMENT_SIZE` (square) or :data:`WIDE_DOCUMENT_WIDTH`."""
        return self._document_width

    @property
    def wide(self) -> bool:
        """True when the drawing is 3:1 (for numbers)."""
        return self._document_width != DOCUMENT_SIZE

    def set_wide(self, wide: bool) -> None:
        """Make the drawing 3:1 (``wide``) or square; the strokes stay where they are (not an edit), and whatever
        lies beyond the square's right edge is hidden (and not predicted) until the drawing is wide again."""
        width = WIDE_DOCUMENT_WIDTH if wide else DOCUMENT_SIZE
        if width == self._document_width:
            return
        self._document_width, self._cache, self._composite, self._overlay = width, None, None, None
        self._number_boxes = []  # the overlay and the boxes were made for the other drawing
        self.setMinimumSize(MINIMUM_SIDE, round(MINIMUM_SIDE / 3) if wide else MINIMUM_SIDE)  # 1024 px windows fit
        self.updateGeometry()
        self.update()
        self.changed.emit()

    @property
    def brush_size(self) -> float:
        """Pen width in document pixels (the document is 280 pixels wide)."""
        return self._brush_size

    def set_brush_size(self, size: float) -> None:
        """Set the pen width in document pixels, clamped to :data:`BRUSH_SIZE_RANGE`."""
        low, high = BRUSH_SIZE_RANGE
        self._brush_size = float(min(max(size, low), high))
        self.update()

    @property
    def erasing(self) -> bool:
        """True when the left button erases instead of drawing."""
        return self._erasing

    def set_erasing(self, erasing: bool) -> None:
        """Switch the left button between pen and eraser."""
        self._erasing = bool(erasing)

    def can_undo(self) -> bool:
        """True when there is an edit to undo."""
        return self._position > 0

    def can_redo(self) -> bool:
        """True when there is an undone edit to redo."""
        return self._position < len(self._history) - 1

    def undo(self) -> None:
        """Go back one edit (a stroke, a clear or a loaded image)."""
        if self.can_undo():
            self._position -= 1
            self._after_history_move()

    def redo(self) -> None:
        """Re-apply the last undone edit."""
        if self.can_redo():
            self._position += 1
            self._after_history_move()

    def clear(self) -> None:
        """Blank paper (undoable); does nothing when already blank."""
        if self.drawing != Drawing():
            self._commit(Drawing())

    def set_image(self, image: np.ndarray | QImage) -> None:
        """Show an image (gray or colour array, or QImage) scaled to fit, to be drawn over; undoable."""
        gray = as_gray_array(image)
        self._commit(Drawing(background=array_to_qimage(gray), background_fill=border_gray_level(gray), source=gray))

    def draw_stroke(self, points: Iterable[Sequence[float]], width: float | None = None, erase: bool = False) -> None:
        """Add a stroke through ``points`` given in document coordinates (0-280), as if drawn with the mouse."""
        stroke_points = tuple((float(x), float(y)) for x, y in points)
        if not stroke_points:
            return
        stroke = Stroke(stroke_points, self._brush_size if width is None else float(width), erase)
        self._commit(replace(self.drawing, strokes=(*self.drawing.strokes, stroke)))

    def image_array(self) -> np.ndarray:
        """The drawing (with any stroke in progress) as 2-D float32 gray in [0, 1], 280 rows by
        :attr:`document_width` columns, 1 = white. (Runs per mouse move: earlier strokes are rendered once per edit.)"""
        document = self._document
        if document is None or document.width() != self._document_width:
            document = self._document = QImage(self._document_width, DOCUMENT_SIZE, QImage.Format.Format_Grayscale8)
            painter = QPainter(document)
            paint_drawing(painter, self.drawing, self._document_width)
            painter.end()
        if not self._live_points:
            return qimage_to_array(document)
        state = (document, id(self._live_points), len(self._live_points), self._brush_size, self._live_erases)
        if self._live_render is None or self._live_render[0] != state:  # asked again for the same state: no repaint
            painter = QPainter(image := document.copy())
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            paint_stroke(painter, self._live_stroke())
            painter.end()
            self._live_render = (state, qimage_to_array(image))
        return self._live_render[1].copy()

    def prediction_input(self) -> np.ndarray:
        """What to predict: an opened image's own pixels while nothing is drawn over it, else :meth:`image_array`."""
        drawing = self.drawing
        if self._predicting_source() and drawing.source is not None:
            return drawing.source
        return self.image_array()

    def _predicting_source(self) -> bool:
        """True while :meth:`prediction_input` is an opened image's own pixels: nothing drawn over it, not even a
        stroke in progress."""
        drawing = self.drawing
        return drawing.source is not None and not drawing.strokes and not self._live_points

    def stroke_in_progress(self) -> bool:
        """True while a stroke is being drawn (the mouse button is down)."""
        return bool(self._live_points)

    @property
    def overlay(self) -> QImage | None:
        """The evidence overlay shown, or None."""
        return self._overlay

    def set_overlay(self, positive: np.ndarray | None, negative: np.ndarray | None, opacity: float = 0.6) -> None:
        """Show evidence for (orange) and against (blue) over the drawing; None for both hides it.

        The maps cover what :meth:`prediction_input` returns: an opened image's own pixels (drawn where the image
        sits) or the whole drawing.
        """
        self._overlay = None if positive is None and negative is None else evidence_qimage(positive, negative, opacity)
        self._composite = None
        self.update()

    def strokes_for_reading(self) -> tuple[Stroke, ...] | None:
        """The pen strokes that make up :meth:`prediction_input` (with the one in progress), for number reading;
        None over an opened image, whose ink is not all strokes."""
        drawing = self.drawing
        if drawing.background is not None:
            return None
        return (*drawing.strokes, self._live_stroke()) if self._live_points else drawing.strokes

    @property
    def number_boxes(self) -> list[NumberBox]:
        """The boxes shown round a read number's digits (document coordinates)."""
        return list(self._number_boxes)

    def set_number_digits(self, digits: Sequence[dict], selected: int | None = None) -> None:
        """Box each digit of a read number (``box`` in :meth:`prediction_input`'s pixels, ``label``, ``confidence``,
        ``verdict``); an empty list hides them."""
        drawing = self.drawing
        source_rect, source_size = QRectF(0, 0, self._document_width, DOCUMENT_SIZE), None
        if self._predicting_source() and drawing.source is not None and drawing.background is not None:
            # boxes in the image's own pixels; from the first stroke over it (in progress too) the document's
            source_rect = background_rect(drawing.background, self._document_width)
            source_size = (drawing.source.shape[1], drawing.source.shape[0])
        self._number_boxes = document_boxes(digits, source_rect, source_size)
        self._tab_area = TabArea.of(self.image_array() if digits else None, self._document_width)
        self._selected_box = selected
        self.update()

    def is_blank(self) -> bool:
        """True when the drawing is one flat colour (nothing drawn, or everything erased)."""
        return is_flat(self.image_array())

    # --------------------------------------------------------------------------------------- geometry

    def sizeHint(self) -> QSize:
        """Room for the document at 1.5x (the wide one at 1x)."""
        return QSize(WIDE_DOCUMENT_WIDTH, DOCUMENT_SIZE) if self.wide else QSize(420, 420)

    def hasHeightForWidth(self) -> bool:
        """The canvas keeps the document's shape."""
        return True

    def heightForWidth(self, width: int) -> int:
        """Square, or a third of the width when wide."""
        return round(width * DOCUMENT_SIZE / self._document_width)

    def document_rect(self) -> QRectF:
        """The largest centred rectangle of the document's shape in the widget, where the document is shown."""
        aspect = self._document_width / DOCUMENT_SIZE
        height = float(min(self.height(), self.width() / aspect))
        width = height * aspect
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def to_document(self, position: QPointF) -> Point:
        """Widget coordinates → document coordinates (0-280 high, 0-:attr:`document_width` wide)."""
        rect = self.document_rect()
        scale = DOCUMENT_SIZE / max(rect.height(), 1.0)
        return ((position.x() - rect.x()) * scale, (position.y() - rect.y()) * scale)

    # ------------------------------------------------------------------------------------------ events

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Start a stroke: left button draws (or erases in eraser mode), right button erases."""
        if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return super().mousePressEvent(event)
        clicked = self._number_box_at(event.position()) if event.button() == Qt.MouseButton.LeftButton else None
        if clicked is not None:  # a digit's caption tab: show that digit, draw nothing
            self._selected_box = clicked
            self.update()
            self.number_box_clicked.emit(clicked)
            return None
        self._live_erases = self._erasing or event.button() == Qt.MouseButton.RightButton
        self._live_points = [self.to_document(event.position())]
        self._hover = event.position()
        self.update()
        self.changed.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Extend the stroke in progress, or move the brush outline; only the pixels that change are repainted."""
        moved_from, self._hover = self._hover, event.position()
        if not self._live_points:
            self.update(self._outline_rect(moved_from).united(self._outline_rect(self._hover)))
            return
        point = self.to_document(event.position())
        last = self._live_points[-1]
        if math.hypot(point[0] - last[0], point[1] - last[1]) < _MIN_POINT_SPACING:
            return
        self._live_points.append(point)
        changed = self._outline_rect(moved_from).united(self._outline_rect(self._hover))
        self.update(changed.united(self._stroke_end_rect()))
        self.changed.emit()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """Finish the stroke in progress and make it one undoable edit."""
        if not self._live_points:
            return super().mouseReleaseEvent(event)
        stroke = self._live_stroke()
        self._live_points = []
        drawing = replace(self.drawing, strokes=(*self.drawing.strokes, stroke))
        self._push(drawing)
        if self._cache is not None:
            painter = self._cache_painter()
            paint_stroke(painter, stroke)
            painter.end()
        self.update()
        self.history_changed.emit()
        self.changed.emit()

    def enterEvent(self, event: QEnterEvent) -> None:
        """Show the brush outline."""
        self._hover = event.position()
        self.update()

    def leaveEvent(self, event: object) -> None:
        """Hide the brush outline."""
        self._hover = None
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """The cached rendering has the wrong size now."""
        self._cache = None
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paper from the cache, the stroke in progress on top, and the brush outline."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        rect = self.document_rect()
        if rect.width() < 1:
            return
        painter.drawImage(rect.topLeft(), self._current_picture())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.save()
        painter.setClipRect(rect)
        painter.translate(rect.topLeft())
        painter.scale(rect.height() / DOCUMENT_SIZE, rect.height() / DOCUMENT_SIZE)
        if self._live_points:
            paint_stroke(painter, self._live_stroke())
        painter.restore()
        if self._number_boxes:
            painter.save()
            painter.translate(rect.topLeft())
            scale = rect.height() / DOCUMENT_SIZE
            painter.scale(scale, scale)
            paint_number_boxes(painter, self._number_boxes, self._selected_box, self.font(), scale, self._tab_area)
            painter.restore()
        if self.hasFocus():  # keyboard focus (Esc, Delete and Ctrl+Z act here): a highlighted frame
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
        else:
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
            painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))
        self._paint_brush_outline(painter, rect)

    # ----------------------------------------------------------------------------------------- helpers

    def _number_box_at(self, position: QPointF) -> int | None:
        if not self._number_boxes:
            return None
        scale = self.document_rect().height() / DOCUMENT_SIZE
        return box_at(self._number_boxes, QPointF(*self.to_document(position)), self.font(), scale, self._tab_area)

    def _live_stroke(self) -> Stroke:
        return Stroke(tuple(self._live_points), self._brush_size, self._live_erases)

    def _commit(self, drawing: Drawing) -> None:
        """Make ``drawing`` the current state as a new undoable edit, repaint and notify."""
        self._live_points = []
        self._push(drawing)
        self._cache = None
        self.update()
        self.history_changed.emit()
        self.changed.emit()

    def _push(self, drawing: Drawing) -> None:
        self._document = self._live_render = None
        del self._history[self._position + 1 :]
        self._history.append(drawing)
        if len(self._history) > HISTORY_LIMIT:
            del self._history[0]
        self._position = len(self._history) - 1

    def _after_history_move(self) -> None:
        self._live_points = []
        self._cache = self._document = self._live_render = None
        self.update()
        self.history_changed.emit()
        self.changed.emit()

    def _current_cache(self) -> QImage:
        """The committed drawing rendered at the widget's size and device pixel ratio (crisp on high-DPI)."""
        ratio = self.devicePixelRatioF()
        rect = self.document_rect()
        width, height = round(rect.width() * ratio), round(rect.height() * ratio)
        if (
            self._cache is None
            or self._cache.width() != width
            or self._cache.height() != height
            or self._cache.devicePixelRatio() != ratio
        ):
            self._cache = QImage(width, height, QImage.Format.Format_RGB32)
            self._cache.setDevicePixelRatio(ratio)
            painter = self._cache_painter()
            paint_drawing(painter, self.drawing, self._document_width)
            painter.end()
        return self._cache

    def _cache_painter(self) -> QPainter:
        """A painter on the cache that takes document coordinates."""
        assert self._cache is not None
        self._composite = None  # whatever is painted into the cache must show through the overlay too
        painter = QPainter(self._cache)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        scale = self._cache.height() / self._cache.devicePixelRatio() / DOCUMENT_SIZE
        painter.scale(scale, scale)
        return painter

    def _current_picture(self) -> QImage:
        """The cache with the evidence overlay composited in, remade only when either changes (the canvas repaints
        on every mouse move, so the overlay's smooth scaling and blending are not redone each time)."""
        cache = self._current_cache()
        if self._overlay is None:
            return cache
        if self._composite is None or self._composite.size() != cache.size():
            drawing = self.drawing
            target = QRectF(0, 0, self._document_width, DOCUMENT_SIZE)
            if drawing.source is not None and drawing.background is not None and not drawing.strokes:
                target = background_rect(drawing.background, self._document_width)
            composite = cache.copy()
            painter = QPainter(composite)
            scale = composite.height() / composite.devicePixelRatio() / DOCUMENT_SIZE
            painter.scale(scale, scale)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Screen)  # lights up the black ink
            painter.drawImage(target, self._overlay)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)  # and tints the paper
            painter.drawImage(target, self._overlay)
            painter.end()
            self._composite = composite
        return self._composite

    def _outline_rect(self, hover: QPointF | None) -> QRect:
        """The widget pixels the brush outline at ``hover`` covers (empty when none)."""
        if hover is None:
            return QRect()
        radius = self._brush_size * self.document_rect().height() / DOCUMENT_SIZE / 2 + 2
        return QRectF(hover.x() - radius, hover.y() - radius, 2 * radius, 2 * radius).toAlignedRect()

    def _stroke_end_rect(self) -> QRect:
        """The widget pixels that the newest point of the stroke in progress changed: its smoothed path moves only
        between the last three points, widened by the pen and its antialiasing."""
        rect = self.document_rect()
        scale = rect.height() / DOCUMENT_SIZE
        xs, ys = zip(*self._live_points[-3:], strict=True)
        margin = (self._brush_size / 2) * scale + 3
        left, top = rect.x() + min(xs) * scale - margin, rect.y() + min(ys) * scale - margin
        width, height = (max(xs) - min(xs)) * scale + 2 * margin, (max(ys) - min(ys)) * scale + 2 * margin
        return QRectF(left, top, width, height).toAlignedRect()

    def _paint_brush_outline(self, painter: QPainter, rect: QRectF) -> None:
        if self._hover is None or not rect.contains(self._hover):
            return
        radius = self._brush_size * rect.height() / DOCUMENT_SIZE / 2
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(120, 120, 120, 160), 1))
        painter.drawEllipse(self._hover, radius, radius)
