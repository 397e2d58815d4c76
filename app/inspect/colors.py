"""Colour scales for layer outputs, kernels and evidence: numpy values in, QImages with crisp pixels out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage

SEQUENTIAL = "inferno"  # outputs that are never negative (after ReLU, pooling, softmax)
DIVERGING = "CET-D1"  # outputs and kernels with both signs: blue below zero, red above, pale at zero
_LUT_SIZE = 256
_LUTS: dict[str, np.ndarray] = {}


def lookup_table(name: str) -> np.ndarray:
    """A (256, 4) uint8 RGBA table of the named pyqtgraph colour map (made once)."""
    table = _LUTS.get(name)
    if table is None:
        rgb = pg.colormap.get(name).getLookupTable(nPts=_LUT_SIZE, alpha=False).astype(np.uint8)
        table = np.concatenate([rgb, np.full((_LUT_SIZE, 1), 255, np.uint8)], axis=1)
        _LUTS[name] = table
    return table


@dataclass(frozen=True)
class ColorScale:
    """One colour scale: a colour map and the value range it spans (one per layer, shown by its legend)."""

    low: float
    high: float
    cmap: str

    @classmethod
    def for_values(cls, values: np.ndarray | None) -> ColorScale:
        """Sequential from the smallest value for non-negative outputs, diverging around zero otherwise."""
        if values is None or values.size == 0:
            return cls(0.0, 1.0, SEQUENTIAL)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return cls(0.0, 1.0, SEQUENTIAL)
        low, high = float(finite.min()), float(finite.max())
        if low < 0.0:
            bound = max(-low, high, 1e-12)
            return cls(-bound, bound, DIVERGING)
        if not high > low:  # one value for all: any span; scaled to the value, since 1e31 + 1.0 == 1e31
            high = low + max(1.0, abs(low) * 1e-6)
        return cls(low, high, SEQUENTIAL)

    def indices(self, values: np.ndarray) -> np.ndarray:
        """Each value's row in the lookup table (NaN as the lowest colour)."""
        span = (self.high - self.low) or 1.0  # never zero, whatever the scale was made with
        scaled = (np.nan_to_num(values, nan=self.low) - self.low) * ((_LUT_SIZE - 1) / span)
        return np.clip(scaled, 0, _LUT_SIZE - 1).astype(np.uint8)

    def colorize(self, values: np.ndarray) -> np.ndarray:
        """RGBA uint8 pixels (..., 4) of ``values`` on this scale."""
        return lookup_table(self.cmap)[self.indices(values)]


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """An (H, W, 4) uint8 RGBA array as a QImage that owns a copy of the pixels."""
    pixels = np.ascontiguousarray(rgba, dtype=np.uint8)
    height, width = pixels.shape[:2]
    return QImage(pixels.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()
