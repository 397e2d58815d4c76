"""The confusion matrix as a heat map: counts or row-normalised rates, class names on both axes, hover and click.

The keyboard works too: the view takes focus, the arrows (and Home/End within a row) move a current cell framed in
red, and Enter, Return or Space opens it as a click does.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFocusEvent, QFont, QFontMetricsF, QKeyEvent, QPainter
from PySide6.QtWidgets import QCheckBox, QGraphicsRectItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.evaluate.hints import wrapped_hint
from ml.plurals import plural

LOW_COLOR = (247, 251, 255)
HIGH_COLOR = (8, 48, 107)
LABELLED_CELLS_UP_TO = 15  # classes; with more, the numbers would not fit in the cells (hover still tells)
SMALLEST_LABEL_POINTS = 6.0  # a cell too small for its number at this size shows none (hover still tells)


def row_rates(confusion: np.ndarray) -> np.ndarray:
    """Each row divided by its sum: the share of each true class predicted as each class (empty rows stay 0)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    totals = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, totals, out=np.zeros_like(confusion), where=totals > 0)


def cell_colour_values(confusion: np.ndarray, normalized: bool) -> np.ndarray:
    """What the colours show: log(1 + count) or the square root of the rate, so that a few errors still show."""
    if normalized:
        return np.sqrt(row_rates(confusion))
    return np.log1p(np.asarray(confusion, dtype=np.float64))


HOVER_INVITATION = "Hover over a cell for its count; click it to see its images."
COLOUR_SCALE_HINTS = {
    False: "Colours on a log scale, so that a handful of errors still shows.",
    True: "Colours on a square-root scale of each share, so that a handful of errors still shows.",
}

ACTIVATION_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space)
CURSOR_STEPS = {Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0), Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1)}


