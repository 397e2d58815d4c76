"""The shared small widgets: FittedLabel shrinks its font to show its whole line, and grows back when there is room."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetrics

from app.common.widgets import FittedLabel

DETAIL = "digit 1 of 4: 2 · >99.9 %"


def fitted(qtbot, width: int) -> tuple[FittedLabel, QFont]:
    font = QFont()
    font.setPointSizeF(13.0)
    label = FittedLabel(font)
    qtbot.addWidget(label)
    label.setFixedWidth(width)
    label.setText(DETAIL)
    label.show()
    qtbot.waitExposed(label)
    return label, font


def test_a_line_too_long_for_the_label_is_shown_whole_in_a_smaller_font(qtbot):
    width = round(0.85 * QFontMetrics(fitted(qtbot, 2000)[1]).horizontalAdvance(DETAIL))
    label, font = fitted(qtbot, width)
    assert label.font().pointSizeF() < font.pointSizeF()
    assert QFontMetrics(label.font()).horizontalAdvance(DETAIL) <= label.contentsRect().width()


def test_the_full_font_comes_back_with_room_and_a_short_text(qtbot):
    label, font = fitted(qtbot, 60)
    assert label.font().pointSizeF() == 0.7 * font.pointSizeF()  # no smaller than that, even if still cut
    label.setFixedWidth(2000)
    qtbot.waitUntil(lambda: label.font().pointSizeF() == font.pointSizeF())
    label.setFixedWidth(60)
    label.setText("7")
    assert label.font().pointSizeF() == font.pointSizeF()
