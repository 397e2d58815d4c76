"""The shared small widgets: FittedLabel shrinks its font to show its whole line, and grows back when there is room;
the learning-rate field says what it made of a number out of its range."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QSpinBox, QVBoxLayout, QWidget

from app.common.widgets import FittedLabel, LearningRateSpinBox

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


def learning_rate_field(qtbot) -> tuple[QWidget, LearningRateSpinBox, QSpinBox]:
    """A learning-rate field at 0.004 beside another field, shown."""
    form = QWidget()
    qtbot.addWidget(form)
    field, other = LearningRateSpinBox(), QSpinBox()
    layout = QVBoxLayout(form)
    layout.addWidget(field)
    layout.addWidget(other)
    field.setValue(0.004)
    form.show()
    qtbot.waitExposed(form)
    return form, field, other


def type_into(qtbot, field: LearningRateSpinBox, text: str) -> None:
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    field.selectAll()
    qtbot.keyClicks(field, text)


def test_a_learning_rate_above_the_range_becomes_its_top_and_says_so(qtbot):
    """1000 quietly went back to 0.004 when the field lost the focus."""
    _form, field, other = learning_rate_field(qtbot)
    type_into(qtbot, field, "1000")
    other.setFocus()  # leaving the field ends the edit
    qtbot.waitUntil(other.hasFocus)
    assert (field.value(), field.text()) == (10.0, "10")
    assert "1e-07 to 10" in field.toolTip()  # the range is stated up front as well

    corrections: list[str] = []
    field.corrected.connect(corrections.append)
    type_into(qtbot, field, "500")
    qtbot.keyClick(field, Qt.Key.Key_Return)  # so does Enter
    assert field.value() == 10.0 and corrections == ["The learning rate goes up to 10: 500 became 10."]

    type_into(qtbot, field, "1e-9")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert field.value() == 1e-7 and corrections[-1] == "The learning rate goes down to 1e-07: 1e-9 became 1e-07."

    type_into(qtbot, field, "abc")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert field.value() == 1e-7 and corrections[-1] == "“abc” is not a number: it stays 1e-07."

    type_into(qtbot, field, "3e-4")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert field.value() == 3e-4 and corrections[-1] == ""  # a good entry clears the hint