class ConfusionMatrixView(QWidget):
    """Rows: true classes; columns: predicted ones. A click on a cell, or Enter on the current one with the
    keyboard, emits ``cell_clicked(true, predicted)``."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.confusion = np.zeros((0, 0), dtype=np.int64)
        self.class_names: list[str] = []
        self.current: tuple[int, int] | None = None  # the keyboard's cell: the last clicked, or the top-left
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Tab or a click; the plot passes its clicks up
        self.normalized_box = QCheckBox("Row-normalized (share of each true class)")
        self.normalized_box.setToolTip("Counts, or each row as percentages of its true class")
        self.normalized_box.toggled.connect(self._redraw)
        self.hover_label = QLabel(HOVER_INVITATION)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("ConfusionPlot")
        self.plot.setMenuEnabled(False)
        self.plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # else it would take the arrows to scroll
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setLabel("left", "true class")
        self.plot.setLabel("bottom", "predicted class")
        self.image = pg.ImageItem(axisOrder="row-major")
        lookup = pg.ColorMap([0.0, 1.0], [LOW_COLOR, HIGH_COLOR]).getLookupTable(0.0, 1.0, 256)
        self.image.setLookupTable(lookup)
        self.plot.addItem(self.image)
        self.selection = QGraphicsRectItem(0, 0, 1, 1)  # the cell whose images the gallery shows
        pen = pg.mkPen("#ff7f0e", width=3)
        pen.setCosmetic(True)
        self.selection.setPen(pen)
        self.selection.setZValue(10)
        self.selection.setVisible(False)
        self.plot.addItem(self.selection)
        self.focus_frame = QGraphicsRectItem(0, 0, 1, 1)  # the current cell, while the view has focus
        focus_pen = pg.mkPen("#d62728", width=2, style=Qt.PenStyle.DashLine)
        focus_pen.setCosmetic(True)
        self.focus_frame.setPen(focus_pen)
        self.focus_frame.setZValue(11)
        self.focus_frame.setVisible(False)
        self.plot.addItem(self.focus_frame)
        self.labels = CellLabels()  # every cell's number, drawn by one item
        self.plot.addItem(self.labels)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        controls = QHBoxLayout()
        controls.addWidget(self.normalized_box)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.hover_label)
        self.scale_hint = wrapped_hint(COLOUR_SCALE_HINTS[False])  # says how the colours are drawn, as they are
        layout.addWidget(self.scale_hint)

    def set_confusion(self, confusion: np.ndarray, class_names: list[str]) -> None:
        """Show a k x k confusion matrix (rows: true class) with these class names."""
        self.confusion = np.asarray(confusion, dtype=np.int64)
        self.class_names = list(class_names)
        k = len(self.confusion)
        ticks = [(index + 0.5, name) for index, name in enumerate(self.class_names)]
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setTicks([ticks])
        self.plot.setRange(xRange=(0, max(k, 1)), yRange=(0, max(k, 1)), padding=0.02)
        self.selection.setVisible(False)
        self.current = None
        self.hover_label.setText(HOVER_INVITATION)  # not the last matrix's cell, with its counts
        self.plot.setToolTip("")
        self._redraw()
        self._show_current()

    def select_cell(self, true_class: int, predicted_class: int) -> None:
        """Outline a cell (the one whose images are shown)."""
        self.selection.setRect(predicted_class, true_class, 1, 1)
        self.selection.setVisible(True)
        self.current = (true_class, predicted_class)
        self._show_current()

    def is_normalized(self) -> bool:
        """True while the cells show row rates."""
        return self.normalized_box.isChecked()

    def cell_text(self, true_class: int, predicted_class: int) -> str:
        """What a cell says: its count, or its rate in percent."""
        count = int(self.confusion[true_class, predicted_class])
        if not self.is_normalized():
            return str(count) if count else ""
        rate = row_rates(self.confusion)[true_class, predicted_class]
        if count == 0:
            return ""
        return f"{rate * 100:.1f}" if rate < 0.9995 else "100"

    def describe_cell(self, true_class: int, predicted_class: int) -> str:
        """``true 4, predicted 9: 12 images (1.2 % of the 982 images of 4)``."""
        count = int(self.confusion[true_class, predicted_class])
        total = int(self.confusion[true_class].sum())
        share = count / total * 100 if total else 0.0
        true_name, predicted_name = self.class_names[true_class], self.class_names[predicted_class]
        return (
            f"true {true_name}, predicted {predicted_name}: {plural(count, 'image')} "
            f"({share:.1f} % of the {plural(total, 'image')} of {true_name})"
        )

    def cell_center(self, true_class: int, predicted_class: int) -> QPoint:
        """The centre of a cell in the plot's viewport coordinates (where a click lands)."""
        scene_point = self.plot.getViewBox().mapViewToScene(QPointF(predicted_class + 0.5, true_class + 0.5))
        return self.plot.mapFromScene(scene_point)

    def cell_at(self, scene_position: QPointF) -> tuple[int, int] | None:
        """The (true, predicted) cell under a scene position, or None outside the matrix."""
        k = len(self.confusion)
        if k == 0 or not self.plot.getViewBox().sceneBoundingRect().contains(scene_position):
            return None
        point = self.plot.getViewBox().mapSceneToView(scene_position)
        column, row = int(np.floor(point.x())), int(np.floor(point.y()))
        if 0 <= row < k and 0 <= column < k:
            return row, column
        return None

    def hover_text(self, cell: tuple[int, int]) -> str:
        """The label under the matrix for a cell, hovered or current: its description, and a click invitation."""
        description = self.describe_cell(*cell)
        # an empty cell has nothing to show
        invitation = ". Click it or press Enter to see them." if self.confusion[cell] else "."
        return description[0].upper() + description[1:] + invitation

    def move_current(self, rows: int, columns: int) -> None:
        """Move the current cell by so many rows and columns, stopping at the edges."""
        k = len(self.confusion)
        if k == 0:
            return
        row, column = self.current or (0, 0)
        self.current = (min(max(row + rows, 0), k - 1), min(max(column + columns, 0), k - 1))
        self._show_current()
        self.hover_label.setText(self.hover_text(self.current))

    def _show_current(self) -> None:
        """Frame the current cell while the view has focus."""
        if self.current is not None:
            self.focus_frame.setRect(self.current[1] + 0.06, self.current[0] + 0.06, 0.88, 0.88)
        self.focus_frame.setVisible(self.current is not None and self.hasFocus())

    def _activate(self, cell: tuple[int, int]) -> None:
        self.select_cell(*cell)
        self.cell_clicked.emit(*cell)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Arrows, Home and End move the current cell; Enter, Return and Space open it."""
        key, k = event.key(), len(self.confusion)
        if k == 0 or not (key in CURSOR_STEPS or key in ACTIVATION_KEYS or key in (Qt.Key.Key_Home, Qt.Key.Key_End)):
            super().keyPressEvent(event)
            return
        if key in CURSOR_STEPS:
            self.move_current(*CURSOR_STEPS[key])
        elif key in ACTIVATION_KEYS:
            self._activate(self.current or (0, 0))
        else:
            self.move_current(0, -k if key == Qt.Key.Key_Home else k)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        """Show the current cell (the top-left one at first); a click shows its own cell instead."""
        super().focusInEvent(event)
        if event.reason() == Qt.FocusReason.MouseFocusReason:
            self._show_current()
        else:
            self.move_current(0, 0)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        """Hide the focus frame."""
        super().focusOutEvent(event)
        self._show_current()

    @Slot()
    def _redraw(self) -> None:
        self.scale_hint.setText(COLOUR_SCALE_HINTS[self.is_normalized()])
        k = len(self.confusion)
        if k == 0:
            self.image.clear()
            self.labels.set_labels([], self.labels.point_size)
            return
        values = cell_colour_values(self.confusion, self.is_normalized())
        top = float(values.max()) or 1.0
        self.image.setImage(values, autoLevels=False, levels=(0.0, top))
        self.image.setRect(0, 0, k, k)
        labels = []
        if k <= LABELLED_CELLS_UP_TO:
            for row in range(k):
                for column in range(k):
                    dark = values[row, column] / top > 0.55
                    labels.append((column + 0.5, row + 0.5, self.cell_text(row, column), dark))
        self.labels.set_labels(labels, max(7.0, 11.0 - 0.25 * k))

    @Slot(object)
    def _on_mouse_moved(self, scene_position: QPointF) -> None:
        cell = self.cell_at(scene_position)
        if cell is None:
            self.plot.setToolTip("")
            return
        self.hover_label.setText(self.hover_text(cell))
        self.plot.setToolTip(self.describe_cell(*cell))

    @Slot(object)
    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self._activate(cell)


class CellLabels(pg.GraphicsObject):
    """Text centred on cells, drawn at a fixed font size in one paint (100 TextItems cost 0.2 s to make)."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: list[tuple[float, float, str, bool]] = []  # x, y (data), text, on a dark cell
        self.point_size = 10.0
        self._bounds = QRectF(0.0, 0.0, 1.0, 1.0)

    def set_labels(self, labels: list[tuple[float, float, str, bool]], point_size: float) -> None:
        """Replace the labels: (x, y, text, dark) in data coordinates."""
        self.prepareGeometryChange()
        self.labels, self.point_size = labels, point_size
        xs = [x for x, _, _, _ in labels] or [0.0]
        ys = [y for _, y, _, _ in labels] or [0.0]
        self._bounds = QRectF(min(xs) - 0.5, min(ys) - 0.5, max(xs) - min(xs) + 1, max(ys) - min(ys) + 1)
        self.update()

    def texts(self) -> list[str]:
        """The labels' texts, row by row."""
        return [text for _, _, text, _ in self.labels]

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        """The cells labelled."""
        return QRectF(self._bounds)

    def fitted_point_size(self, cell_pixels: float) -> float | None:
        """The font size at which every label fits a cell ``cell_pixels`` wide: the chosen size, smaller in a small
        window, or None when even the smallest legible size would spill into the next cells."""
        font = QFont()
        font.setPointSizeF(self.point_size)
        widest = max((QFontMetricsF(font).horizontalAdvance(text) for text in self.texts() if text), default=0.0)
        room = 0.9 * cell_pixels
        if widest <= room:
            return self.point_size
        fitted = self.point_size * room / widest
        return fitted if fitted >= SMALLEST_LABEL_POINTS else None

    def paint(self, painter: QPainter, *args) -> None:
        """Each text centred on its cell, in device pixels so that the view's scale does not stretch it."""
        transform = painter.transform()  # data -> device pixels (pyqtgraph's deviceTransform() crashes in paint)
        cell_pixels = min(abs(transform.m11()) + abs(transform.m21()), abs(transform.m22()) + abs(transform.m12()))
        point_size = self.fitted_point_size(cell_pixels)
        if point_size is None:  # the numbers would overlap: the colours and the hover tell instead
            return
        painter.save()
        painter.resetTransform()
        font = QFont()
        font.setPointSizeF(point_size)
        painter.setFont(font)
        box = QRectF(-40, -12, 80, 24)
        for x, y, text, dark in self.labels:
            if text:
                centre = transform.map(QPointF(x, y))
                painter.setPen(QColor("white") if dark else QColor(30, 30, 30))
                painter.drawText(box.translated(centre), int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()
