"""The wide canvas option: View ▸ Wide canvas (numbers) makes the drawing 3:1, room for a number; remembered."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSplitter

from app.draw.canvas import DrawingCanvas
from app.draw.stage_strip import StageStrip

SETTING = "canvas/wide"
SQUARE_SHARE = 440 / 1360
"""The square drawing's share of the window's width (the panel beside it gets the rest)."""
WIDE_SHARE = 0.64
"""The wide drawing's share: most of the width, the panel keeps its bars."""


class WideCanvasOption(QObject):
    """Owns the checkable action that switches the canvas between square and 3:1, and gives the wide canvas room."""

    def __init__(
        self,
        canvas: DrawingCanvas,
        settings: QSettings,
        splitter: QSplitter | None = None,
        parent: QObject | None = None,
        stages: StageStrip | None = None,
    ) -> None:
        """``splitter``: the canvas beside the prediction panel (the wide canvas gets most of its width); ``stages``:
        the panel's preprocessing stages, which keep their width beside the wide canvas."""
        super().__init__(parent)
        self._stages = stages
        self._canvas = canvas
        self._settings = settings
        self._splitter = splitter
        self.action = QAction("&Wide canvas (numbers)", self)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence("Ctrl+Shift+W"))
        self.action.setToolTip("A 3:1 drawing area to write a number on (Ctrl+Shift+W); off: the square one")
        self.action.setStatusTip("Write a whole number on a 3:1 drawing area; each digit is boxed and read")
        self.action.toggled.connect(self._on_toggled)
        self.action.setChecked(bool(settings.value(SETTING, False, type=bool)))

    def give_room(self, total: int | None = None) -> None:
        """Split ``total`` pixels (default: the splitter's own) between the canvas and the panel for its shape."""
        if self._splitter is None or self._splitter.count() != 2:
            return
        total = total or sum(self._splitter.sizes()) or self._splitter.width()
        share = WIDE_SHARE if self._canvas.wide else SQUARE_SHARE
        if total > 0:
            self._splitter.setSizes([round(total * share), total - round(total * share)])

    @Slot(bool)
    def _on_toggled(self, wide: bool) -> None:
        if self._stages is not None:  # first, so that the panel's minimum is known when the room is given
            self._stages.reserve_drawing_stages(wide)
        self._canvas.set_wide(wide)
        self._settings.setValue(SETTING, wide)
        self.give_room()
