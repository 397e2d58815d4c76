"""The wide canvas option: a 3:1 drawing for numbers, switched from View, remembered, the square one as before."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtWidgets import QSplitter, QWidget

from app.draw.canvas import DOCUMENT_SIZE, WIDE_DOCUMENT_WIDTH, DrawingCanvas
from app.draw.wide_canvas import SETTING, WideCanvasOption


def make_option(qtbot, settings: QSettings):
    splitter = QSplitter()
    canvas = DrawingCanvas()
    splitter.addWidget(canvas)
    splitter.addWidget(QWidget())
    qtbot.addWidget(splitter)
    splitter.resize(1200, 400)
    splitter.show()
    return WideCanvasOption(canvas, settings, splitter), canvas, splitter


def test_the_wide_canvas_is_three_to_one_and_draws_where_the_mouse_is(qtbot, settings):
    option, canvas, splitter = make_option(qtbot, settings)
    assert not canvas.wide and canvas.image_array().shape == (DOCUMENT_SIZE, DOCUMENT_SIZE)
    option.action.setChecked(True)
    assert canvas.wide and canvas.image_array().shape == (DOCUMENT_SIZE, WIDE_DOCUMENT_WIDTH)
    rect = canvas.document_rect()
    assert abs(rect.width() / rect.height() - 3.0) < 0.02
    assert splitter.sizes()[0] > splitter.sizes()[1]  # the drawing gets most of the width
    scale = rect.height() / DOCUMENT_SIZE

    def widget_point(x: float, y: float):
        return QPointF(rect.x() + x * scale, rect.y() + y * scale).toPoint()

    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=widget_point(700, 100))
    qtbot.mouseMove(canvas, widget_point(700, 200))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=widget_point(700, 200))
    xs = [x for x, _ in canvas.drawing.strokes[0].points]
    assert all(abs(x - 700) < 3 for x in xs)
    ink_columns = np.flatnonzero((canvas.image_array() < 0.5).any(axis=0))
    assert 680 < ink_columns.min() and ink_columns.max() < 720  # the ink is right of the square's edge


def test_the_choice_is_remembered_and_the_square_canvas_comes_back_unchanged(qtbot, settings):
    option, canvas, _ = make_option(qtbot, settings)
    canvas.draw_stroke([(140, 60), (140, 220)], 16)
    square = canvas.image_array()
    option.action.setChecked(True)
    assert settings.value(SETTING, type=bool) is True
    assert len(canvas.drawing.strokes) == 1  # switching is not an edit
    option.action.setChecked(False)
    assert settings.value(SETTING, type=bool) is False
    assert np.array_equal(canvas.image_array(), square)
    again, canvas_again, _ = make_option(qtbot, settings)
    assert not canvas_again.wide
    settings.setValue(SETTING, True)
    _, remembered, _ = make_option(qtbot, settings)
    assert remembered.wide
