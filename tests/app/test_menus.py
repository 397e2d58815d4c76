"""The menu bar and tool bar: what the tool bar says about the brush and the drawing tools."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QSlider

from app.main_window import MainWindow


@pytest.fixture
def window(qtbot, settings):
    window = MainWindow(settings)  # never started: no model thread
    qtbot.addWidget(window)
    return window


def test_the_brush_slider_tells_its_size_beside_it_and_in_its_tooltip(window):
    slider = window.findChild(QSlider, "BrushSizeSlider")
    label = window.findChild(QLabel, "BrushSizeLabel")
    assert slider is window.brush_slider
    slider.setValue(33)
    assert window.canvas.brush_size == 33
    assert label.text().strip() == "Brush 33 px"
    assert "33 px" in slider.toolTip() and "[" in slider.toolTip() and "]" in slider.toolTip()
    window.larger_brush_action.trigger()
    assert f"{slider.value()} px" in slider.toolTip() and slider.value() > 33


def test_the_drawing_tools_name_their_keys_and_the_right_button(window):
    assert "(B)" in window.pen_action.toolTip()
    eraser = window.eraser_action.toolTip()
    assert "(E)" in eraser and "right button" in eraser
