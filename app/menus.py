"""The main window's menu bar and tool bar, built from the actions the window and its rooms own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMenu, QSizePolicy, QSlider, QToolBar, QWidget

from app.draw.canvas import BRUSH_SIZE_RANGE, DOCUMENT_SIZE

if TYPE_CHECKING:
    from app.main_window import MainWindow


def build_menus(window: MainWindow) -> QMenu:
    """Fill the window's menu bar (File, Edit, Model, View, Help) and return the View menu for docks and bars."""
    menu_bar = window.menuBar()
    file_menu = menu_bar.addMenu("&File")
    file_menu.addAction(window.open_image_action)
    file_menu.addAction(window.paste_action)
    file_menu.addSeparator()
    file_menu.addAction(window.quit_action)

    edit_menu = menu_bar.addMenu("&Edit")
    edit_menu.addActions([window.undo_action, window.redo_action, window.clear_action])
    edit_menu.addSeparator()
    edit_menu.addActions(
        [window.pen_action, window.eraser_action, window.smaller_brush_action, window.larger_brush_action]
    )

    model_menu = menu_bar.addMenu("&Model")
    model_menu.addAction(window.open_model_action)
    model_menu.addMenu(window.model_files.recent_menu)
    model_menu.addActions([window.save_model_action, window.exporter.action, window.summary_action])
    model_menu.addAction(window.evaluation.action)
    model_menu.addSeparator()
    model_menu.addActions([window.previous_model_action, window.bundled_model_action])

    view_menu = menu_bar.addMenu("&View")
    view_menu.addAction(window.show_stages_action)

    help_menu = menu_bar.addMenu("&Help")
    help_menu.addAction(window.about_action)
    return view_menu


def build_toolbar(window: MainWindow) -> QSlider:
    """Add the Tools bar (image, undo, drawing tools, brush size, model files) and return its brush size slider."""
    toolbar = QToolBar("Tools", window)
    toolbar.setObjectName("ToolsToolBar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.addAction(window.open_image_action)
    toolbar.addSeparator()
    toolbar.addActions([window.undo_action, window.redo_action, window.clear_action])
    toolbar.addSeparator()
    window.pen_action.setToolTip("Pen (B): the left button draws; the right button erases")
    window.eraser_action.setToolTip("Eraser (E): the left button erases too; the right button always erases")
    toolbar.addActions([window.pen_action, window.eraser_action])
    brush_label = QLabel()
    brush_label.setObjectName("BrushSizeLabel")
    brush_label.setMinimumWidth(brush_label.fontMetrics().horizontalAdvance("  Brush 888 px "))  # no jumping
    toolbar.addWidget(brush_label)
    brush_slider = QSlider(Qt.Orientation.Horizontal)
    brush_slider.setObjectName("BrushSizeSlider")
    brush_slider.setRange(int(BRUSH_SIZE_RANGE[0]), int(BRUSH_SIZE_RANGE[1]))
    brush_slider.setFixedWidth(140)
    brush_slider.valueChanged.connect(window.canvas.set_brush_size)
    brush_slider.valueChanged.connect(lambda size: show_brush_size(brush_label, brush_slider, size))
    brush_slider.setValue(round(window.canvas.brush_size))
    show_brush_size(brush_label, brush_slider, brush_slider.value())
    toolbar.addWidget(brush_slider)
    spacer = QWidget()
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    toolbar.addWidget(spacer)
    toolbar.addActions([window.open_model_action, window.save_model_action])
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    window.view_menu.addAction(toolbar.toggleViewAction())
    return brush_slider


def show_brush_size(label: QLabel, slider: QSlider, size: int) -> None:
    """The brush size beside its slider and in the slider's tooltip."""
    label.setText(f"  Brush {size} px ")
    slider.setToolTip(f"Brush size: {size} px on the {DOCUMENT_SIZE} px drawing ([ smaller, ] larger)")
