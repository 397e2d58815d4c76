"""Watch it learn your digit: each class's probability for the drawing on the canvas, over the training run."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.common.curves import CurveBuffer

CLASS_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)  # matplotlib's tab10: ten classes told apart at a glance
LABELLED = 3  # the classes named at the end of their line: the most probable ones now


class LatestDrawing:
    """The drawing to re-score, set by the window's thread and read by the training thread (a lock between)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._image: np.ndarray | None = None

    def set(self, image28: np.ndarray | None) -> None:
        """The newest MNIST-style 28x28 on the canvas (None: nothing drawn)."""
        with self._lock:
            self._image = None if image28 is None else np.array(image28, dtype=np.float32, copy=True)

    def get(self) -> np.ndarray | None:
        """The drawing now (the training thread calls this)."""
        with self._lock:
            return self._image


class RescoreChart(pg.PlotWidget):
    """A view of one line per class: the probability the model being trained gives the drawing, against epochs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background=None)
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        plot.setTitle("Your drawing, as the model learns", size="9pt", color=text)
        plot.setLabel("left", "probability")
        plot.setLabel("bottom", "epoch")
        plot.setYRange(0.0, 1.0, padding=0.02)
        plot.showGrid(x=False, y=True, alpha=0.2)
        for name in ("left", "bottom"):
            plot.getAxis(name).setTextPen(text)
        self._class_names: list[str] = [str(index) for index in range(10)]
        self._points = CurveBuffer(1 + len(self._class_names), 256)
        self._lines: list[pg.PlotDataItem] = []
        self._labels: list[pg.TextItem] = []
        self._epochs = 1
        self._make_lines()
        title_and_axes = plot.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()  # narrower, pyqtgraph cuts it off
        self.setMinimumWidth(max(220, math.ceil(title_and_axes) + 2))
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    @property
    def point_count(self) -> int:
        """How many re-scorings are drawn."""
        return self._points.size

    def line_data(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Epochs and probabilities of class ``index``."""
        columns = self._points.columns()
        return columns[0], columns[1 + index]

    def set_class_names(self, names: Sequence[str]) -> None:
        """One line per class of the model being trained."""
        names = [str(name) for name in names]
        if names != self._class_names:
            self._class_names = names
            self._make_lines()

    def reset(self, epochs: int) -> None:
        """A new run of ``epochs`` epochs: no points yet."""
        self._epochs = max(1, int(epochs))
        self._points.clear()
        self.getPlotItem().setXRange(0.0, float(self._epochs), padding=0.02)
        for line in self._lines:
            line.setData([], [])
        for label in self._labels:
            label.setText("")

    def add(self, report: dict) -> None:
        """One re-scoring (``ml.training.rescore``'s report); reports without probabilities are skipped."""
        probabilities = report.get("probabilities")
        if probabilities is None:
            return
        values = np.asarray(probabilities, dtype=np.float64)
        if values.shape != (len(self._class_names),):
            self.set_class_names([str(index) for index in range(values.size)])
        steps = int(report.get("steps") or 0)
        x = int(report["epoch"]) - 1 + (int(report["batch"]) / steps if steps else 1.0)
        self._points.append(x, *values)
        columns = self._points.columns()
        lone = len(columns[0]) == 1  # a run stopped before its first re-scoring: one point, drawn as a dot
        for index, line in enumerate(self._lines):
            line.setData(columns[0], columns[1 + index], symbol="o" if lone else None, symbolSize=6,
                         symbolPen=None, symbolBrush=line.opts["pen"].color())  # fmt: skip
        top = set(np.argsort(values)[::-1][:LABELLED].tolist())
        for index, label in enumerate(self._labels):
            label.setText(self._class_names[index] if index in top and values[index] > 0.02 else "")
            label.setAnchor((1, 0) if values[index] > 0.5 else (1, 1))  # below a high line, above a low one
            label.setPos(x, float(values[index]))

    def _make_lines(self) -> None:
        plot = self.getPlotItem()
        for item in self._lines + self._labels:
            plot.removeItem(item)
        self._lines, self._labels = [], []
        self._points = CurveBuffer(1 + len(self._class_names), 256)
        for index in range(len(self._class_names)):
            color = QColor(CLASS_COLORS[index % len(CLASS_COLORS)])
            self._lines.append(plot.plot([], [], pen=pg.mkPen(color, width=2), name=self._class_names[index]))
            label = pg.TextItem("", color=color, anchor=(1, 1))  # above the line's newest point, inside the plot
            plot.addItem(label)
            self._labels.append(label)
