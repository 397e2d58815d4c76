"""Views of a prediction: the 28x28 model input, the winning class, per-class probability bars, the stages
(``app/draw/stage_strip.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QGraphicsItem, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.common.evidence import evidence_qimage
from app.common.images import array_to_qimage
from app.common.widgets import FittedLabel
from app.draw.stage_strip import StageStrip

WINNER_COLOR = QColor(37, 99, 235)
OTHER_COLOR = QColor(148, 163, 184)
MNIST_SIDE = 28
MNIST_CLASSES = 10


def section_heading(text: str) -> QLabel:
    """A small bold caption above a part of the panel."""
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setForegroundRole(QPalette.ColorRole.WindowText)
    return label


class PixelImageView(QWidget):
    """A view of a small gray image (white ink on black): nearest-neighbour when magnified, smooth when shrunk."""

    def __init__(
        self,
        side: int = 168,
        minimum_side: int = 84,
        grid: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._side = side
        self._grid = grid
        self._image = None
        self._pixels: np.ndarray | None = None
        self._overlay = None
        self._grid_lines: QImage | None = None  # the pixel grid, drawn once per size and blended in with one call
        self.setMinimumSize(minimum_side, minimum_side)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    @property
    def pixels(self) -> np.ndarray | None:
        """The image shown, or None."""
        return self._pixels

    def set_image(self, image: np.ndarray | None) -> None:
        """Show a 2-D gray array in [0, 1] (1 = white), or nothing."""
        self._pixels = None if image is None else np.asarray(image, dtype=np.float32)
        self._image = None if image is None else array_to_qimage(self._pixels)
        self.update()

    @property
    def overlay(self):
        """The evidence overlay shown (a QImage), or None."""
        return self._overlay

    def set_overlay(self, positive: np.ndarray | None, negative: np.ndarray | None, opacity: float = 0.6) -> None:
        """Evidence for (orange) and against (blue) over the image, pixel for pixel; None for both hides it."""
        self._overlay = None if positive is None and negative is None else evidence_qimage(positive, negative, opacity)
        self.update()

    def sizeHint(self) -> QSize:
        """The preferred square."""
        return QSize(self._side, self._side)

    def image_rect(self) -> QRectF:
        """Where the image is drawn: an integer magnification when magnifying, so every pixel is equal."""
        available = float(min(self.width(), self.height()))
        if self._image is None:
            side_w = side_h = available
        else:
            width, height = self._image.width(), self._image.height()
            scale = available / max(width, height)
            if scale >= 1:
                scale = float(int(scale))
            side_w, side_h = width * scale, height * scale
        return QRectF((self.width() - side_w) / 2, (self.height() - side_h) / 2, side_w, side_h)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Black square, the image, and an optional faint pixel grid."""
        painter = QPainter(self)
        rect = self.image_rect()
        painter.fillRect(rect, Qt.GlobalColor.black)
        if self._image is not None:
            magnifying = rect.width() >= self._image.width()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not magnifying)
            painter.drawImage(rect, self._image)
            if self._overlay is not None:
                painter.drawImage(rect, self._overlay)
            if self._grid and magnifying and rect.width() / self._image.width() >= 5:
                self._paint_grid(painter, rect)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))

    def _paint_grid(self, painter: QPainter, rect: QRectF) -> None:
        """The faint pixel grid over the image: its lines are drawn once per size (54 lines took 3-4 ms of the
        window's thread on every prediction) and then blended in as one image."""
        assert self._image is not None
        columns, rows = self._image.width(), self._image.height()
        left, top = round(rect.left()), round(rect.top())
        width, height = round(rect.right()) - left + 1, round(rect.bottom()) - top + 1
        grid = self._grid_lines
        if grid is None or (grid.width(), grid.height(), grid.text("cells")) != (width, height, f"{columns}x{rows}"):
            grid = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
            grid.fill(Qt.GlobalColor.transparent)
            grid.setText("cells", f"{columns}x{rows}")
            lines = QPainter(grid)
            lines.setPen(QPen(QColor(255, 255, 255, 28), 1))
            for column in range(1, columns):
                x = round(rect.left() + column * rect.width() / columns) - left
                lines.drawLine(x, 0, x, height - 1)
            for row in range(1, rows):
                y = round(rect.top() + row * rect.height() / rows) - top
                lines.drawLine(0, y, width - 1, y)
            lines.end()
            self._grid_lines = grid
        painter.drawImage(left, top, grid)


