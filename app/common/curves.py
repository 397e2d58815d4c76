"""Loss and accuracy curves of a training run or a teach: batch and epoch figures, and the plots that draw them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QGraphicsItem,
    QHBoxLayout,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

LOSS_AXIS_HEADROOM = 1.15  # the loss axis grows to 15 % above the data, so that small rises do not move it
LOG_AXIS_MARGIN = 0.1  # decades of room above and below the data on the log-scale loss axis
LOG_AXIS_STEP = 0.5  # the log axis moves in half decades, so that a falling loss does not re-lay it out each refresh
SMALLEST_LOSS = 1e-6  # un-averaged per-batch losses can dip to (or a hair below) 0; the log axis needs them positive
LOG_LABEL_SPACING = 1.5  # on the log axis, labels sit at least 1.5 lines apart (centre to centre)
LOG_MINOR_TICK_SPACING = 3.0  # the unlabelled ticks at 2..9 × each decade need 3 px between them, or are left out
# The values labelled within each decade on the log axis, finest first: the first whose closest pair fits is used.
LOG_LABEL_MANTISSAS: tuple[tuple[int, ...], ...] = ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1, 3), (1,))
LOG_DECADE_STEPS = (1, 2, 5, 10, 20, 50, 100)  # then every n-th decade only
TRAINING_COLOR = "#1f77b4"
VALIDATION_COLOR = "#ff7f0e"
TEST_LABEL_ANCHOR = (1.0, -0.25)  # the test accuracy's label: right-aligned, a quarter of its height below its line


def cache_rendering(item: QGraphicsItem) -> None:
    """Keep a pixmap of ``item`` so that repainting what lies under it (a curve) does not redraw it."""
    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


ACCURACY_MARGIN_PX = 6
"""Room above 1 and below 0 on the accuracy axis: a validation marker's radius (4) and its white rim, drawn whole."""


class EpochAxis(pg.AxisItem):
    """An x axis in epochs: ticks only at whole epochs (1, 2, 5, 10… apart), even before any data arrives."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802
        """pyqtgraph's spacings, without those finer than one epoch."""
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size) if spacing >= 1]
        return levels or [(1.0, 0.0)]


def decade_ticks(low: float, high: float, mantissas: Sequence[int], decade_step: int = 1) -> list[float]:
    """The positions (log10 of the values) of m × 10ⁿ in [``low``, ``high``], for each m in ``mantissas`` and each
    ``decade_step``-th decade n."""
    positions = []
    for decade in range(math.floor(low) - 1, math.ceil(high) + 1):
        if decade % decade_step == 0:
            positions.extend(decade + math.log10(mantissa) for mantissa in mantissas)
    return [position for position in positions if low - 1e-9 <= position <= high + 1e-9]


