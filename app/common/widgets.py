"""Small widgets the rooms share: a learning-rate field, muted hints, labels that elide or shrink their text, a path
field with its Browse button."""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent, QPalette, QResizeEvent, QValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QWidget,
)

LEARNING_RATE_LADDER: tuple[float, ...] = tuple(
    round(mantissa * 10.0**exponent, 12) for exponent in range(-6, 1) for mantissa in (1, 2, 5)
)


def hint_label(text: str) -> QLabel:
    """A small, muted, wrapping explanation under a group's controls."""
    label = QLabel(text)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.92)
    label.setFont(font)
    return label


class ElidedLabel(QLabel):
    """Plain text whose lines are cut with an ellipsis at the label's width; ``text()`` and the tooltip keep it all.

    It never asks for more width than it is given, so a long name cannot widen a form or make a dock scroll.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        """Show ``text`` (elided where needed) with the whole of it as the tooltip."""
        super().setText(text)
        self.setToolTip(text if text else "")

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """No minimum width; the height of its lines."""
        return QSize(0, super().minimumSizeHint().height())

    def elided_lines(self) -> list[str]:
        """The lines as painted at the current width."""
        width = max(0, self.contentsRect().width())
        metrics = self.fontMetrics()
        return [metrics.elidedText(line, Qt.TextElideMode.ElideRight, width) for line in self.text().splitlines()]

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Paint each line elided to the width."""
        painter = QPainter(self)
        alignment = self.alignment() if self.alignment() else Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(alignment),
            self.palette(),
            self.isEnabled(),
            "\n".join(self.elided_lines()),
            self.foregroundRole(),
        )


class FittedLabel(QLabel):
    """One line whose font shrinks, down to ``smallest`` of ``font``'s size, so that the whole text fits the label's
    width (a number's "digit 1 of 4: 2 · >99.9 %" beside a narrow column); ``font`` again when there is room."""

    def __init__(self, font: QFont, smallest: float = 0.7, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full_font = QFont(font)
        self._smallest = smallest
        self.setFont(font)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        """Show ``text`` in the largest font that fits."""
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Fit the text to the new width."""
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        room, full = self.contentsRect().width(), self._full_font.pointSizeF()
        font, floor = QFont(self._full_font), full * self._smallest
        needed = QFontMetrics(font).horizontalAdvance(self.text())
        if needed > room:  # in proportion first, then down in half points: glyphs do not scale quite linearly
            font.setPointSizeF(max(floor, full * room / needed))
            while font.pointSizeF() > floor and QFontMetrics(font).horizontalAdvance(self.text()) > room:
                font.setPointSizeF(max(floor, font.pointSizeF() - 0.5))
        if font != self.font():
            self.setFont(font)


class ElidedComboBox(QComboBox):
    """A combo box whose shown choice ends in "…" when it is wider than the box (the list shows it all)."""

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Paint the frame and arrow as usual, with the current text elided to the room left for it."""
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        room = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        metrics = self.fontMetrics()
        option.currentText = metrics.elidedText(option.currentText, Qt.TextElideMode.ElideRight, room.width())
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


def path_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    """A path field with its Browse button."""
    row = QHBoxLayout()
    row.setSpacing(4)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class LearningRateSpinBox(QDoubleSpinBox):
    """A learning-rate field that shows ``3e-05`` style numbers and steps along 1-2-5 decades.

    A typed number outside the range becomes the nearest end of it, and text that is no number leaves the value as it
    was; either way ``corrected`` says so in words, for a hint beside the field (and ``""`` when the value changes
    otherwise: the hint is then out of date).
    """

    corrected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(10)
        self.setRange(1e-7, 10.0)
        self.setKeyboardTracking(False)
        self.setAccelerated(False)
        self.setToolTip(
            f"The learning rate, from {self.textFromValue(self.minimum())} to {self.textFromValue(self.maximum())}: "
            "type 0.001 or 1e-3; the arrows step along 1, 2, 5, 10…"
        )
        self._correction = ""
        self.valueChanged.connect(self._on_value_changed)
        self.editingFinished.connect(self._on_editing_finished)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        """``0.003`` → ``0.003``; ``3e-05`` → ``3e-05``."""
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt override
        """Parse what the user typed (``1e-3``, ``0.001``)."""
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, position: int) -> object:
        """Accept anything that parses as a number in range; allow partial input such as ``1e-``."""
        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, position
        in_range = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if in_range else QValidator.State.Intermediate), text, position

    def fixup(self, text: str) -> str:
        """At the end of an edit: a number out of range becomes the nearest end of the range (and says so)."""
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        lowest, highest = self.textFromValue(self.minimum()), self.textFromValue(self.maximum())
        typed = text.strip()
        if not math.isfinite(value):
            kept = self.textFromValue(self.value())
            what = f"“{typed}” is not a number" if typed else "The learning rate cannot be empty"
            self._correction = f"{what}: it stays {kept}."
            return text
        if value > self.maximum():
            self._correction = f"The learning rate goes up to {highest}: {typed} became {highest}."
            return highest
        if value < self.minimum():
            self._correction = f"The learning rate goes down to {lowest}: {typed} became {lowest}."
            return lowest
        return text

    @Slot(float)
    def _on_value_changed(self, _value: float) -> None:
        """A new value (typed, stepped or set): the last correction no longer applies."""
        self.corrected.emit("")

    @Slot()
    def _on_editing_finished(self) -> None:
        """Report the correction made to this edit, after the value it led to."""
        correction, self._correction = self._correction, ""
        if correction:
            self.corrected.emit(correction)

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        """Move to the next (or previous) value on the 1-2-5 ladder."""
        value = self.value()
        if steps > 0:
            above = [rate for rate in LEARNING_RATE_LADDER if rate > value * (1 + 1e-9)]
            target = above[min(steps, len(above)) - 1] if above else value
        else:
            below = [rate for rate in LEARNING_RATE_LADDER if rate < value * (1 - 1e-9)]
            target = below[-min(-steps, len(below))] if below else value
        self.setValue(target)


def select_data(combo: QComboBox, value: str) -> bool:
    """Select the item whose data is ``value``; False when there is none."""
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)
    return index >= 0


def ask_yes_or_no(parent: QWidget | None, title: str, question: str) -> bool:
    """A Yes/No question whose default is No (a stray Enter keeps what is running); True for Yes."""
    answer = QMessageBox.question(
        parent,
        title,
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


SCREEN_SHARE = (0.96, 0.92)
"""On a smaller screen (a 1366x768 laptop), a window takes at most this share of the free area's width and height
(its frame too)."""


def size_within_screen(wanted: tuple[int, int], available: QSize) -> tuple[int, int]:
    """A window's ``wanted`` size, or what of the screen's free area (``available``) it may take."""
    width, height = wanted
    return min(width, int(available.width() * SCREEN_SHARE[0])), min(height, int(available.height() * SCREEN_SHARE[1]))
