"""A view of a prediction's probabilities: one bar per class, or, for a model of many classes, the most likely few."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import QGraphicsItem, QSizePolicy, QWidget

WINNER_COLOR = QColor(37, 99, 235)
OTHER_COLOR = QColor(148, 163, 184)
CLASS_AXIS_ROOM = 40
"""Pixels of the bars' width taken by the class names' axis and the plot's margins."""
LABEL_GAP = 12
"""Pixels kept between two percent tick labels."""
PERCENT_AXIS_END = 1.08
"""The bars' axis runs a little past 100 %, so a full bar's label and the "100%" tick have room."""
MOST_BARS = 12
"""A model with this many classes or fewer gets a bar per class, in its own order (the ten digits, a dozen shapes):
more rows at the panel's usual height (about 280 px) ran their names and percentages together."""
TOP_BARS = 10
"""A model with more classes gets bars for its most likely classes only, largest first, under a caption that says
how many are hidden: with the caption's line, its rows are as tall as a dozen's."""
NAME_ROOM = 2.5
"""A class name in the top bars is shortened with an ellipsis to this many times the width of "100%"."""


class ProbabilityBars(pg.PlotWidget):
    """A view of one probability per class as horizontal bars, labelled with the class names, winner highlighted.

    Up to :data:`MOST_BARS` classes each have a bar in the model's order; beyond that, only the :data:`TOP_BARS` most
    likely ones, largest first, with a caption ("top 10 of 1000 classes"): the same few bars and labels are updated
    in place with each prediction. Clicking a bar (or its label) emits ``class_clicked`` with the class's index.
    """

    class_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background=None)
        self._class_names: list[str] = []
        self._short_names: list[str] = []  # the names on the bars: shortened when only the top bars are shown
        self._probabilities = np.zeros(0)
        self._rows = np.zeros(0, dtype=np.int64)  # the class of each bar, top to bottom
        self._labels: list[pg.TextItem] = []
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.invertY(True)
        plot.showGrid(x=True, y=False, alpha=0.25)
        plot.setXRange(0.0, PERCENT_AXIS_END, padding=0)
        plot.getAxis("bottom").setHeight(28)
        text_color = self._text_color = self.palette().color(QPalette.ColorRole.WindowText)
        tick_font = QFont(self.font())
        tick_font.setPointSizeF(max(self.font().pointSizeF(), 9.0) * 1.1)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setTextPen(text_color)
            axis.setPen(self.palette().color(QPalette.ColorRole.Mid))
            axis.setTickFont(tick_font)
        plot.getAxis("left").setStyle(tickLength=0)
        for name in ("left", "bottom"):  # the axes (and the grid) stay as they are while the bars move: blit them
            plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._tick_font = tick_font
        self._label_room = QFontMetrics(tick_font).horizontalAdvance("100%")  # one percent tick's label
        self.setMinimumWidth(2 * (self._label_room + LABEL_GAP) + CLASS_AXIS_ROOM)  # "100%" whole, and readable bars
        self._axis_end = PERCENT_AXIS_END
        self.percent_ticks: tuple[float, ...] = ()
        self._fit_percent_ticks()
        plot.getViewBox().sigResized.connect(self._fit_percent_ticks)  # a signal, not a resizeEvent override
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self._brushes = {False: pg.mkBrush(OTHER_COLOR), True: pg.mkBrush(WINNER_COLOR)}
        self._bars = pg.BarGraphItem(x0=[], y=[], height=0.72, width=[], brushes=[], pen=pg.mkPen(None))
        plot.addItem(self._bars)
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # mouse only (click a bar): Tab skips it rather than vanish in it

    def _fit_percent_ticks(self) -> None:
        """Every quarter when there is room for each label and a gap, else 50 % and 100 %, else 100 % alone (never
        "25%50%75%"); the axis runs on past 100 % far enough for that label's right half (pyqtgraph hides a label
        past the plot's end)."""
        axis_width = max(0.0, self.getPlotItem().getViewBox().width())
        half_label = self._label_room / 2 + 2
        end = PERCENT_AXIS_END
        if axis_width > 2 * half_label:  # the 100 % tick at axis_width / end leaves half_label to its right
            end = max(PERCENT_AXIS_END, 1 / (1 - half_label / axis_width))
        if end != self._axis_end:
            self._axis_end = end
            self.getPlotItem().setXRange(0.0, end, padding=0)
        quarter, room = axis_width * 0.25 / end, self._label_room + LABEL_GAP
        ticks = (0.25, 0.5, 0.75, 1.0) if quarter >= room else (0.5, 1.0) if 2 * quarter >= room else (1.0,)
        if ticks != self.percent_ticks:
            self.percent_ticks = ticks
            self.getPlotItem().getAxis("bottom").setTicks([[(value, f"{value:.0%}") for value in ticks]])

    def class_at(self, scene_position: QPointF) -> int | None:
        """The class whose bar row is at ``scene_position`` (anywhere across the row, label included), or None."""
        row = round(self.getPlotItem().getViewBox().mapSceneToView(scene_position).y())
        return int(self._rows[row]) if 0 <= row < len(self._rows) else None

    def _on_scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        index = self.class_at(event.scenePos())
        if index is not None:
            self.class_clicked.emit(index)

    @property
    def class_names(self) -> list[str]:
        """The model's classes (every one, shown or not)."""
        return list(self._class_names)

    @property
    def probabilities(self) -> np.ndarray:
        """The values shown (zeros when no prediction)."""
        return self._probabilities.copy()

    @property
    def shown_classes(self) -> list[int]:
        """The class index of each bar, top to bottom: every class in order, or the most likely few (none while
        there is no prediction)."""
        return [int(index) for index in self._rows]

    @property
    def caption(self) -> str:
        """What the bars leave out ("top 10 of 1000 classes"), or "" when every class has its bar."""
        count = len(self._class_names)
        return f"top {TOP_BARS} of {count} classes" if count > MOST_BARS else ""

    def set_class_names(self, names: Sequence[str]) -> None:
        """One bar per class name, or, past :data:`MOST_BARS` names, room for the top few; the bars reset to zero."""
        names = [str(name) for name in names]
        if names == self._class_names:
            return
        self._class_names = names
        plot = self.getPlotItem()
        for label in self._labels:
            plot.removeItem(label)
        rows = len(names) if len(names) <= MOST_BARS else TOP_BARS
        self._labels = []
        for row in range(rows):
            label = pg.TextItem("", color=self._text_color, anchor=(0, 0.5))
            label.setPos(0, row)
            plot.addItem(label)
            self._labels.append(label)
        self._show_caption()
        left = plot.getAxis("left")
        if self.caption:  # many classes: the names change with each prediction, in an axis of fixed width
            room = round(NAME_ROOM * self._label_room)
            metrics = QFontMetrics(self._tick_font)
            self._short_names = [metrics.elidedText(name, Qt.TextElideMode.ElideRight, room) for name in names]
            left.setWidth(room + left.style["tickTextOffset"][0] + 4)  # and a little room from the panel's edge
            self._rows = np.zeros(0, dtype=np.int64)  # no bars until a prediction ranks the classes
            left.setTicks([[]])
        else:
            self._short_names = names
            left.setWidth(None)  # as wide as the names
            self._rows = np.arange(len(names))
            left.setTicks([list(enumerate(names))])
        plot.setYRange(-0.6, rows - 0.4, padding=0)
        self.set_probabilities(None)

    def _show_caption(self) -> None:
        """The caption over the top bars in a small grey line, or no line at all when every class has its bar."""
        plot = self.getPlotItem()
        if not self.caption:
            plot.titleLabel.setText("")
            plot.setTitle(None)
            return
        if plot.layout.itemAt(0, 0) is not plot.titleLabel:  # over the names and the bars, not over the bars alone
            plot.layout.removeItem(plot.titleLabel)
            plot.layout.addItem(plot.titleLabel, 0, 0, 1, 3)
        size = max(self.font().pointSizeF(), 9.0)
        color = self.palette().color(QPalette.ColorRole.PlaceholderText)
        plot.setTitle(self.caption, size=f"{size:g}pt", color=color)
        font = QFont(self.font())
        font.setPointSizeF(size)
        height = QFontMetrics(font).height() + 4
        plot.titleLabel.setMaximumHeight(height)  # pyqtgraph's title row is 30 px: a row of bars
        plot.layout.setRowFixedHeight(0, height)

    def set_probabilities(self, probabilities: Sequence[float] | np.ndarray | None) -> None:
        """Show one probability per class (highlighting the largest), or empty bars for None."""
        count = len(self._class_names)
        values = np.zeros(count) if probabilities is None else np.asarray(probabilities, dtype=np.float64)
        if values.shape != (count,):
            raise ValueError(f"Expected {count} probabilities, got shape {values.shape}.")
        self._probabilities = values
        if len(self._labels) < count:  # the top bars: rank the classes again
            self._show_top(None if probabilities is None else np.argsort(-values, kind="stable")[: len(self._labels)])
        shown = values[self._rows]
        winner = int(np.argmax(shown)) if probabilities is not None and len(shown) else -1
        brushes = [self._brushes[row == winner] for row in range(len(shown))]
        self._bars.setOpts(x0=np.zeros(len(shown)), y=np.arange(len(shown)), width=shown, brushes=brushes)
        for row, label in enumerate(self._labels):
            value = float(shown[row]) if row < len(shown) else 0.0
            text = "" if probabilities is None else format_probability(value)
            if getattr(label, "shown_text", None) != text:  # most labels keep their text from one drawing to the next
                label.shown_text = text
                label.setText(text)
            inside = value > 0.8  # a long bar carries its label inside, so it is never clipped
            if getattr(label, "inside", None) != inside:  # restyled only when it moves in or out (each call relays it)
                label.inside = inside
                label.setAnchor((1, 0.5) if inside else (0, 0.5))
                label.setColor(QColor("white") if inside else self._text_color)
            label.setPos(value - 0.015 if inside else value + 0.015, row)

    def _show_top(self, rows: np.ndarray | None) -> None:
        """Name the top bars after ``rows`` (class indices, largest first), or leave them unnamed for None."""
        rows = np.zeros(0, dtype=np.int64) if rows is None else rows
        if np.array_equal(rows, self._rows):
            return
        self._rows = rows
        ticks = [(row, self._short_names[index]) for row, index in enumerate(rows)]
        self.getPlotItem().getAxis("left").setTicks([ticks])


def format_percent(value: float) -> str:
    """``0.9731`` → ``97.3 %``; tiny values as ``<0.1 %``, near-certain ones as ``>99.9 %`` (never a rounded 100 %)."""
    if 0 < value < 0.0005:
        return "<0.1 %"
    if 0.9995 <= value < 1:
        return ">99.9 %"
    return f"{value * 100:.1f} %"


def format_probability(value: float) -> str:
    """A model's probability as a percentage: like :func:`format_percent`, but a float32 softmax that rounded to
    exactly 1.0 still reads ``>99.9 %`` (a softmax is never certain; the other classes underflowed)."""
    return ">99.9 %" if value >= 0.9995 else format_percent(value)
