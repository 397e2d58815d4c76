"""The filters view: the learned kernels of each conv layer as small images (deeper layers: mean over inputs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.inspect.colors import DIVERGING, ColorScale
from app.inspect.maps import ColorLegend, MapMosaic, format_range
from app.inspect.network_view import format_shape


def kernel_scale(kernels: np.ndarray) -> ColorScale:
    """A diverging scale symmetric around zero: blue weights subtract, red weights add."""
    finite = kernels[np.isfinite(kernels)]
    bound = float(np.abs(finite).max()) if finite.size else 1.0
    return ColorScale(-max(bound, 1e-12), max(bound, 1e-12), DIVERGING)


class FilterRow(QFrame):
    """One conv layer's kernels, as a mosaic with its legend."""

    def __init__(self, bank: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = (bank["layer"], bank.get("tower"), tuple(np.shape(bank["kernels"])))
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.legend = ColorLegend()
        self.mosaic = MapMosaic(max_tile=36)
        self.mosaic.describe = self._describe
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title, 1)
        header.addWidget(self.legend, 0, Qt.AlignmentFlag.AlignRight)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 6)
        layout.setSpacing(3)
        layout.addLayout(header)
        layout.addWidget(self.mosaic)
        self.bank = bank
        self.set_bank(bank)

    def set_bank(self, bank: dict) -> None:
        """New weights for the same layer (an epoch later): recolour."""
        self.bank = bank
        kernels = np.asarray(bank["kernels"], dtype=np.float32)
        scale = kernel_scale(kernels)
        self.mosaic.set_maps(kernels, scale)
        self.legend.set_scale(scale)
        count, height, width = kernels.shape
        tower = f" · {bank['tower']}" if bank.get("tower") else ""
        note = f" · {bank['note']}" if bank.get("note") else ""
        self.title.setText(f"<b>{bank['layer']}</b> · {count} kernels {height}×{width}{tower}{note}")

    def _describe(self, index: int | None) -> str:
        if index is None:
            return ""
        kernel = self.mosaic.maps[index]
        return (
            f"{self.bank['layer']}, kernel {index} ({format_shape(kernel.shape)})\n"
            f"weights {format_range(float(kernel.min()), float(kernel.max()))}"
        )


class FiltersView(QWidget):
    """Every conv layer's kernels; refreshed when the model changes and at each training epoch's end."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[FilterRow] = []
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet("color: palette(placeholder-text);")
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.rows_widget = QWidget()
        self._rows_layout = QVBoxLayout(self.rows_widget)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.addStretch(1)
        scroller = QScrollArea()
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroller.setWidget(self.rows_widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(self.message)
        layout.addWidget(scroller, 1)
        self.show_filters([], "")

    @property
    def rows(self) -> list[FilterRow]:
        """One row per conv layer."""
        return list(self._rows)

    def show_message(self, text: str) -> None:
        """Say why there are no kernels to show (no model, the model's filters being read, a failure)."""
        self.message.setText(text)
        self.message.setVisible(bool(text) and not self._rows)

    def show_filters(self, banks: Sequence[dict], source: str) -> None:
        """Show ``ml.inspect.filters.FilterBank``s as dicts; ``source`` says whose weights (model, epoch)."""
        keys = [(bank["layer"], bank.get("tower"), tuple(np.shape(bank["kernels"]))) for bank in banks]
        if keys != [row.key for row in self._rows]:
            for row in self._rows:
                self._rows_layout.removeWidget(row)
                row.hide()  # at once: deleteLater waits while a dialog runs its own event loop
                row.deleteLater()
            self._rows = []
            for position, bank in enumerate(banks):
                row = FilterRow(bank)
                self._rows_layout.insertWidget(position, row)
                self._rows.append(row)
        else:
            for row, bank in zip(self._rows, banks, strict=True):
                row.set_bank(bank)
        self.caption.setText(source)
        self.caption.setVisible(bool(source) and bool(banks))
        if not banks:
            self.message.setText(
                "This model has no convolution layers, so it has no filters to show." if source else "No model yet."
            )
        self.message.setVisible(not banks)
