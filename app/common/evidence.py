"""Evidence overlays: where a class's evidence for (orange) and against (blue) lies, as translucent pixels."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

FOR_COLOR = QColor(234, 88, 12)  # evidence for the class: orange
AGAINST_COLOR = QColor(37, 99, 235)  # evidence against: blue
FAINT = 0.15  # evidence under this share of its map's maximum is not drawn, so the picture stays readable


def evidence_rgba(positive: np.ndarray | None, negative: np.ndarray | None, opacity: float) -> np.ndarray:
    """Evidence for (orange) and against (blue) as translucent RGBA pixels; each map is scaled to its own maximum.

    Alpha grows with the evidence's strength (none below :data:`FAINT`) times ``opacity``; where both are present
    the stronger one wins.
    """
    reference = positive if positive is not None else negative
    if reference is None:
        raise ValueError("No evidence map to draw.")
    shape = np.asarray(reference).shape
    strength_for = _unit(positive, shape)
    strength_against = _unit(negative, shape)
    against_wins = strength_against > strength_for
    strength = np.where(against_wins, strength_against, strength_for)
    rgba = np.empty((*shape, 4), dtype=np.uint8)
    for channel, (for_value, against_value) in enumerate(
        zip(FOR_COLOR.getRgb()[:3], AGAINST_COLOR.getRgb()[:3], strict=True)
    ):
        rgba[..., channel] = np.where(against_wins, against_value, for_value)
    faint = np.clip((strength - FAINT) / (1.0 - FAINT), 0.0, 1.0)  # the weakest evidence stays clear
    rgba[..., 3] = (faint * (255.0 * float(np.clip(opacity, 0.0, 1.0)))).astype(np.uint8)
    return rgba


def _unit(values: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` (>= 0) divided by their maximum, or zeros."""
    if values is None:
        return np.zeros(shape, dtype=np.float32)
    array = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0).clip(0.0, None)
    top = float(array.max()) if array.size else 0.0
    return array / top if top > 0 else np.zeros(shape, dtype=np.float32)


def evidence_qimage(positive: np.ndarray | None, negative: np.ndarray | None, opacity: float) -> QImage:
    """:func:`evidence_rgba` as a QImage that owns its pixels."""
    rgba = np.ascontiguousarray(evidence_rgba(positive, negative, opacity))
    height, width = rgba.shape[:2]
    return QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()
