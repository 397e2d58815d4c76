"""The drawing as data (strokes over an optional image) and how it is painted, in document coordinates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen

from app.common.images import qimage_to_array

DOCUMENT_SIZE = 280
"""Side of the square drawing in logical pixels; :meth:`DrawingCanvas.image_array` has this resolution."""
MAGNIFY_CRISP_FROM = 4.0
"""Images enlarged this much or more (a 28x28 digit is enlarged 10x) show crisp pixels instead of a blur."""
INK = QColor(0, 0, 0)
PAPER = QColor(255, 255, 255)

Point = tuple[float, float]


@dataclass(frozen=True)
class Stroke:
    """One pen or eraser stroke, in document coordinates."""

    points: tuple[Point, ...]
    width: float
    erases: bool = False


@dataclass(frozen=True)
class Drawing:
    """An immutable snapshot of the canvas: an optional image underneath and the strokes over it.

    ``source`` keeps the image's own pixels (2-D float gray): with nothing drawn over it, they are what is predicted,
    exactly as ``digitlab predict`` reads the file, rather than the image scaled and padded into the 280 px square.
    """

    background: QImage | None = None
    background_fill: int = 255
    strokes: tuple[Stroke, ...] = ()
    source: np.ndarray | None = field(default=None, compare=False, repr=False)


def smooth_path(points: Sequence[Point]) -> QPainterPath:
    """A path through ``points`` smoothed with quadratic segments between successive midpoints."""
    path = QPainterPath(QPointF(*points[0]))
    if len(points) == 2:
        path.lineTo(QPointF(*points[1]))
    for index in range(1, len(points) - 1):
        control = QPointF(*points[index])
        following = points[index + 1]
        midpoint = QPointF((points[index][0] + following[0]) / 2, (points[index][1] + following[1]) / 2)
        path.quadTo(control, midpoint)
    if len(points) > 2:
        path.lineTo(QPointF(*points[-1]))
    return path


def stroke_pen(stroke: Stroke) -> QPen:
    """The round-capped, round-joined pen a stroke is painted with."""
    pen = QPen(PAPER if stroke.erases else INK, stroke.width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def paint_stroke(painter: QPainter, stroke: Stroke) -> None:
    """Paint one stroke (a dot when it has a single point) in document coordinates."""
    painter.setPen(stroke_pen(stroke))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if len(stroke.points) == 1:
        painter.drawPoint(QPointF(*stroke.points[0]))
    else:
        painter.drawPath(smooth_path(stroke.points))


def background_rect(image: QImage, document_width: int = DOCUMENT_SIZE) -> QRectF:
    """Where an image sits in the document (``document_width`` by :data:`DOCUMENT_SIZE`): fitted, aspect kept,
    centred."""
    scale = min(document_width / image.width(), DOCUMENT_SIZE / image.height())
    width, height = image.width() * scale, image.height() * scale
    return QRectF((document_width - width) / 2, (DOCUMENT_SIZE - height) / 2, width, height)


def paint_drawing(painter: QPainter, drawing: Drawing, document_width: int = DOCUMENT_SIZE) -> None:
    """Paint paper, background image and strokes in document coordinates (the painter maps them to its device)."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    fill = drawing.background_fill
    painter.fillRect(QRectF(0, 0, document_width, DOCUMENT_SIZE), QColor(fill, fill, fill))
    if drawing.background is not None:
        target = background_rect(drawing.background, document_width)
        magnification = target.width() / drawing.background.width()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, magnification < MAGNIFY_CRISP_FROM)
        painter.drawImage(target, drawing.background)
    for stroke in drawing.strokes:
        paint_stroke(painter, stroke)


def border_gray_level(gray: np.ndarray) -> int:
    """The median gray level (0-255) of an image's outermost pixels: the colour to pad it with."""
    edges = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return int(round(float(np.median(edges)) * 255.0))


def is_flat(gray: np.ndarray, tolerance: float = 0.02) -> bool:
    """True when an image is one flat colour: nothing drawn, or everything erased."""
    return float(gray.max() - gray.min()) < tolerance


def as_gray_array(image: np.ndarray | QImage) -> np.ndarray:
    """A QImage or a numpy image (gray or colour, any dtype) as 2-D float32 gray in [0, 1]."""
    if isinstance(image, QImage):
        return qimage_to_array(image)
    from ml.preprocess.gray import to_gray

    return to_gray(np.asarray(image))
