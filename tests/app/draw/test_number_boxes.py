"""The boxes round a number's digits: their tabs stay readable and clickable when the canvas is small."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFont

from app.draw.number_boxes import NumberBox, box_at, tabs


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
