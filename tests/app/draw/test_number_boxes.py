"""The boxes round a number's digits: their tabs stay readable and clickable when the canvas is small."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from app.draw.canvas import WIDE_DOCUMENT_WIDTH, DrawingCanvas
from app.draw.number_boxes import (
    BOX_COLOR,
    REFUSED_COLOR,
    SELECTED_COLOR,
    NumberBox,
    TabArea,
    box_at,
    paint_number_boxes,
    tab_rect,
    tabs,
)


def eleven() -> list[NumberBox]:
    """Two narrow "1"s side by side, as the number "11" boxes them (document pixels, 280 high)."""
    return [NumberBox(QRectF(40, 60, 24, 160), "1 >99%"), NumberBox(QRectF(90, 60, 24, 160), "1 97%")]


def test_on_a_large_canvas_each_tab_names_the_class_and_the_confidence(qapp):
    placed = tabs(eleven(), QFont(), scale=2.0)
    assert [caption for _rect, caption in placed] == ["1 >99%", "1 97%"]
    assert placed[0][0].right() <= placed[1][0].left()


def test_on_a_small_canvas_a_tab_that_would_run_into_the_next_names_the_class_alone(qapp):
    placed = tabs(eleven(), QFont(), scale=0.35)  # the wide canvas squeezed beside My samples
    assert placed[0][1] == "1" and placed[1][1] == "1 97%"  # the last has room to its right
    assert placed[0][0].right() <= placed[1][0].left()
    inside_second = QPointF(placed[1][0].left() + 1, placed[1][0].center().y())
    assert box_at(eleven(), inside_second, QFont(), 0.35) == 1  # a click on the second tab is the second's


def painted(boxes: list[NumberBox], selected: int | None) -> QImage:
    """The boxes painted at scale 1 on white."""
    image = QImage(280, 280, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    paint_number_boxes(painter, boxes, selected, QFont(), 1.0)
    painter.end()
    return image


def test_a_refused_part_clicked_is_framed_as_the_chosen_one_its_tab_still_red(qapp):
    boxes = [NumberBox(QRectF(40, 60, 24, 160), "1 >99%"), NumberBox(QRectF(100, 60, 80, 160), "?", refused=True)]
    left_edge_middle = (100, 140)  # on the refused box's frame
    tab = tab_rect(boxes[1], QFont(), 1.0)
    in_tab = (round(tab.left()) + 2, round(tab.center().y()))
    unchosen = painted(boxes, selected=0)
    assert QColor(unchosen.pixel(*left_edge_middle)) == REFUSED_COLOR
    assert QColor(unchosen.pixel(40, 140)) == SELECTED_COLOR
    chosen = painted(boxes, selected=1)
    assert QColor(chosen.pixel(*left_edge_middle)) == SELECTED_COLOR  # the digit in detail: marked
    assert QColor(chosen.pixel(40, 140)) == BOX_COLOR
    assert QColor(chosen.pixel(*in_tab)) == REFUSED_COLOR  # and still refused


def test_a_digit_that_reaches_the_top_keeps_its_tab_off_its_ink(qapp):
    tall = NumberBox(QRectF(60, -2, 90, 200), "7 >99%")  # ink from the canvas's top edge (the box's margin above)
    tab = tab_rect(tall, QFont(), 1.0)
    assert tab.top() >= tall.rect.bottom()  # under the box: inside its top edge it hid the 7's bar
    assert box_at([tall], tab.center(), QFont(), 1.0) == 0  # and a click there still chooses it
    filling = NumberBox(QRectF(60, -2, 90, 284), "1 >99%")  # no room above nor below: beside it
    beside = tab_rect(filling, QFont(), 1.0)
    assert beside.left() == filling.rect.right() and beside.top() == 0 and not beside.intersects(filling.rect)


def test_a_full_height_digit_on_the_wide_canvas_has_its_tab_beside_it_clear_of_its_neighbours(qapp):
    one = NumberBox(QRectF(300, -4, 24, 288), "1 >99%")
    right = NumberBox(QRectF(330, -4, 80, 288), "4 97%")  # no room to the right of the 1: its tab goes left
    area = TabArea(WIDE_DOCUMENT_WIDTH)
    placed = tabs([one, right], QFont(), 1.0, area)
    assert placed[0][0].right() == one.rect.left() and placed[0][1] == "1 >99%"
    assert placed[1][0].left() == right.rect.right()
    for rect, _caption in placed:
        assert not rect.intersects(one.rect) and not rect.intersects(right.rect)
    assert not placed[0][0].intersects(placed[1][0])
    assert box_at([one, right], placed[0][0].center(), QFont(), 1.0, area) == 0  # still a click on the 1's tab


def test_with_no_room_beside_a_tab_goes_inside_at_the_corner_with_least_ink(qapp):
    filling = NumberBox(QRectF(-4, -4, 288, 288), "8 >99%")  # a digit filling the square canvas
    gray = np.ones((280, 280), dtype=np.float32)
    gray[0:40, :] = 0.0  # ink across the top
    gray[240:280, 0:80] = 0.0  # and at the bottom left
    area = TabArea.of(gray, 280)
    tab = tab_rect(filling, QFont(), 1.0, area=area)
    assert tab.right() == filling.rect.right() and tab.bottom() == 280  # the bottom right: no ink there
    assert area.ink_under(tab) == 0.0
    assert tab_rect(filling, QFont(), 1.0).topLeft() == QPointF(-4, 0)  # ink unknown: the top left, in the drawing


def test_the_ink_is_summed_only_for_a_tab_with_no_room_above_or_below(qapp):
    gray = np.ones((280, 840), dtype=np.float32)
    roomy = TabArea.of(gray, 840)
    tabs([NumberBox(QRectF(100, 60, 60, 160), "2 >99%")], QFont(), 1.0, roomy)  # read on every pen move
    assert "ink_totals" not in vars(roomy)
    full = TabArea.of(gray, 840)
    tabs([NumberBox(QRectF(100, -4, 60, 288), "1 >99%")], QFont(), 1.0, full)
    assert "ink_totals" in vars(full)


def test_a_tab_keeps_off_ink_beside_its_box_and_finds_bare_paper_along_its_edge(qapp):
    eight = NumberBox(QRectF(96, -4, 88, 288), "8 >99%")
    gray = np.ones((280, 840), dtype=np.float32)
    gray[0:60, 96:184] = gray[220:280, 96:184] = 0.0  # ink in every corner of the box
    gray[0:280, 184:260] = gray[0:280, 30:96] = 0.0  # and beside it on both sides, in no box (a smudge, a refused mark)
    area = TabArea.of(gray, 840)
    tab = tab_rect(eight, QFont(), 1.0, area=area)
    assert eight.rect.contains(tab) and area.ink_under(tab) == 0.0  # inside, on the bare paper between
    assert tab.left() == eight.rect.left()  # along its left edge, the first bare place from the top


def test_on_the_wide_canvas_a_full_height_ones_tab_leaves_its_ink_visible(qtbot):
    canvas = DrawingCanvas()
    qtbot.addWidget(canvas)
    canvas.set_wide(True)
    canvas.resize(WIDE_DOCUMENT_WIDTH, 280)  # one widget pixel a document pixel
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.draw_stroke([(200, 1), (200, 279)], 16)
    canvas.draw_stroke([(330, 60), (400, 60), (350, 220)], 16)
    one = {"box": (192, 0, 16, 280), "label": "1", "confidence": 0.999, "verdict": {"status": "digit"}}
    seven = {"box": (322, 52, 86, 176), "label": "7", "confidence": 0.98, "verdict": {"status": "digit"}}
    canvas.set_number_digits([one, seven], selected=0)
    shown = canvas.grab().toImage()
    ratio = shown.devicePixelRatio()
    ink = [QColor(shown.pixel(round(200 * ratio), round(y * ratio))) for y in range(2, 40, 3)]
    assert all(max(color.red(), color.green(), color.blue()) < 60 for color in ink)  # the 1's top is not under its tab
    with qtbot.waitSignal(canvas.number_box_clicked) as clicked:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(230, 8))  # its tab, to the right of its box
    assert clicked.args == [0]


def test_a_tab_that_passes_above_a_lower_neighbour_keeps_its_confidence(qapp):
    one_high = NumberBox(QRectF(40, 30, 24, 120), "1 >99%")  # uneven baselines: the next digit sits lower
    nine_low = NumberBox(QRectF(70, 110, 60, 120), "9 >99%")
    placed = tabs([one_high, nine_low], QFont(), scale=1.0)
    assert placed[0][1] == "1 >99%"  # it ends over empty paper above the 9, clear of its box and its tab
    assert not placed[0][0].intersects(nine_low.rect) and not placed[0][0].intersects(placed[1][0])
    level = NumberBox(QRectF(70, 30, 60, 120), "9 >99%")  # level with it: the whole caption would run into it
    assert tabs([one_high, level], QFont(), scale=1.0)[0][1] == "1"
