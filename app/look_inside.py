"""Wires the "Look inside" dock (app.inspect) to the canvas and the prediction (app.draw), and the drawing to
training (app.train: re-scored as the model learns, its filters shown at each epoch's end)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QToolBar

from app.inspect.dock import LookInsideDock, dock_area

if TYPE_CHECKING:
    from app.main_window import MainWindow


def add_look_inside(window: MainWindow) -> LookInsideDock:
    """Add the dock as a tab beside Training (View ▸ Look inside) and connect it; call after the window's own wiring,
    so that each prediction is shown before it is inspected."""
    dock = LookInsideDock(window.models, window)
    window.addDockWidget(dock_area(), dock)
    dock.hide()  # until asked for (View ▸ Look inside, Ctrl+L, the tool bar): the window stays as it was
    dock.action.triggered.connect(lambda checked: checked and _tab_beside_training(window, dock))
    toolbar = window.findChild(QToolBar, "ToolsToolBar")
    if toolbar is not None:
        toolbar.addAction(dock.action)
    window.view_menu.addAction(dock.action)
    dock.stroke_in_progress = window.canvas.stroke_in_progress  # Integrated Gradients waits for the stroke's end
    window.models.model_loaded.connect(dock.set_model)
    window.models.prediction_finished.connect(dock.show_prediction)
    window.canvas.changed.connect(lambda: _follow_blank_drawing(window, dock))
    window.prediction.class_clicked.connect(dock.explain_class)
    dock.picture_overlay_changed.connect(window.canvas.set_overlay)
    dock.input_overlay_changed.connect(window.prediction.set_overlay)
    window.models.prediction_finished.connect(window.training_panel.set_drawing)  # re-scored while a run learns
    window.training_panel.filters_trained.connect(dock.show_training_filters)
    return dock


def _tab_beside_training(window: MainWindow, dock: LookInsideDock) -> None:
    """The first time it opens, the dock becomes a tab beside Training (the full width for the layers); made a tab
    only then, because a hidden tab in the training dock's area keeps that dock from following the window's height."""
    if dock.isFloating() or window.tabifiedDockWidgets(dock) or window.dockWidgetArea(dock) != dock_area():
        return
    window.tabifyDockWidget(window.training_dock, dock)
    dock.raise_()


def _follow_blank_drawing(window: MainWindow, dock: LookInsideDock) -> None:
    """A blank canvas gets no prediction (the window shows "Draw a digit"): clear the evidence, and a run started
    now has no drawing to re-score."""
    if window.prediction.model_input.pixels is None:
        dock.drawing_cleared()
        window.training_panel.set_drawing({"blank": True, "image": None, "error": None})
