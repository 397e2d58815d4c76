"""Boxes round the digits of a number read from the canvas: each with a tab naming its class and confidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen

from app.draw.strokes import DOCUMENT_SIZE

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
    if top < 0:  # no room above: under the box (inside its top edge the tab hid a digit's top, a 7's bar)
        top = box.rect.bottom() if box.rect.bottom() + height <= DOCUMENT_SIZE else box.rect.top()
    return QRectF(box.rect.left(), top, max(width, 10 / scale), height)


def tabs(boxes: Sequence[NumberBox], font: QFont, scale: float) -> list[tuple[QRectF, str]]:
    """Each box's tab and its words: the class alone ("1", not "1 >99%") where the whole caption would run into
    a box to its right or that box's tab (narrow digits on a small canvas); a tab that passes above a lower box
    keeps its confidence."""
    whole = [tab_rect(box, font, scale) for box in boxes]
    placed = []
    for index, box in enumerate(boxes):
        rect, caption = whole[index], box.caption
        following = [
            area
            for other, other_tab in zip(boxes[index + 1 :], whole[index + 1 :], strict=True)
            if other.rect.left() >= box.rect.left()
            for area in (other.rect, other_tab)
        ]
        if any(rect.intersects(area) for area in following):
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
        # the digit in detail is framed in the selection colour, a refused one too (its red tab says "?"): red
        # alone left no box marked as chosen once the "?" was clicked
        frame = SELECTED_COLOR if index == selected else REFUSED_COLOR if box.refused else BOX_COLOR
        pen = QPen(frame, (3.0 if index == selected else 2.0) / scale)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(box.rect)
        painter.fillRect(tab, REFUSED_COLOR if box.refused else frame)
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