CLASS_AXIS_ROOM = 40
"""Pixels of the bars' width taken by the class names' axis and the plot's margins."""
LABEL_GAP = 12
"""Pixels kept between two percent tick labels."""
PERCENT_AXIS_END = 1.08
"""The bars' axis runs a little past 100 %, so a full bar's label and the "100%" tick have room."""


class ProbabilityBars(pg.PlotWidget):
    """A view of one probability per class as horizontal bars, labelled with the class names, winner highlighted.

    Clicking a bar (or its label) emits ``class_clicked`` with the class's index.
    """

    class_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background=None)
        self._class_names: list[str] = []
        self._probabilities = np.zeros(0)
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
        return row if 0 <= row < len(self._class_names) else None

    def _on_scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        index = self.class_at(event.scenePos())
        if index is not None:
            self.class_clicked.emit(index)

    @property
    def class_names(self) -> list[str]:
        """The labels of the bars."""
        return list(self._class_names)

    @property
    def probabilities(self) -> np.ndarray:
        """The values shown (zeros when no prediction)."""
        return self._probabilities.copy()

    def set_class_names(self, names: Sequence[str]) -> None:
        """One bar per class name; the bars reset to zero."""
        names = [str(name) for name in names]
        if names == self._class_names:
            return
        self._class_names = names
        plot = self.getPlotItem()
        for label in self._labels:
            plot.removeItem(label)
        self._labels = []
        for index in range(len(names)):
            label = pg.TextItem("", color=self._text_color, anchor=(0, 0.5))
            label.setPos(0, index)
            plot.addItem(label)
            self._labels.append(label)
        plot.getAxis("left").setTicks([list(enumerate(names))])
        plot.setYRange(-0.6, len(names) - 0.4, padding=0)
        self.set_probabilities(None)

    def set_probabilities(self, probabilities: Sequence[float] | np.ndarray | None) -> None:
        """Show one probability per class (highlighting the largest), or empty bars for None."""
        count = len(self._class_names)
        values = np.zeros(count) if probabilities is None else np.asarray(probabilities, dtype=np.float64)
        if values.shape != (count,):
            raise ValueError(f"Expected {count} probabilities, got shape {values.shape}.")
        self._probabilities = values
        winner = int(np.argmax(values)) if probabilities is not None and count else -1
        brushes = [self._brushes[index == winner] for index in range(count)]
        self._bars.setOpts(x0=np.zeros(count), y=np.arange(count), width=values, brushes=brushes)
        for index, (label, value) in enumerate(zip(self._labels, values, strict=True)):
            text = "" if probabilities is None else format_probability(value)
            if getattr(label, "shown_text", None) != text:  # most labels keep their text from one drawing to the next
                label.shown_text = text
                label.setText(text)
            inside = value > 0.8  # a long bar carries its label inside, so it is never clipped
            if getattr(label, "inside", None) != inside:  # restyled only when it moves in or out (each call relays it)
                label.inside = inside
                label.setAnchor((1, 0.5) if inside else (0, 0.5))
                label.setColor(QColor("white") if inside else self._text_color)
            label.setPos(float(value) - 0.015 if inside else float(value) + 0.015, index)


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


