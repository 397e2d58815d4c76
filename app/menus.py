"""The main window's menu bar and tool bar, built from the actions the window and its rooms own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QSizePolicy, QSlider, QStyle, QToolBar, QWidget

from app.draw.canvas import BRUSH_SIZE_RANGE, DOCUMENT_SIZE

if TYPE_CHECKING:
    from app.main_window import MainWindow


def build_actions(window: MainWindow) -> None:
    """The window's own actions (files, models, drawing, view), as its attributes for the menus and tool bar."""
    style = window.style()
    window.open_image_action = add_action(window, "&Open image…", "Ctrl+O", window.images.ask_and_open)
    window.open_image_action.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon))
    window.open_image_action.setToolTip("Open an image of a digit (Ctrl+O); you can also drop or paste one")
    window.paste_action = add_action(window, "&Paste image", "Ctrl+V", window.images.paste)
    window.quit_action = add_action(window, "&Quit", "Ctrl+Q", window.close)
    window.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

    window.open_model_action = add_action(window, "Open &model…", "Ctrl+Shift+O", window.model_files.ask_open_path)
    window.open_model_action.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogOpenButton))
    window.save_model_action = add_action(window, "&Save model as…", "Ctrl+S", window.ask_and_save_model)
    window.save_model_action.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton))
    window.previous_model_action = add_action(
        window, "Switch to &previous model", "Ctrl+Shift+P", window.switch_to_previous_model
    )
    window.bundled_model_action = add_action(window, "Use the &bundled model", None, window.use_bundled_model)
    window.summary_action = add_action(window, "S&ummary…", "Ctrl+I", window.summary.request)
    window.summary_action.setToolTip("The active model's layers, output shapes and parameters, and a diagram")

    window.undo_action = add_action(window, "&Undo", "Ctrl+Z", window.canvas.undo)
    window.undo_action.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_ArrowBack))
    window.redo_action = add_action(window, "&Redo", None, window.canvas.redo)
    window.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    window.redo_action.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_ArrowForward))
    window.clear_action = add_action(window, "&Clear", None, window.canvas.clear)
    window.clear_action.setShortcuts([QKeySequence(Qt.Key.Key_Escape), QKeySequence(Qt.Key.Key_Delete)])
    window.clear_action.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogDiscardButton))

    window.pen_action = add_action(window, "&Pen", "B", None, checkable=True)
    window.eraser_action = add_action(window, "&Eraser", "E", None, checkable=True)
    tools = QActionGroup(window)
    tools.addAction(window.pen_action)
    tools.addAction(window.eraser_action)
    window.pen_action.setChecked(True)
    window.eraser_action.toggled.connect(window.canvas.set_erasing)
    window.smaller_brush_action = add_action(window, "S&maller brush", "[", window.use_smaller_brush)
    window.larger_brush_action = add_action(window, "&Larger brush", "]", window.use_larger_brush)

    window.show_stages_action = add_action(window, "Show preprocessing &stages", None, None, checkable=True)
    window.show_stages_action.setChecked(bool(window.settings.value("view/show_stages", True, type=bool)))
    window.show_stages_action.toggled.connect(window.prediction.stages_section.setVisible)
    window.about_action = add_action(window, "&About Digit Lab", None, window.show_about)
    window.about_action.setMenuRole(QAction.MenuRole.AboutRole)


def add_action(window: MainWindow, text: str, shortcut: str | None, handler, checkable: bool = False) -> QAction:
    """An action of the window's (its shortcut works wherever the window has focus), triggering ``handler``."""
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable)
    if handler is not None:
        action.triggered.connect(handler)
    window.addAction(action)
    return action


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
