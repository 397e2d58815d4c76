"""Model ▸ Evaluate…: the evaluation workspace's action and window, following the active model.

The main window only adds the action to its menu and hands ``image_chosen`` to the draw room's image input, as it
would a dropped image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QWidget

from app.models.controller import ModelController

if TYPE_CHECKING:
    from app.evaluate.workspace import EvaluationWorkspace


class ModelEvaluation(QObject):
    """Owns the Evaluate… action and the workspace (made when first opened); stores what Calibrate fits."""

    image_chosen = Signal(object, str)  # a 2-D image in [0, 1] (white on black) and what it is, in words

    def __init__(self, models: ModelController, settings: QSettings, window: QWidget) -> None:
        super().__init__(window)
        self.models = models
        self.settings = settings
        self.window = window
        self.description: dict | None = None
        self.workspace: EvaluationWorkspace | None = None
        self.action = QAction("&Evaluate…", window)  # the window puts it in the Model menu
        self.action.setShortcut(QKeySequence("Ctrl+E"))
        self.action.setToolTip("Judge the active model: confusion matrix, mistakes, calibration, robustness, …")
        self.action.setEnabled(False)
        self.action.triggered.connect(self.open)
        models.model_loaded.connect(self._follow)
        models.model_saved.connect(self._follow)
        models.model_set_aside.connect(self._follow)

    @Slot()
    def open(self) -> EvaluationWorkspace:
        """Show the workspace (made on first use) in front."""
        if self.workspace is None:
            from app.evaluate.workspace import EvaluationWorkspace  # its views load when first opened, not at start-up

            self.workspace = EvaluationWorkspace(self.settings, self.window)
            self.workspace.image_chosen.connect(self._on_image_chosen)
            self.workspace.calibration_fitted.connect(self.models.store_calibration)
            if self.description is not None:
                self.workspace.set_model(self.description)
        self.workspace.show()
        bring_to_front(self.workspace)
        return self.workspace

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop a running job and wait for its thread (also done when the application quits)."""
        return True if self.workspace is None else self.workspace.runner.shutdown(timeout_ms)

    @Slot(dict)
    def _follow(self, description: dict) -> None:
        self.description = description
        self.action.setEnabled(True)
        if self.workspace is not None:
            self.workspace.set_model(description)

    @Slot(object, str)
    def _on_image_chosen(self, image, description: str) -> None:
        self.image_chosen.emit(image, description)
        bring_to_front(self.window)


def bring_to_front(window: QWidget) -> None:
    """Raise and activate a top-level window (offscreen, as in the tests, there is no front to bring it to)."""
    if QGuiApplication.platformName() != "offscreen":
        window.raise_()
        window.activateWindow()
