"""The boxes round a number's digits: their tabs stay readable and clickable when the canvas is small."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from app.draw.number_boxes import (
    BOX_COLOR,
    REFUSED_COLOR,
    SELECTED_COLOR,
    NumberBox,
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
    filling = NumberBox(QRectF(60, -2, 90, 284), "1 >99%")  # no room above nor below: inside, as before
    assert tab_rect(filling, QFont(), 1.0).top() == filling.rect.top()


def test_a_tab_that_passes_above_a_lower_neighbour_keeps_its_confidence(qapp):
    one_high = NumberBox(QRectF(40, 30, 24, 120), "1 >99%")  # uneven baselines: the next digit sits lower
    nine_low = NumberBox(QRectF(70, 110, 60, 120), "9 >99%")
    placed = tabs([one_high, nine_low], QFont(), scale=1.0)
    assert placed[0][1] == "1 >99%"  # it ends over empty paper above the 9, clear of its box and its tab
    assert not placed[0][0].intersects(nine_low.rect) and not placed[0][0].intersects(placed[1][0])
    level = NumberBox(QRectF(70, 30, 60, 120), "9 >99%")  # level with it: the whole caption would run into it
    assert tabs([one_high, level], QFont(), scale=1.0)[0][1] == "1"
