"""Robustness: accuracy against rotation, scale, shift, stroke thickness and noise, one plot each, and a second
model's curves over them to compare."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.evaluate.hints import wrapped_hint
from app.evaluate.worker import ROBUSTNESS_SAMPLE
from ml.plurals import plural

SWEEP_PLACEHOLDER = (
    f"The sweep scores {ROBUSTNESS_SAMPLE:,} images of the set (all of a smaller one) at each level of five "
    "distortions."
)
SWEEP_HINT = (
    "At the undistorted level of each curve (0°, scale 1, no shift, the stroke as drawn, no noise), the point is the "
    f"accuracy of the sweep's own sample as it is: the same {ROBUSTNESS_SAMPLE:,} images (all of a smaller set) at "
    "every level, so it can differ a little from the Numbers tab's accuracy, which counts every image of the set. "
    "Solid: the active model; dashed: the overlay."
)
KINDS = ("rotation", "scale", "shift", "thickness", "noise")
AXIS_LABELS = {
    "rotation": "rotation (degrees)",
    "scale": "scale (factor)",
    "shift": "shift (pixels)",
    "thickness": "stroke (− thinner, + thicker)",
    "noise": "Gaussian noise (σ)",
}
ACTIVE_COLOR = "#1f77b4"
OTHER_COLOR = "#ff7f0e"


class RobustnessView(QWidget):
    """Five small accuracy curves; ``sweep_requested`` runs the active model, ``overlay_requested(source)`` another
    (``"previous"`` or ``"file"``)."""

    sweep_requested = Signal()
    overlay_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sweep_button = QPushButton("Run the sweep")
        self.sweep_button.setToolTip("Accuracy of the active model on the chosen set, rotated, scaled, shifted, …")
        self.previous_button = QPushButton("Overlay the previous model")
        self.file_button = QPushButton("Overlay a model file…")
        self.sweep_button.clicked.connect(self.sweep_requested)
        self.previous_button.clicked.connect(lambda: self.overlay_requested.emit("previous"))
        self.file_button.clicked.connect(lambda: self.overlay_requested.emit("file"))
        self.status_label = QLabel(SWEEP_PLACEHOLDER)
        self.status_label.setWordWrap(True)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.plots.setObjectName("RobustnessPlots")
        self.items: dict[str, pg.PlotItem] = {}
        self.active_curves: dict[str, pg.PlotDataItem] = {}
        self.other_curves: dict[str, pg.PlotDataItem] = {}
        for index, kind in enumerate(KINDS):
            plot = self.plots.addPlot(row=index // 3, col=index % 3, title=kind)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(x=False, y=False)
            plot.setLabel("bottom", AXIS_LABELS[kind])
            plot.setLabel("left", "accuracy")
            plot.setYRange(0, 1.02, padding=0)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            plot.showGrid(x=True, y=True, alpha=0.25)
            self.active_curves[kind] = plot.plot(
                [], [], pen=pg.mkPen(ACTIVE_COLOR, width=2), symbol="o", symbolSize=5, symbolBrush=ACTIVE_COLOR
            )
            other_pen = pg.mkPen(OTHER_COLOR, width=2, style=Qt.PenStyle.DashLine)
            self.other_curves[kind] = plot.plot(
                [], [], pen=other_pen, symbol="t", symbolSize=5, symbolBrush=OTHER_COLOR
            )
            self.items[kind] = plot
        self.legend_label = QLabel("")
        buttons = QHBoxLayout()
        buttons.addWidget(self.sweep_button)
        buttons.addWidget(self.previous_button)
        buttons.addWidget(self.file_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.legend_label)
        layout.addWidget(wrapped_hint(SWEEP_HINT))

    def show_curves(self, curves: dict, name: str, images: int | None = None) -> None:
        """The active model's curves: ``{kind: [(level, accuracy), ...]}`` (measured on ``images`` images)."""
        self._set(self.active_curves, curves)
        if curves and images:
            distorted = sum(len(points) for points in curves.values()) - len(curves)  # one undistorted level each
            self.status_label.setText(
                f"{name}: {plural(images, 'image')}, each scored as is and at {distorted} distortions."
            )
        self.active_name = name
        self._update_legend()

    def show_overlay(self, curves: dict | None, name: str = "") -> None:
        """A second model's curves (None removes them)."""
        self._set(self.other_curves, curves or {})
        self.other_name = name if curves else ""
        self._update_legend()

    def set_buttons_enabled(self, sweep: bool, previous: bool, file: bool) -> None:
        """Which requests are possible now."""
        self.sweep_button.setEnabled(sweep)
        self.previous_button.setEnabled(previous)
        self.file_button.setEnabled(file)

    def clear(self) -> None:
        """No curves."""
        self._set(self.active_curves, {})
        self._set(self.other_curves, {})
        self.active_name = self.other_name = ""
        self.status_label.setText(SWEEP_PLACEHOLDER)  # not the figures of a sweep no longer shown
        self._update_legend()

    active_name = ""
    other_name = ""

    def _update_legend(self) -> None:
        parts = []
        if self.active_name:
            parts.append(f"<span style='color:{ACTIVE_COLOR}'>━ {self.active_name}</span>")
        if self.other_name:
            parts.append(f"<span style='color:{OTHER_COLOR}'>╍ {self.other_name}</span>")
        self.legend_label.setText("&nbsp;&nbsp;&nbsp;".join(parts))

    @staticmethod
    def _set(items: dict[str, pg.PlotDataItem], curves: dict) -> None:
        for kind, item in items.items():
            points = curves.get(kind) or []
            item.setData([float(level) for level, _ in points], [float(accuracy) for _, accuracy in points])
