"""Boxes round the digits of a number read from the canvas: each with a tab naming its class and confidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen

from app.draw.strokes import DOCUMENT_SIZE

BOX_COLOR = QColor(37, 99, 235)
SELECTED_COLOR = QColor(234, 88, 12)
REFUSED_COLOR = QColor(185, 28, 28)
TAB_TEXT = QColor(255, 255, 255)
_BOX_MARGIN = 4.0  # document pixels between the ink and its box
_BARE_PAPER_INK = 1.0  # at most this much ink (a pixel's worth of anti-aliased edges) under a tab counts as bare paper


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


@dataclass(frozen=True, eq=False)
class TabArea:
    """What the tabs are placed in: the drawing's width and its gray pixels (1 = white; None: not known). Its ink is
    summed only when a tab has room neither above nor below its box, never on every reading while the pen moves."""

    width: float = DOCUMENT_SIZE
    gray: np.ndarray | None = None

    @classmethod
    def of(cls, gray: np.ndarray | None, width: float) -> TabArea:
        """The area of a drawing ``width`` wide whose gray pixels are ``gray``."""
        return cls(width, gray if gray is not None and gray.ndim == 2 and gray.size else None)

    @cached_property
    def ink_totals(self) -> np.ndarray | None:
        """Running totals of the ink (``[r, c]``: above row r and left of column c, in document pixels), so any
        rectangle's ink is four look-ups; ink is what differs from the paper (the median), so light ink on a dark
        photo counts too."""
        if self.gray is None:
            return None
        ink = np.abs(self.gray.astype(np.float64) - np.median(self.gray))
        return np.pad(ink.cumsum(axis=0).cumsum(axis=1), ((1, 0), (1, 0)))

    def ink_under(self, rect: QRectF) -> float:
        """How much ink ``rect`` (document coordinates) would cover."""
        totals = self.ink_totals
        if totals is None:
            return 0.0
        rows, columns = totals.shape[0] - 1, totals.shape[1] - 1
        top, bottom = min(max(int(rect.top()), 0), rows), min(max(int(np.ceil(rect.bottom())), 0), rows)
        left, right = min(max(int(rect.left()), 0), columns), min(max(int(np.ceil(rect.right())), 0), columns)
        return float(totals[bottom, right] - totals[top, right] - totals[bottom, left] + totals[top, left])


def tab_rect(
    box: NumberBox,
    font: QFont,
    scale: float,
    caption: str | None = None,
    area: TabArea | None = None,
    clear_of: Sequence[QRectF] = (),
) -> QRectF:
    """The caption tab of a box, in document coordinates (the painter's ``scale`` keeps the text a fixed size):
    above it; with no room above, under it (inside its top edge the tab hid a digit's top, a 7's bar); with room
    neither above nor below, beside it on bare paper clear of ``clear_of`` (the other boxes and tabs), else where it
    hides the least ink: beside it, or inside along its left or right edge (a corner first)."""
    metrics = QFontMetricsF(caption_font(font))
    width = max((metrics.horizontalAdvance(box.caption if caption is None else caption) + 8) / scale, 10 / scale)
    height = (metrics.height() + 2) / scale
    rect = box.rect
    if rect.top() - height >= 0:
        return QRectF(rect.left(), rect.top() - height, width, height)
    if rect.bottom() + height <= DOCUMENT_SIZE:
        return QRectF(rect.left(), rect.bottom(), width, height)
    area = area or TabArea()
    top, bottom = max(rect.top(), 0.0), min(rect.bottom(), float(DOCUMENT_SIZE))
    beside = [
        tab
        for tab in (QRectF(rect.right(), top, width, height), QRectF(rect.left() - width, top, width, height))
        if tab.left() >= 0 and tab.right() <= area.width and not any(tab.intersects(other) for other in clear_of)
    ]
    bare = [tab for tab in beside if area.ink_under(tab) < _BARE_PAPER_INK]
    if bare:
        return bare[0]
    lowest = bottom - height
    steps = max(int((lowest - top) / (height / 2)), 1)
    heights = [top, lowest, *(top + (lowest - top) * step / steps for step in range(1, steps))]
    inside = [QRectF(left, y, width, height) for y in heights for left in (rect.left(), rect.right() - width)]
    return min([*inside, *beside], key=area.ink_under)  # the first of equals: the top left, where a tab usually is


def tabs(
    boxes: Sequence[NumberBox], font: QFont, scale: float, area: TabArea | None = None
) -> list[tuple[QRectF, str]]:
    """Each box's tab and its words: the class alone ("1", not "1 >99%") where the whole caption would run into
    a box to its right or that box's tab (narrow digits on a small canvas); a tab that passes above a lower box
    keeps its confidence."""
    whole = [tab_rect(box, font, scale) for box in boxes]  # first guesses, so that a tab beside keeps clear of them
    clear_of = []
    for index, box in enumerate(boxes):
        others = [other.rect for other in boxes[:index] + boxes[index + 1 :]] + whole[:index] + whole[index + 1 :]
        whole[index] = tab_rect(box, font, scale, area=area, clear_of=others)
        clear_of.append(others)
    placed = []
    for index, box in enumerate(boxes):
        rect, caption = whole[index], box.caption
        following = [
            obstacle
            for other, other_tab in zip(boxes[index + 1 :], whole[index + 1 :], strict=True)
            if other.rect.left() >= box.rect.left()
            for obstacle in (other.rect, other_tab)
        ]
        if any(rect.intersects(obstacle) for obstacle in following):
            caption = caption.split(" ")[0]
            rect = tab_rect(box, font, scale, caption, area, clear_of[index])
        placed.append((rect, caption))
    return placed


def box_at(
    boxes: Sequence[NumberBox], point: QPointF, font: QFont, scale: float, area: TabArea | None = None
) -> int | None:
    """The index of the box whose caption tab holds ``point`` (document coordinates), or None."""
    for index, (rect, _caption) in enumerate(tabs(boxes, font, scale, area)):
        if rect.contains(point):
            return index
    return None


def paint_number_boxes(
    painter: QPainter,
    boxes: Sequence[NumberBox],
    selected: int | None,
    font: QFont,
    scale: float,
    area: TabArea | None = None,
) -> None:
    """Draw each box and its tab; ``painter`` takes document coordinates scaled by ``scale`` to the widget."""
    painter.save()
    painter.setFont(_unscaled(font, scale))
    for index, (box, (tab, caption)) in enumerate(zip(boxes, tabs(boxes, font, scale, area), strict=True)):
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
