"""Wires the "Look inside" dock (app.inspect) to the canvas and the prediction (app.draw), and the drawing to
training (app.train: re-scored as the model learns, its filters shown at each epoch's end). For a number, the digit
chosen on the canvas is looked inside, its evidence drawn over that digit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QToolBar

from app.draw.strokes import is_flat
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
    dock.canvas_has_drawing = lambda: not is_flat(window.canvas.prediction_input())  # as the window's own test
    window.models.model_loaded.connect(dock.set_model)
    window.models.prediction_finished.connect(lambda result: _follow_prediction(window, dock, result))
    window.numbers.digit_chosen.connect(lambda index: _follow_number_digit(window, dock, index))
    window.canvas.changed.connect(lambda: _follow_blank_drawing(window, dock))
    window.prediction.class_clicked.connect(dock.explain_class)
    dock.picture_overlay_changed.connect(window.canvas.set_overlay)
    dock.input_overlay_changed.connect(window.prediction.set_overlay)
    window.training_panel.filters_trained.connect(dock.show_training_filters)
    window.training_panel.running_changed.connect(dock.training_running_changed)
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


def _follow_prediction(window: MainWindow, dock: LookInsideDock, result: dict) -> None:
    """A prediction: the dock inspects it and a training run re-scores it, unless it read a number (then the
    digit shown in detail is, on ``digit_chosen``: not the whole number squeezed into one 28x28)."""
    number = result.get("number")
    if not result.get("error") and number and number.get("digits"):
        return
    dock.show_prediction(result)
    window.training_panel.set_drawing(result)


def _follow_number_digit(window: MainWindow, dock: LookInsideDock, index: int) -> None:
    number = window.numbers.number
    if number is not None and 0 <= index < len(number["digits"]):
        prediction = number_digit_prediction(number["digits"][index], window.canvas.prediction_input().shape)
        dock.show_prediction(prediction)
        window.training_panel.set_drawing(prediction)


def number_digit_prediction(digit: dict, picture_shape: tuple[int, ...]) -> dict:
    """One digit of a read number as a prediction of its own: its 28x28 and probabilities, and a frame of the whole
    picture with the digit's box as its ink, so that its evidence is placed over that digit on the canvas."""
    frame = np.zeros(picture_shape[:2], dtype=np.float32)
    x, y, width, height = (int(value) for value in digit["box"])
    frame[y : y + height, x : x + width] = 1.0
    return {
        "image": digit["image"],
        "stages": [("background removed", frame), *digit["stages"]],
        "probabilities": digit["probabilities"],
        "blank": False,
        "error": None,
    }
