"""Boxes round the digits of a number read from the canvas: each with a tab naming its class and confidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen

BOX_COLOR = QColor(37, 99, 235)
SELECTED_COLOR = QColor(234, 88, 12)
REFUSED_COLOR = QColor(185, 28, 28)
TAB_TEXT = QColor(255, 255, 255)
_BOX_MARGIN = 4.0  # document pixels between the ink and its box


@dataclass(frozen=True)
class NumberBox:
    """One digit's box in document coordinates (0-280), with the words on its tab."""

    rect: QRectF
    caption: str
    refused: bool = False


def document_boxes(digits: Sequence[dict], source_rect: QRectF, source_size: tuple[int, int] | None) -> list[NumberBox]:
    """The digits' boxes (x, y, w, h in the predicted image's pixels) placed where that image sits in the document.

    ``source_rect`` is where the predicted image lies in the document; ``source_size`` its (width, height) in pixels
    (None: the image is the document itself).
    """
    scale_x = scale_y = 1.0
    if source_size is not None and source_size[0] > 0 and source_size[1] > 0:
        scale_x = source_rect.width() / source_size[0]
        scale_y = source_rect.height() / source_size[1]
    boxes = []
    for digit in digits:
        x, y, width, height = digit["box"]
        rect = QRectF(
            source_rect.x() + x * scale_x - _BOX_MARGIN,
            source_rect.y() + y * scale_y - _BOX_MARGIN,
            width * scale_x + 2 * _BOX_MARGIN,
            height * scale_y + 2 * _BOX_MARGIN,
        )
        refused = (digit.get("verdict") or {}).get("status") == "not_a_digit"
        confidence = float(digit["confidence"])
        percent = ">99%" if confidence >= 0.995 else f"{confidence * 100:.0f}%"  # never a rounded-up 100%
        caption = "?" if refused else f"{digit['label']} {percent}"
        boxes.append(NumberBox(rect, caption, refused))
    return boxes


def tab_rect(box: NumberBox, font: QFont, scale: float, caption: str | None = None) -> QRectF:
    """The caption tab above a box, in document coordinates (the painter's ``scale`` keeps the text a fixed size)."""
    metrics = QFontMetricsF(caption_font(font))
    width = (metrics.horizontalAdvance(box.caption if caption is None else caption) + 8) / scale
    height = (metrics.height() + 2) / scale
    top = box.rect.top() - height
    if top < 0:
        top = box.rect.top()  # no room above: inside the box's top edge
    return QRectF(box.rect.left(), top, max(width, 10 / scale), height)


def tabs(boxes: Sequence[NumberBox], font: QFont, scale: float) -> list[tuple[QRectF, str]]:
    """Each box's tab and its words: the class alone ("1", not "1 >99%") where the whole caption would run into
    the next box's tab (narrow digits on a small canvas)."""
    placed = []
    for index, box in enumerate(boxes):
        rect, caption = tab_rect(box, font, scale), box.caption
        following = [other.rect.left() for other in boxes[index + 1 :] if other.rect.left() >= box.rect.left()]
        if following and rect.right() > min(following):
            caption = caption.split(" ")[0]
            rect = tab_rect(box, font, scale, caption)
        placed.append((rect, caption))
    return placed


def box_at(boxes: Sequence[NumberBox], point: QPointF, font: QFont, scale: float) -> int | None:
    """The index of the box whose caption tab holds ``point`` (document coordinates), or None."""
    for index, (rect, _caption) in enumerate(tabs(boxes, font, scale)):
        if rect.contains(point):
            return index
    return None


def paint_number_boxes(
    painter: QPainter, boxes: Sequence[NumberBox], selected: int | None, font: QFont, scale: float
) -> None:
    """Draw each box and its tab; ``painter`` takes document coordinates scaled by ``scale`` to the widget."""
    painter.save()
    painter.setFont(_unscaled(font, scale))
    for index, (box, (tab, caption)) in enumerate(zip(boxes, tabs(boxes, font, scale), strict=True)):
        color = REFUSED_COLOR if box.refused else SELECTED_COLOR if index == selected else BOX_COLOR
        pen = QPen(color, (3.0 if index == selected else 2.0) / scale)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(box.rect)
        painter.fillRect(tab, color)
        painter.setPen(TAB_TEXT)
        painter.drawText(tab, Qt.AlignmentFlag.AlignCenter, caption)
    painter.restore()


def caption_font(font: QFont) -> QFont:
    """The tabs' font: ``font`` in bold, at least 8 points."""
    bold = QFont(font)
    bold.setPointSizeF(max(font.pointSizeF(), 8.0))
    bold.setBold(True)
    return bold


def _unscaled(font: QFont, scale: float) -> QFont:
    """The caption font sized so that it reads at its own size once the painter scales by ``scale``."""
    sized = caption_font(font)
    sized.setPointSizeF(sized.pointSizeF() / scale)
    return sized
