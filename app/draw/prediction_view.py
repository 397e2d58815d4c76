"""Views of a prediction: the 28x28 model input, the winning class, the probability bars
(``app/draw/probability_bars.py``), the stages (``app/draw/stage_strip.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.common.evidence import evidence_qimage
from app.common.images import array_to_qimage
from app.common.widgets import FittedLabel
from app.draw.probability_bars import ProbabilityBars, format_probability
from app.draw.probability_bars import format_percent as format_percent  # still imported from here
from app.draw.stage_strip import StageStrip

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
