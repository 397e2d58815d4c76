"""Calibration: a reliability diagram (15 confidence bins), the ECE before and after temperature scaling, Calibrate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.evaluate.hints import wrapped_hint

EMPTY_BIN = 0.1  # drawn at the fill level (log10 = -1), below the axis: no bar
RAW_COLOR = "#1f77b4"
CALIBRATED_COLOR = "#ff7f0e"
RAW_TEXT = "#1f4e79"  # each bar's count, in a darker shade of its colour
CALIBRATED_TEXT = "#a0500a"
SMALL_COUNTS = 0.8  # the counts' font scale when two bars share a bin


def ece_text(ece: float | None) -> str:
    """``0.14 %`` (ECE as a share of predictions), or ``—``."""
    return "—" if ece is None or not np.isfinite(ece) else f"{ece * 100:.2f} %"


class CalibrationView(QWidget):
    """The reliability diagram of the raw (and calibrated) probabilities, with the ECE and a Calibrate button."""

    calibrate_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ece_label = QLabel("Run an evaluation to see how far the model's confidence can be trusted.")
        self.ece_label.setWordWrap(True)
        self.calibrate_button = QPushButton("Calibrate")
        self.calibrate_button.setToolTip(
            "Fit temperature scaling on the validation split (never the test set) and store it in the model"
        )
        self.calibrate_button.clicked.connect(self.calibrate_requested)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("ReliabilityPlot")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setLabel("bottom", "confidence (the predicted class's probability)")
        self.plot.setLabel("left", "accuracy")
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1.07), padding=0.01)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.legend = self.plot.addLegend(offset=(10, 10))
        diagonal = pg.PlotDataItem(
            [0, 1], [0, 1], pen=pg.mkPen("#888888", width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
        )
        self.plot.addItem(diagonal)
        self.legend.addItem(diagonal, "perfectly calibrated")
        self.raw_bars = pg.BarGraphItem(x=[], height=[], width=0.0, brush=QColor(31, 119, 180, 150), pen=RAW_COLOR)
        self.calibrated_bars = pg.BarGraphItem(
            x=[], height=[], width=0.0, brush=QColor(255, 127, 14, 110), pen=CALIBRATED_COLOR
        )
        self.plot.addItem(self.raw_bars)
        self.plot.addItem(self.calibrated_bars)
        self.legend.addItem(self.raw_bars, "as the model says")
        self.count_texts: list[pg.TextItem] = []  # how many predictions each raw bar holds
        self.calibrated_count_texts: list[pg.TextItem] = []  # and each calibrated bar
        self._show_calibrated_in_legend(False)  # listed only while its bars are drawn
        self.counts_plot = pg.PlotWidget(background="w")
        self.counts_plot.setMenuEnabled(False)
        self.counts_plot.hideButtons()
        self.counts_plot.setMouseEnabled(x=False, y=False)
        self.counts_plot.setLabel("left", "predictions")
        self.counts_plot.setLogMode(x=False, y=True)
        self.counts_plot.setXLink(self.plot)
        self.counts_plot.setMaximumHeight(130)
        self.counts_curve = pg.PlotDataItem(
            [], [], stepMode="center", fillLevel=-1, brush=(31, 119, 180, 90), pen=RAW_COLOR
        )
        self.calibrated_counts_curve = pg.PlotDataItem(
            [], [], stepMode="center", pen=pg.mkPen(CALIBRATED_COLOR, width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
        )
        self.counts_plot.addItem(self.counts_curve)
        self.counts_plot.addItem(self.calibrated_counts_curve)
        top = QHBoxLayout()
        top.addWidget(self.ece_label, 1)
        top.addWidget(self.calibrate_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status_label)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.counts_plot)
        layout.addWidget(
            wrapped_hint(
                "Each bar: the predictions whose confidence fell in that bin (their number above it), and how often "
                "they were right. A bar below the diagonal means over-confidence. ECE: the gap between confidence "
                "and accuracy, weighted by the predictions in each bin. Below: how many predictions fell in each bin "
                "(log scale; dashed, once calibrated: after temperature scaling)."
            )
        )
        self.set_calibrate_enabled(False)

    def show_reliability(
        self,
        raw: Any,
        ece: float,
        calibrated: Any = None,
        ece_calibrated: float | None = None,
        temperature: float | None = None,
    ) -> None:
        """Draw ``ml.evaluation.calibration.Reliability`` bins: the raw ones, and the calibrated ones (if any)."""
        self._set_bars(self.raw_bars, raw, offset=-0.25 if calibrated is not None else 0.0)
        self._set_bars(self.calibrated_bars, calibrated, offset=0.25)
        self._show_calibrated_in_legend(calibrated is not None)
        paired = calibrated is not None  # two half-width bars a bin: smaller counts, so that neighbours fit
        self._label_counts(self.count_texts, raw, offset=-0.25 if paired else 0.0, color=RAW_TEXT, small=paired)
        self._label_counts(self.calibrated_count_texts, calibrated, offset=0.25, color=CALIBRATED_TEXT, small=True)
        counts = np.asarray(raw.counts, dtype=float)
        self.counts_curve.setData(raw.edges, np.where(counts > 0, counts, EMPTY_BIN))  # an empty bin: no bar
        most = counts.max()
        if calibrated is None:
            self.calibrated_counts_curve.setData([], [])
        else:
            calibrated_counts = np.asarray(calibrated.counts, dtype=float)
            self.calibrated_counts_curve.setData(
                calibrated.edges, np.where(calibrated_counts > 0, calibrated_counts, EMPTY_BIN)
            )
            most = max(most, calibrated_counts.max())
        self.counts_plot.setYRange(-0.3, np.log10(max(most, 1.0)) + 0.2, padding=0)
        if temperature is None:
            self.ece_label.setText(
                f"ECE {ece_text(ece)} (15 bins). The model has no temperature yet: Calibrate fits one on the "
                "validation split."
            )
        else:
            self.ece_label.setText(
                f"ECE {ece_text(ece)} as the model says; {ece_text(ece_calibrated)} after temperature scaling "
                f"(T = {temperature:.3g}, stored in the model)."
            )

    def _show_calibrated_in_legend(self, shown: bool) -> None:
        """List "after temperature scaling" in the legend only when its bars are drawn."""
        listed = any(sample.item is self.calibrated_bars for sample, _label in self.legend.items)
        if shown and not listed:
            self.legend.addItem(self.calibrated_bars, "after temperature scaling")
        elif listed and not shown:
            self.legend.removeItem(self.calibrated_bars)

    def _label_counts(self, texts: list[pg.TextItem], bins: Any, offset: float, color: str, small: bool) -> None:
        """Each bar's number of predictions above it (text items made once, reused; none without ``bins``)."""
        counts = np.zeros(0, dtype=np.int64) if bins is None else np.asarray(bins.counts)
        while len(texts) < len(counts):
            text = pg.TextItem("", color=color, anchor=(0.5, 1.0))
            self.plot.addItem(text)
            texts.append(text)
        font = QFont(self.font())
        if small:
            font.setPointSizeF(font.pointSizeF() * SMALL_COUNTS)
        for index, text in enumerate(texts):
            shown = index < len(counts) and counts[index] > 0
            text.setVisible(bool(shown))
            if shown:
                text.setFont(font)
                text.setText(f"{int(counts[index]):,}")
                low, high = bins.edges[index], bins.edges[index + 1]
                text.setPos((low + high) / 2 + offset * (high - low), float(bins.accuracy[index]) + 0.005)

    def set_calibrate_enabled(self, enabled: bool) -> None:
        """Calibrate is possible (an evaluation is shown and no job runs)."""
        self.calibrate_button.setEnabled(enabled)

    def set_status(self, text: str) -> None:
        """A line under the figures (what calibration did)."""
        self.status_label.setText(text)

    def clear(self) -> None:
        """No diagram."""
        for bars in (self.raw_bars, self.calibrated_bars):
            bars.setOpts(x=[], height=[], width=0.0)
        for text in self.count_texts + self.calibrated_count_texts:
            text.setVisible(False)
        self._show_calibrated_in_legend(False)
        self.counts_curve.setData([], [])
        self.calibrated_counts_curve.setData([], [])
        self.ece_label.setText("Run an evaluation to see how far the model's confidence can be trusted.")
        self.status_label.setText("")

    @staticmethod
    def _set_bars(bars: pg.BarGraphItem, bins: Any, offset: float) -> None:
        if bins is None:
            bars.setOpts(x=[], height=[], width=0.0)
            return
        widths = np.diff(bins.edges)
        filled = np.asarray(bins.counts) > 0
        half = widths / (2.0 if offset else 1.0)
        centres = (bins.edges[:-1] + bins.edges[1:]) / 2 + offset * widths
        heights = np.nan_to_num(np.asarray(bins.accuracy, dtype=float))
        bars.setOpts(x=centres[filled], height=heights[filled], width=half[filled] * 0.95)