class PredictionPanel(QWidget):
    """A view of the latest prediction: model input, winning class and confidence, bars and stages."""

    class_clicked = Signal(int)  # a probability bar was clicked: explain that class

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_input = PixelImageView(side=196, minimum_side=112, grid=True)
        self.model_input.setToolTip("The image the model receives, after preprocessing (28x28, or its own size).")
        self.predicted_class = QLabel("")
        self.predicted_class.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.predicted_class.setWordWrap(True)
        self.predicted_class.setMinimumWidth(140)
        medium = QFont(self.font())
        medium.setPointSizeF(max(self.font().pointSizeF(), 9.0) * 1.3)
        self.confidence = FittedLabel(medium)  # a number's detail shrinks to fit a narrow column, never cut
        self.confidence.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = QLabel("Draw a digit")
        self.message.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.message.setWordWrap(True)
        self.message.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.bars = ProbabilityBars()
        self.bars.class_clicked.connect(self.class_clicked)
        self.bars.setToolTip("Click a bar to see the evidence for that class (View ▸ Look inside)")
        self.stages = StageStrip()

        self._keep_verdict_height(medium)
        verdict = QVBoxLayout()
        verdict.addStretch(1)
        verdict.addWidget(self.predicted_class)
        verdict.addWidget(self.confidence)
        verdict.addWidget(self.message, 1)  # a long reason in a narrow column runs on into the room below

        self.stages_section = QWidget()
        stages_layout = QVBoxLayout(self.stages_section)
        stages_layout.setContentsMargins(0, 2, 0, 0)
        stages_layout.addWidget(section_heading("Preprocessing"))
        stages_layout.addWidget(self.stages)

        layout = QGridLayout(self)
        layout.setContentsMargins(8, 4, 8, 2)
        layout.setHorizontalSpacing(16)
        layout.addWidget(section_heading("What the model sees"), 0, 0)
        layout.addWidget(section_heading("Prediction"), 0, 1, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(section_heading("Probabilities"), 0, 2)
        layout.addWidget(self.model_input, 1, 0)
        layout.addLayout(verdict, 1, 1)
        layout.addWidget(self.stages_section, 2, 0, 1, 2)
        layout.addWidget(self.bars, 1, 2, 2, 1)
        layout.setRowStretch(1, 1)  # a taller window enlarges what the model sees; the stages stay under it, no gap
        layout.setColumnStretch(0, 2)
        layout.setColumnStretch(1, 2)
        layout.setColumnStretch(2, 3)
        self.set_class_names([str(digit) for digit in range(MNIST_CLASSES)])  # until a model says otherwise
        self.show_message("Draw a digit")

    def _keep_verdict_height(self, confidence_font: QFont) -> None:
        """Fixed heights for the class and the confidence, the message's from the room left (three lines at least), and
        widths that ignore their text, so the panel never jumps between states (nor relays itself out, bars and all,
        while the user draws)."""
        largest = QFont(self.font())
        largest.setPointSizeF(max(self.font().pointSizeF(), 9.0) * 6.0)
        largest.setBold(True)
        self.predicted_class.setFixedHeight(QFontMetrics(largest).height())
        self.confidence.setFixedHeight(QFontMetrics(confidence_font).height())
        self.message.setMinimumHeight(3 * QFontMetrics(self.message.font()).lineSpacing())
        for label in (self.predicted_class, self.confidence, self.message):
            policy = label.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)  # widths from the layout, never from the text:
            label.setSizePolicy(policy)  # else each new verdict relaid the panel out and the bars' plot with it
        policy = self.message.sizePolicy()
        policy.setVerticalPolicy(QSizePolicy.Policy.Ignored)  # its height too: three lines, and what room is left
        self.message.setSizePolicy(policy)

    def _show_class_name(self, name: str) -> None:
        """The winning class as large as fits: a digit very large, a word such as "Ankle boot" smaller."""
        scale = 6.0 if len(name) <= 2 else 3.0 if len(name) <= 6 else 2.0
        font = QFont(self.font())
        font.setPointSizeF(max(self.font().pointSizeF(), 9.0) * scale)
        font.setBold(True)
        self.predicted_class.setFont(font)
        self.predicted_class.setText(name)

    def set_class_names(self, names: Sequence[str]) -> None:
        """Label the bars with the active model's classes."""
        self.bars.set_class_names(names)

    def set_overlay(self, positive: np.ndarray | None, negative: np.ndarray | None, opacity: float = 0.6) -> None:
        """Evidence over "what the model sees" (28x28 maps); None for both hides it."""
        self.model_input.set_overlay(positive, negative, opacity)

    def show_message(self, text: str, stages: Sequence[tuple[str, np.ndarray]] = ()) -> None:
        """No prediction: an empty model input, empty bars and ``text`` instead of a class."""
        self.model_input.set_image(None)
        self.model_input.set_overlay(None, None)
        self._show_class_name("")
        self.predicted_class.setEnabled(False)
        self.confidence.setText("")
        self.message.setText(text)
        self.message.setVisible(True)
        self.bars.set_probabilities(None)
        self.stages.set_stages(stages)

    def show_input(self, image28: np.ndarray, stages: Sequence[tuple[str, np.ndarray]]) -> None:
        """The model input and stages, while the probabilities are not known yet."""
        self.model_input.set_image(image28)
        self.stages.set_stages(stages)

    def show_prediction(
        self,
        image28: np.ndarray,
        probabilities: np.ndarray,
        stages: Sequence[tuple[str, np.ndarray]],
        verdict: dict | None = None,
    ) -> None:
        """The model input, the winning class large with its confidence, and every class's bar.

        ``verdict`` (``ml.doubt``'s, as a dict): "not a digit" says so with the top guess greyed out; "unsure" shows
        both close classes ("4 or 9").
        """
        self.show_input(image28, stages)
        self.bars.set_probabilities(probabilities)
        winner = int(np.argmax(probabilities))
        name = self._class_name(winner)
        confident = f"{format_probability(float(probabilities[winner]))} confident"
        status = (verdict or {}).get("status", "digit")
        runner_up = (verdict or {}).get("runner_up")
        if status == "not_a_digit":
            self._show_class_name(name)
            self.predicted_class.setEnabled(False)
            self.confidence.setText("Not a digit")
            reason = verdict.get("reason") or "this does not look like a digit"
            note = "" if verdict.get("calibrated", True) else " (Default check: not fitted for this model.)"
            self.message.setText(f"{reason[:1].upper()}{reason[1:]}. Top guess {name}, {confident}.{note}")
            self.message.setVisible(True)
            return
        if status == "unsure" and runner_up is not None:
            other = self._class_name(int(runner_up))
            self._show_class_name(f"{name} or {other}")
            self.predicted_class.setEnabled(True)
            second = format_probability(float(probabilities[int(runner_up)]))
            self.confidence.setText(f"Unsure: {name} or {other}")
            self.message.setText(f"{name} {format_probability(float(probabilities[winner]))}, {other} {second}")
            self.message.setVisible(True)
            return
        self._show_class_name(name)
        self.predicted_class.setEnabled(True)
        self.confidence.setText(confident)
        self.message.setVisible(False)

    def _class_name(self, index: int) -> str:
        names = self.bars.class_names
        return names[index] if index < len(names) else str(index)

    def show_number(self, text: str, detail: str, note: str, readable: bool = True) -> None:
        """A whole number large (greyed when unreadable), a line of detail under it and a note below."""
        self._show_class_name(text)
        self.predicted_class.setEnabled(readable)
        self.confidence.setText(detail)
        self.message.setText(note)
        self.message.setVisible(bool(note))

    def rehearse(self, result: dict) -> None:
        """Show ``result``, then the blank state again: called while the window is hidden, so that the first real
        answer finds the stage columns built and the fonts, images and bars' plot warm (its display took 10 ms of the
        window's thread instead of 4, 30-40 ms of stall on a 3x slower machine)."""
        blank_message = self.message.text()
        self.show_result(result)
        self.show_message(blank_message)

    def show_result(self, result: dict) -> dict:
        """Show a prediction result (or why there is none) and return what is shown, as plain data."""
        probabilities = result["probabilities"]
        if result["error"]:
            pass  # the window reports it; the last prediction stays
        elif result["blank"]:
            reason = result["reason"] or "no ink found"
            self.show_message(f"No digit found: {reason}", result["stages"])
        elif probabilities is None and result.get("reason"):  # the model could not score it (its output is NaN)
            self.show_message(f"No prediction: {result['reason']}", result["stages"])
        elif probabilities is None:
            self.show_input(result["image"], result["stages"])
        else:
            if len(self.bars.class_names) != len(probabilities):
                self.set_class_names([str(index) for index in range(len(probabilities))])
            seen = result.get("model_view")  # what a model of another size or scale receives, else the 28x28
            image = result["image"] if seen is None else seen
            self.show_prediction(image, probabilities, result["stages"], result.get("verdict"))
        shown = {
            "request_id": result["request_id"],
            "final": result["final"],
            "blank": result["blank"],
            "error": result["error"],
            "probabilities": None if probabilities is None else [float(value) for value in probabilities],
            "predicted_index": None,
            "predicted_class": None,
            "confidence": None,
            "verdict": (result.get("verdict") or {}).get("status"),
        }
        if probabilities is not None:
            winner = int(np.argmax(probabilities))
            shown.update(
                predicted_index=winner,
                predicted_class=self.bars.class_names[winner],
                confidence=float(probabilities[winner]),
            )
        return shown