class LossAxis(pg.AxisItem):
    """A y axis for the loss whose log scale labels only what its height leaves room for.

    pyqtgraph labels every 2..9 × 10ⁿ once a range spans under a few decades, stacked on top of each other on a short
    axis ("9·10¹" over "8·10¹"…). Here the labels are the finest of 1-9, 1-2-5, 1-3 or the decades alone (or every
    2nd, 5th… decade) whose closest pair is ``LOG_LABEL_SPACING`` lines apart; the other values get ticks (and grid
    lines) without labels where there is room for them. Labels are plain numbers (0.01, 2, 1e+06), as on the linear
    axis. The linear scale is pyqtgraph's own.
    """

    def _label_room(self) -> float:
        """Pixels between two labels' centres on the log scale."""
        return LOG_LABEL_SPACING * QFontMetricsF(self.style["tickFont"] or QFont()).height()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float | None, list[float]]]:  # noqa: N802
        """On the log scale: the labelled values (spacing 1), then the unlabelled ones (spacing None)."""
        low, high = sorted((minVal, maxVal))
        if not self.logMode or not (math.isfinite(low) and math.isfinite(high)) or high <= low or size <= 0:
            return super().tickValues(minVal, maxVal, size)
        pixels_per_decade = size / (high - low)
        room = self._label_room()
        labelled: list[float] = []
        for mantissas in LOG_LABEL_MANTISSAS:
            closest = min(math.log10(b / a) for a, b in zip(mantissas, (*mantissas[1:], 10), strict=True))
            if closest * pixels_per_decade >= room:
                labelled = decade_ticks(low, high, mantissas)
                break
        else:
            step = next((step for step in LOG_DECADE_STEPS if step * pixels_per_decade >= room), LOG_DECADE_STEPS[-1])
            labelled = decade_ticks(low, high, (1,), step)
        if len(labelled) < 2:  # zoomed in within a decade: evenly spaced values, as a linear axis would label them
            linear = self._linear_ticks(low, high, size)
            labelled = linear if len(linear) > len(labelled) else labelled
        minor = [
            position
            for position in decade_ticks(low, high, range(1, 10))
            if not any(abs(position - label) < 1e-9 for label in labelled)
        ]
        if math.log10(10 / 9) * pixels_per_decade < LOG_MINOR_TICK_SPACING:
            minor = [position for position in minor if abs(position - round(position)) < 1e-9]  # decades only
        return [(1.0, labelled), (None, minor)]

    def _linear_ticks(self, low: float, high: float, size: float) -> list[float]:
        """Positions of round values spaced evenly in value between 10^``low`` and 10^``high``, as many as fit."""
        bottom, top = 10.0**low, 10.0**high
        pixels_per_decade = size / (high - low)
        levels = [spacing for spacing, _offset in self.tickSpacing(bottom, top, size)]
        if not levels:
            return []
        fitting: list[float] = []
        for spacing in (*levels[:1], levels[0] * 2, levels[0] * 5, *levels[1:]):  # pyqtgraph's choice, coarser, finer
            first, last = math.ceil(bottom / spacing), math.floor(top / spacing)
            positions = [math.log10(spacing * index) for index in range(max(first, 1), last + 1)]
            gaps = [b - a for a, b in zip(positions, positions[1:], strict=False)]
            if positions and (not gaps or min(gaps) * pixels_per_decade >= self._label_room()):
                fitting = positions
                if len(positions) >= 2:
                    break
        return fitting

    def tickStrings(self, values: list[float], scale: float, spacing: float | None) -> list[str]:  # noqa: N802
        """On the log scale: plain numbers for the labelled values, nothing for the others."""
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        if spacing is None:
            return [""] * len(values)
        return [f"{10.0**value * scale:.6g}" for value in values]


class CurveBuffer:
    """Growing float columns appended one row at a time, without reallocating on every append."""

    def __init__(self, columns: int, capacity: int = 1024) -> None:
        self._columns = np.empty((columns, capacity), dtype=np.float64)
        self.size = 0

    def append(self, *values: float) -> None:
        """Add one row (one value per column), doubling the storage when full."""
        if self.size == self._columns.shape[1]:
            self._columns = np.concatenate([self._columns, np.empty_like(self._columns)], axis=1)
        self._columns[:, self.size] = values
        self.size += 1

    def clear(self) -> None:
        """Forget every row (keeps the storage)."""
        self.size = 0

    def columns(self) -> tuple[np.ndarray, ...]:
        """Views of the filled part, one array per column."""
        return tuple(self._columns[:, : self.size])


class TrainingSeries:
    """Per-batch training loss/accuracy recovered from Keras's running epoch means, and their moving average.

    Keras reports, after each batch, the mean over the epoch so far; plotted as is that is a saw-tooth that restarts
    every epoch. Un-averaging it gives each batch's own value; an exponential moving average (TensorBoard-style,
    bias-corrected) gives a readable trend across epochs.
    """

    SMOOTHING = 0.9

    def __init__(self, batch_size: int) -> None:
        self.batch_size = max(1, int(batch_size))
        self.points = CurveBuffer(5)  # x, loss, accuracy, smoothed loss, smoothed accuracy
        self._epoch = -1
        self._seen = 0
        self._loss_sum = 0.0
        self._accuracy_sum = 0.0
        self._average = [0.0, 0.0]
        self._average_weight = 0.0

    def add(self, report: dict[str, Any]) -> None:
        """Add one batch report (``epoch``, ``batch``, ``steps``, running ``loss`` and ``accuracy``)."""
        epoch, batch = int(report["epoch"]), int(report["batch"])
        if epoch != self._epoch:
            self._epoch, self._seen, self._loss_sum, self._accuracy_sum = epoch, 0, 0.0, 0.0
        seen = batch * self.batch_size  # the last batch may be smaller: its value is then a little off
        size = max(1, seen - self._seen)
        loss_sum, accuracy_sum = report["loss"] * seen, report["accuracy"] * seen
        batch_loss = (loss_sum - self._loss_sum) / size
        batch_accuracy = min(1.0, max(0.0, (accuracy_sum - self._accuracy_sum) / size))
        self._seen, self._loss_sum, self._accuracy_sum = seen, loss_sum, accuracy_sum
        keep = self.SMOOTHING
        self._average = [
            keep * self._average[0] + (1 - keep) * batch_loss,
            keep * self._average[1] + (1 - keep) * batch_accuracy,
        ]
        self._average_weight = keep * self._average_weight + (1 - keep)
        steps = report.get("steps") or 1
        self.points.append(
            epoch - 1 + batch / steps,
            batch_loss,
            batch_accuracy,
            self._average[0] / self._average_weight,
            self._average[1] / self._average_weight,
        )


class CurvesLegend(pg.GraphicsView):
    """A view of what the curves' lines and markers mean: one row, right-aligned, outside the plots."""

    def __init__(self, items: Sequence[pg.PlotDataItem], foreground: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=None)  # the panel's own colour shows through
        self.legend = pg.LegendItem(colCount=len(items), labelTextColor=foreground, frame=False, horSpacing=4)
        self.legend.layout.setContentsMargins(0, 0, 4, 0)  # no frame to keep clear of
        for item in items:
            self.legend.addItem(item, item.name())
        self.addItem(self.legend)
        self.setMinimumWidth(math.ceil(self.legend.width()))  # never cut (the plots' minimum is wider unless the
        self.setFixedHeight(math.ceil(self.legend.height()))  # validation series has a long name)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # its width from the plots below
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def resizeEvent(self, event: QResizeEvent | None) -> None:  # noqa: N802 - Qt override
        """Keep the legend at the right end, above the accuracy plot."""
        super().resizeEvent(event)
        legend = getattr(self, "legend", None)  # pyqtgraph's __init__ resizes the view before the legend exists
        if legend is not None:
            legend.setPos(max(0.0, self.width() - legend.width()), 0.0)


class LossAccuracyCurves(QWidget):
    """A view of a run's history: training loss/accuracy per batch (lines), validation per epoch (markers)."""

    def __init__(self, parent: QWidget | None = None, validation_name: str = "validation, per epoch") -> None:
        super().__init__(parent)
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        foreground = palette.color(QPalette.ColorRole.Text)
        self.loss_plot = self._make_plot("Loss", "loss", background, foreground, LossAxis("left"))
        self.accuracy_plot = self._make_plot("Accuracy", "accuracy", background, foreground)
        self._loss_low = math.inf  # the smallest and largest loss shown in this run
        self._loss_high = 0.0
        self._loss_range: tuple[float, float] | None = None  # the loss axis while it follows the data
        self._loss_follows_data = True
        self.loss_plot.getViewBox().sigRangeChangedManually.connect(self._on_loss_zoomed)
        self._accuracy_follows_size = True  # until the user zooms the accuracy plot
        self.accuracy_plot.getViewBox().sigResized.connect(self._fit_accuracy_range)
        self.accuracy_plot.getViewBox().sigRangeChangedManually.connect(self._on_accuracy_zoomed)
        self.log_scale_button = QToolButton(self.loss_plot)  # in the empty corner between the two axes
        self.log_scale_button.setText("log")
        self.log_scale_button.setCheckable(True)
        self.log_scale_button.setAutoRaise(True)
        self.log_scale_button.setToolTip(
            "Show the loss on a logarithmic axis: the first batches' high loss no longer squashes the rest flat"
        )
        self.log_scale_button.toggled.connect(self.set_log_scale)
        self.training_loss = self._make_per_batch_item(self.loss_plot)
        self.smoothed_training_loss = self._make_smoothed_item(self.loss_plot)
        self.validation_loss = self._make_validation_item(self.loss_plot, validation_name)
        self.training_accuracy = self._make_per_batch_item(self.accuracy_plot)
        self.smoothed_training_accuracy = self._make_smoothed_item(self.accuracy_plot)
        self.validation_accuracy = self._make_validation_item(self.accuracy_plot, validation_name)
        self.items = (
            self.training_loss,
            self.smoothed_training_loss,
            self.validation_loss,
            self.training_accuracy,
            self.smoothed_training_accuracy,
            self.validation_accuracy,
        )
        self.test_accuracy_line = pg.InfiniteLine(
            angle=0,
            movable=False,
            pen=pg.mkPen(foreground, width=1, style=Qt.PenStyle.DotLine),
            label="test {value:.2%}",
            # At the right end, just below the line (99 % is the top): at the left it covered the rising training
            # curve and the first validation point; at the end the curves lie above the test accuracy, and the gap
            # keeps it off the validation markers that sit on the line.
            labelOpts={"position": 1.0, "color": foreground, "anchors": [TEST_LABEL_ANCHOR, TEST_LABEL_ANCHOR]},
        )
        self.test_accuracy_line.setVisible(False)
        self.accuracy_plot.addItem(self.test_accuracy_line, ignoreBounds=True)
        self.log_scale_button.setChecked(True)  # the first batches' loss would squash a linear axis flat
        # One legend for both plots (they draw the three series alike), in a row of its own above them: inside a
        # plot it hid the points in its corner (a run stuck at chance, or any curve in a short dock).
        self.legend_row = CurvesLegend(
            (self.training_accuracy, self.smoothed_training_accuracy, self.validation_accuracy),
            palette.color(QPalette.ColorRole.WindowText),
        )
        plots = QHBoxLayout()
        plots.setSpacing(8)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.accuracy_plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.legend_row)
        layout.addLayout(plots, 1)

    @staticmethod
    def _make_plot(
        title: str, y_label: str, background: QColor, foreground: QColor, y_axis: pg.AxisItem | None = None
    ) -> pg.PlotWidget:
        """A plot with labelled axes, a light grid, clip-to-view and peak downsampling for long series.

        No title row: the y axis names the figure, and the height goes to the curve.
        """
        axes = {"bottom": EpochAxis("bottom"), **({"left": y_axis} if y_axis is not None else {})}
        plot = pg.PlotWidget(background=background, axisItems=axes)
        plot.setMinimumSize(240, 120)
        plot.setAccessibleName(title)
        plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no keyboard use: Tab skips it (its log switch stays a stop)
        item = plot.getPlotItem()
        for side, label in (("bottom", "epoch"), ("left", y_label)):
            axis = item.getAxis(side)
            axis.enableAutoSIPrefix(False)  # plain decimals (0.002), never "loss (x0.001)"
            axis.setLabel(label, color=foreground.name())
            axis.setTextPen(foreground)
            axis.setPen(pg.mkPen(foreground.darker(110) if foreground.lightness() > 128 else foreground.lighter(250)))
            cache_rendering(axis)  # with the grid, each axis spans the view: redrawn (text and all) on every refresh
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.setLimits(xMin=0)
        item.setMenuEnabled(False)
        item.hideButtons()
        return plot

    @staticmethod
    def _make_per_batch_item(plot: pg.PlotWidget) -> pg.PlotDataItem:
        """The per-batch training values: a faint, thin line."""
        color = QColor(TRAINING_COLOR)
        color.setAlpha(70)
        return plot.plot(name="training, per batch", pen=pg.mkPen(color, width=1), skipFiniteCheck=True)

    @staticmethod
    def _make_smoothed_item(plot: pg.PlotWidget) -> pg.PlotDataItem:
        """The moving average of the training values: the main line."""
        # Not antialiased: a wide antialiased polyline costs tens of milliseconds per repaint once it is long.
        return plot.plot(name="training, smoothed", pen=pg.mkPen(TRAINING_COLOR, width=2), skipFiniteCheck=True)

    @staticmethod
    def _make_validation_item(plot: pg.PlotWidget, name: str) -> pg.PlotDataItem:
        """The per-epoch validation markers, joined by a thin dashed line."""
        return plot.plot(
            name=name,
            pen=pg.mkPen(VALIDATION_COLOR, width=1.2, style=Qt.PenStyle.DashLine),
            symbol="o",
            symbolSize=8,
            symbolBrush=VALIDATION_COLOR,
            symbolPen=pg.mkPen("w", width=1),
            antialias=True,
        )

    def show_epochs(self, epochs: int) -> None:
        """Epochs 0..``epochs`` on the x axes, whole-epoch ticks and all, whether or not there is data."""
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setXRange(0, max(1, epochs), padding=0.02)

    def reset(self, epochs: int) -> None:
        """Empty every series and show epochs 0..``epochs`` on the x axes."""
        for item in self.items:
            item.setData([], [])
        self.show_test_accuracy(None)
        self.show_epochs(epochs)
        # Fixed y axes, moved only when needed, spare re-laying out their ticks on every refresh: accuracy lives in
        # [0, 1]; loss starts at 0 and its top grows with the data (see _follow_loss).
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.disableAutoRange(axis="y")
        self._accuracy_follows_size = True
        self._fit_accuracy_range()
        self._loss_low, self._loss_high = math.inf, 0.0
        self._loss_range = None
        self._loss_follows_data = True
        self._show_loss_range()

    def _fit_accuracy_range(self) -> None:
        """Accuracy from 0 to 1, with room in pixels for a marker on either (all held-back samples right: 1.0)."""
        if not self._accuracy_follows_size:
            return
        height = self.accuracy_plot.getViewBox().height()
        margin = ACCURACY_MARGIN_PX / max(height - 2 * ACCURACY_MARGIN_PX, ACCURACY_MARGIN_PX)
        self.accuracy_plot.setYRange(-margin, 1.0 + margin, padding=0)

    @Slot()
    def _on_accuracy_zoomed(self) -> None:
        self._accuracy_follows_size = False  # the user's zoom stays until the next run

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Keep the log-scale switch in the loss plot's bottom-left corner, where no tick or curve is drawn."""
        super().resizeEvent(event)
        button = self.log_scale_button
        button.adjustSize()
        button.move(2, max(0, self.loss_plot.height() - button.height() - 2))

    def show_test_accuracy(self, accuracy: float | None) -> None:
        """Mark the finished run's test accuracy on the accuracy plot (None hides the mark)."""
        shown = accuracy is not None and math.isfinite(accuracy)
        self.test_accuracy_line.setVisible(shown)
        if shown:
            self.test_accuracy_line.setValue(float(accuracy))
            self.test_accuracy_line.label.valueChanged()  # the label ignores changes made while it was hidden

    @property
    def log_scale(self) -> bool:
        """True while the loss axis is logarithmic."""
        return self.log_scale_button.isChecked()

    @Slot(bool)
    def set_log_scale(self, on: bool) -> None:
        """Switch the loss axis between linear (from 0) and logarithmic; it follows the data again."""
        if self.log_scale_button.isChecked() != on:
            self.log_scale_button.setChecked(on)  # toggled calls back here
            return
        self.loss_plot.setLogMode(y=on)
        self._loss_range = None
        self._loss_follows_data = True
        self._show_loss_range()

    def set_training(
        self,
        x: np.ndarray,
        loss: np.ndarray,
        accuracy: np.ndarray,
        smoothed_loss: np.ndarray,
        smoothed_accuracy: np.ndarray,
    ) -> None:
        """Replace the per-batch training series and their moving averages."""
        loss, smoothed_loss = np.maximum(loss, SMALLEST_LOSS), np.maximum(smoothed_loss, SMALLEST_LOSS)
        self.training_loss.setData(x, loss)
        self.training_accuracy.setData(x, accuracy)
        self.smoothed_training_loss.setData(x, smoothed_loss)
        self.smoothed_training_accuracy.setData(x, smoothed_accuracy)
        self._follow_loss(loss, smoothed_loss)

    def set_validation(self, x: np.ndarray, loss: np.ndarray, accuracy: np.ndarray) -> None:
        """Replace the per-epoch validation series."""
        self.validation_loss.setData(x, loss)
        self.validation_accuracy.setData(x, accuracy)
        self._follow_loss(loss)

    def _follow_loss(self, *series: np.ndarray) -> None:
        """Widen the loss axis (with headroom) when the data leaves it, unless the user has zoomed."""
        values = np.concatenate([np.asarray(values, dtype=np.float64).ravel() for values in series])
        values = values[np.isfinite(values)]
        if not values.size:
            return
        self._loss_low = min(self._loss_low, max(float(values.min()), SMALLEST_LOSS))
        self._loss_high = max(self._loss_high, float(values.max()))
        if self._loss_follows_data:
            self._show_loss_range()

    def _show_loss_range(self) -> None:
        """Set the loss axis to hold every loss so far, moving it only when the data has left it."""
        if self.log_scale:
            if self._loss_high <= 0:
                wanted = (-2.0, 1.0)  # 0.01 to 10 until data arrives
            else:
                low, high = math.log10(self._loss_low), math.log10(self._loss_high)
                shown = self._loss_range
                if (
                    shown is not None
                    and shown[0] <= low - LOG_AXIS_MARGIN / 2
                    and high + LOG_AXIS_MARGIN / 2 <= shown[1]
                ):
                    return
                wanted = (
                    math.floor((low - LOG_AXIS_MARGIN) / LOG_AXIS_STEP) * LOG_AXIS_STEP,
                    math.ceil((high + LOG_AXIS_MARGIN) / LOG_AXIS_STEP) * LOG_AXIS_STEP,
                )
        else:
            if self._loss_range is not None and self._loss_high <= self._loss_range[1]:
                return
            wanted = (0.0, self._loss_high * LOSS_AXIS_HEADROOM if self._loss_high > 0 else 1.0)
        self._loss_range = wanted
        self.loss_plot.setYRange(*wanted, padding=0.02)

    @Slot()
    def _on_loss_zoomed(self) -> None:
        """The user panned or zoomed the loss plot: leave its range alone until the next run."""
        self._loss_follows_data = False
