"""Digit Lab's main window: composes the rooms (canvas, prediction, training dock, models) with menus and docks."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, Signal, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QPalette,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.common.about import AboutDialog, application_icon
from app.common.dock_share import DockHeightShare
from app.common.dock_tabs import OffscreenTabBarSkipper
from app.common.errors import paths_kept_whole
from app.common.tensorflow_import import import_array_types_before_showing
from app.common.widgets import size_within_screen
from app.draw.canvas import DEFAULT_BRUSH_SIZE, DrawingCanvas
from app.draw.image_input import ImageInput
from app.draw.number_view import NumberView
from app.draw.prediction_view import PredictionPanel, format_percent
from app.draw.strokes import is_flat
from app.draw.wide_canvas import WideCanvasOption
from app.evaluate.model_evaluation import ModelEvaluation
from app.look_inside import add_look_inside
from app.menus import build_actions, build_menus, build_toolbar
from app.models.controller import ModelController
from app.models.export_dialog import ModelExport
from app.models.model_files import ModelFiles
from app.models.names import format_model_status
from app.models.summary_dialog import ModelSummary
from app.models.unsaved_models import ask_before_quitting, confirm_dropping, unsaved_models_dropped
from app.teach.room import add_teaching
from app.train.panel import TrainingPanel
from app.train.trained_model_dialog import (
    RunEndsOnHold,
    TrainedModelQuestion,
    ask_to_use_trained_model,
    trained_model_question,
)
from ml.assets import bundled_model_path
from ml.user_folders import APPLICATION, ORGANIZATION

logger = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT_MS = 2000
FIRST_WINDOW_SIZE = (1360, 860)
"""The window's size at its first launch, on a screen with room for it."""


def first_window_size(available: QSize) -> tuple[int, int]:
    """The first launch's window size: :data:`FIRST_WINDOW_SIZE`, or what of the screen's free area it may take."""
    return size_within_screen(FIRST_WINDOW_SIZE, available)


class MainWindow(QMainWindow):
    """Digit Lab's window: draw or load a digit, watch the active model decide, train and switch models."""

    prediction_shown = Signal(dict)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowIcon(application_icon())
        self.settings = settings if settings is not None else QSettings(ORGANIZATION, APPLICATION)
        self.model_description: dict | None = None
        self.backend_description: dict | None = None
        self._close_after_save = False
        self._close_confirmed = False
        self._shut_down = False
        self.run_ends = RunEndsOnHold(self._on_model_trained, self)  # runs that end while quitting is asked
        import_array_types_before_showing()  # 0.5-0.9 s holding the GIL: a freeze if TensorFlow did it after show

        self.canvas = DrawingCanvas()
        self.canvas.set_brush_size(self._stored_brush_size())
        self.prediction = PredictionPanel()
        self.models = ModelController(self._startup_models(), parent=self)
        self.training_panel = TrainingPanel(self.settings, self)
        self.images = ImageInput(self.canvas, self.settings, self)
        self.model_files = ModelFiles(self.settings, self)
        self.summary = ModelSummary(self.models, self)
        self.exporter = ModelExport(self.models, self.settings, self)
        self.evaluation = ModelEvaluation(self.models, self.settings, self)

        build_actions(self)
        self.view_menu = build_menus(self)
        self.brush_slider = build_toolbar(self)
        self._build_central_area()
        self._build_training_dock()
        self._build_status_bar()
        self._connect_signals()
        self.numbers = NumberView(self.canvas, self.prediction, self.models.prediction_finished, self)
        self.wide_canvas = WideCanvasOption(  # View ▸ Wide canvas
            self.canvas, self.settings, self.splitter, self, self.prediction.stages
        )
        self.view_menu.addAction(self.wide_canvas.action)
        self.look_inside = add_look_inside(self)  # after the window's wiring: a prediction is shown, then inspected
        self.teaching = add_teaching(self)  # corrections, My samples, Teach, Model ▸ History
        self.setAcceptDrops(True)
        self._restore_window_state()
        self._update_title()
        self._update_actions()

    # -------------------------------------------------------------------------------------- building

    def _build_central_area(self) -> None:
        canvas_side = QWidget()
        canvas_layout = QVBoxLayout(canvas_side)
        canvas_layout.setContentsMargins(8, 8, 4, 4)
        canvas_layout.addStretch(1)  # the square canvas and its hint stay together, centred in a tall window
        canvas_layout.addWidget(self.canvas)
        hint = QLabel("Draw with the left button · right button erases · Esc clears · drop or paste an image")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        canvas_layout.addWidget(hint)
        canvas_layout.addStretch(1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("MainSplitter")
        self.splitter.addWidget(canvas_side)
        self.splitter.addWidget(self.prediction)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)
        self.removeAction(self.clear_action)  # Esc and Delete clear the canvas only while focus is in the drawing area,
        self.splitter.addAction(self.clear_action)  # never while typing in a training field
        self.clear_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.canvas.setFocus()
        self.prediction.stages_section.setVisible(self.show_stages_action.isChecked())

    def _build_training_dock(self) -> None:
        self.training_dock = QDockWidget("Training", self)
        self.training_dock.setObjectName("TrainingDock")
        scroller = QScrollArea()  # the dock may be made smaller than the panel on small screens
        scroller.setObjectName("TrainingScrollArea")
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the fields inside, not to an unmarked frame
        scroller.setWidget(self.training_panel)
        self.training_dock.setWidget(scroller)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.training_dock)
        self.dock_share = DockHeightShare(self, self.training_dock)  # a taller window gives the charts height too
        self.dock_tabs = OffscreenTabBarSkipper(self)  # Tab never lands on a dock tab bar parked out of view
        self.view_menu.addAction(self.training_dock.toggleViewAction())

    def _build_status_bar(self) -> None:
        self.model_label = QLabel("Loading TensorFlow…")
        self.device_label = QLabel("")
        self.statusBar().addPermanentWidget(self.model_label)
        self.statusBar().addPermanentWidget(self.device_label)

    def _connect_signals(self) -> None:
        self.canvas.changed.connect(self._on_canvas_changed)
        self.canvas.history_changed.connect(self._update_actions)
        self.models.backend_loaded.connect(self._on_backend_loaded)
        self.models.backend_failed.connect(self._on_backend_failed)
        self.models.model_loaded.connect(self._on_model_loaded)
        self.models.model_set_aside.connect(self._on_model_set_aside)
        self.models.model_load_failed.connect(self._on_model_load_failed)
        self.models.model_saved.connect(self._on_model_saved)
        self.models.model_save_failed.connect(self._on_model_save_failed)
        self.models.prediction_finished.connect(self._on_prediction_finished)
        self.summary.status_changed.connect(self._show_status)
        self.training_panel.model_trained.connect(self._on_model_trained)
        self.training_panel.running_changed.connect(self._on_training_running_changed)
        self.training_panel.status_changed.connect(self._show_status)
        self.images.status_changed.connect(self._show_status)
        self.images.model_file_dropped.connect(self.open_model_file)
        self.evaluation.image_chosen.connect(self.images.show_image)
        self.model_files.open_requested.connect(self.open_model_file)

    def _stored_brush_size(self) -> float:
        """The remembered brush size; the default when the stored value is not a number (it read as 0: a 4 px pen)."""
        try:
            size = float(self.settings.value("canvas/brush_size", DEFAULT_BRUSH_SIZE))
        except (TypeError, ValueError):
            return DEFAULT_BRUSH_SIZE
        return size if math.isfinite(size) and size > 0 else DEFAULT_BRUSH_SIZE

    def _stored_layout(self, key: str) -> QByteArray | None:
        """A saved layout from the settings, or None when there is none or it is not one (a damaged settings file)."""
        value = self.settings.value(key)
        return QByteArray(value) if isinstance(value, (QByteArray, bytes, bytearray)) else None

    def _restore_window_state(self) -> None:
        geometry = self._stored_layout("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            width, height = first_window_size(self.screen().availableGeometry().size())
            self.resize(width, height)
            self.wide_canvas.give_room(width)  # a remembered wide canvas gets its room on a first window too
            panel_height = self.training_panel.sizeHint().height()
            self.resizeDocks([self.training_dock], [min(panel_height, self.height() // 2)], Qt.Orientation.Vertical)
        state = self._stored_layout("window/state")
        if state is not None:
            self.restoreState(state)
        splitter_state = self._stored_layout("window/splitter")
        if splitter_state is not None:
            self.splitter.restoreState(splitter_state)

    def _save_window_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("canvas/brush_size", self.canvas.brush_size)
        self.settings.setValue("view/show_stages", self.show_stages_action.isChecked())
        self.settings.sync()

    def _startup_models(self) -> list[tuple[str, str]]:
        """The last model used (if it still exists), then the bundled model."""
        bundled = str(bundled_model_path())
        candidates = []
        last = self.settings.value("models/last", "", type=str)
        if last and Path(last).is_file() and Path(last) != Path(bundled):
            candidates.append((last, "file"))
        candidates.append((bundled, "bundled"))
        return candidates

    # ---------------------------------------------------------------------------------- public API

    def start(self) -> None:
        """Start the model thread: the shipped weights answer first, TensorFlow and the model load behind them."""
        self.models.start()

    def open_model_file(self, path: str | os.PathLike, name: str = "") -> None:
        """Load a model file in the background, shown as ``name`` (default: the file's stem); on failure a dialog
        explains why and the old model stays."""
        if not self._confirm_dropping(f"Opening {name or Path(path).name}"):
            return
        self.statusBar().showMessage(f"Loading model {name or Path(path).name}…")
        self.models.load_model(str(path), name=name)

    def save_model_to(self, path: str | os.PathLike) -> None:
        """Save the active model to ``path`` in the background (atomically); failures are shown, nothing is lost."""
        self.statusBar().showMessage(f"Saving model to {Path(path).name}…")
        self.models.save_model(str(path))

    def has_unsaved_model(self) -> bool:
        """True while the active model is a trained one that was never saved."""
        return bool(self.model_description and self.model_description.get("unsaved"))

    # ------------------------------------------------------------------------------------ handlers

    @Slot()
    def _on_canvas_changed(self) -> None:
        drawing = self.canvas.prediction_input()  # an opened image's own pixels, as `digitlab predict` reads them
        if is_flat(drawing):
            self.models.cancel_predictions()
            opened = self.canvas.strokes_for_reading() is None  # an opened image (all white, all black, 1x1)
            self.prediction.show_message("No digit found: the image is one flat colour" if opened else "Draw a digit")
            return
        self.models.request_prediction(drawing, self.canvas.strokes_for_reading())  # strokes: reading numbers

    @Slot(dict)
    def _on_prediction_finished(self, result: dict) -> None:
        if result["error"]:
            self.statusBar().showMessage(result["error"], 10000)
        self.prediction_shown.emit(self.prediction.show_result(result))

    @Slot(dict)
    def _on_backend_loaded(self, description: dict) -> None:
        self.backend_description = description
        self.device_label.setText(description["device"])
        self.model_label.setText("Loading model…")

    @Slot(str)
    def _on_backend_failed(self, message: str) -> None:
        self.model_label.setText("No model (TensorFlow did not start)")
        QMessageBox.critical(self, "TensorFlow did not start", message)

    @Slot(dict)
    def _on_model_loaded(self, description: dict) -> None:
        self._show_active_model(description)
        self.prediction.set_class_names(description["class_names"])
        if description["path"] and description["origin"] != "bundled":
            self.model_files.remember(description["path"])
        self.statusBar().showMessage(f"Active model: {description['display_name']}", 5000)
        self._on_canvas_changed()
        self.summary.follow(description["display_name"])

    @Slot(dict)
    def _on_model_load_failed(self, failure: dict) -> None:
        self.statusBar().clearMessage()
        if failure["startup"]:
            logger.warning("Start-up model %s did not load: %s", failure["path"], failure["message"])
            if Path(failure["path"]) == bundled_model_path():
                self.model_label.setText("No model loaded")
                QMessageBox.warning(self, "No model", f"{failure['message']}\n\nOpen a model or train one.")
            else:
                self.statusBar().showMessage("The last model could not be opened; using the bundled model.", 10000)
            return
        QMessageBox.warning(self, "Cannot open model", paths_kept_whole(failure["message"], failure["path"]))

    @Slot(dict)
    def _on_model_saved(self, description: dict) -> None:
        self._show_active_model(description)
        self.model_files.remember_saved(description["path"])
        self.statusBar().showMessage(f"Saved the model to {description['path']}", 8000)
        if self._close_after_save:
            self._close_after_save = False
            self._close_confirmed = True
            self.close()

    @Slot(str)
    def _on_model_save_failed(self, message: str) -> None:
        self._close_after_save = False
        self.run_ends.release()  # the window stays: a run that ended while quitting was asked is asked about now
        self.statusBar().clearMessage()
        QMessageBox.warning(self, "Cannot save model", paths_kept_whole(message))

    @Slot(dict)
    def _on_model_trained(self, summary: dict) -> None:
        if not summary.get("path"):
            self.statusBar().showMessage("Training ended without a model to use.", 8000)
            return
        if self.run_ends.hold(summary):  # the user is asked whether to quit: no question over that one
            return
        if not self._confirm_dropping("The new model from this run"):
            self.statusBar().showMessage(f"The new model was not loaded; it is kept as {summary['path']}.", 15000)
            return
        question = trained_model_question(summary, self.model_description)
        if question is not None and not self._ask_to_use_trained_model(question):
            if not self._shut_down:
                self.statusBar().showMessage(f"Keeping {question.kept_name}; setting the new model aside…")
                self.models.set_aside_model(str(summary["path"]), True, "trained")
            return
        if self._shut_down:
            return
        accuracy = summary.get("test_accuracy")
        note = f" ({format_percent(accuracy)} test accuracy)" if accuracy is not None else ""
        self.statusBar().showMessage(f"Loading the trained model{note}…")
        self.models.load_model(str(summary["path"]), True, "trained")

    def _ask_to_use_trained_model(self, question: TrainedModelQuestion) -> bool:
        """True to make the run's model active; the tests replace this to answer."""
        return ask_to_use_trained_model(question, self)

    def _confirm_dropping(self, action: str) -> bool:
        """True when ``action`` (making another model active) drops no unsaved model, or the user agrees to it."""
        return confirm_dropping(unsaved_models_dropped(self.model_description), action, self)

    @Slot(dict)
    def _on_model_set_aside(self, description: dict) -> None:
        self.model_description = description
        switch = "Model ▸ Switch to previous model"
        self.statusBar().showMessage(
            f"Kept {description['display_name']}; the new model is one switch away ({switch}).", 10000
        )
        self._update_actions()

    @Slot(bool)
    def _on_training_running_changed(self, running: bool) -> None:
        self.statusBar().showMessage("Training…" if running else "Training ended.", 0 if running else 5000)

    @Slot()
    def ask_and_save_model(self) -> None:
        """Model ▸ Save model as: ask for a file and save the active model to it."""
        path = self._ask_save_path()
        if path:
            self.save_model_to(path)

    @Slot()
    def switch_to_previous_model(self) -> None:
        """Model ▸ Switch to previous model."""
        self.models.switch_to_previous()

    @Slot()
    def use_bundled_model(self) -> None:
        """Model ▸ Use the bundled model (after asking about an unsaved one)."""
        if not self._confirm_dropping("Using the bundled model"):
            return
        self.statusBar().showMessage("Loading the bundled model…")
        self.models.load_model(str(bundled_model_path()), False, "bundled")

    @Slot(str, int)
    def _show_status(self, message: str, milliseconds: int) -> None:
        """Show a room's message in the status bar (an empty one clears it)."""
        if message:
            self.statusBar().showMessage(message, milliseconds)
        else:
            self.statusBar().clearMessage()

    @Slot()
    def use_smaller_brush(self) -> None:
        """Edit ▸ Smaller brush ([)."""
        self.brush_slider.setValue(round(self.canvas.brush_size * 0.8))

    @Slot()
    def use_larger_brush(self) -> None:
        """Edit ▸ Larger brush (])."""
        self.brush_slider.setValue(round(self.canvas.brush_size * 1.25) + 1)

    @Slot()
    def show_about(self) -> None:
        """Help ▸ About Digit Lab."""
        AboutDialog(self.backend_description, self).exec()

    # --------------------------------------------------------------------------------------- events

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept image data and local files."""
        if self.images.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """A dropped model file becomes the active model; a dropped image is shown and predicted."""
        if self.images.drop(event.mimeData()):
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask about running training and an unsaved model, then stop every worker and remember the layout."""
        if not self._shut_down and not self._close_confirmed and not self._confirm_close():
            event.ignore()
            return
        self.hide()  # gone at once: joining the threads may take seconds, which a shown window spent frozen
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop training and the model worker and join their threads (each within about two seconds)."""
        if self._shut_down:
            return
        self._shut_down = True
        self._save_window_state()
        self.training_panel.shutdown(SHUTDOWN_TIMEOUT_MS)
        self.teaching.shutdown(SHUTDOWN_TIMEOUT_MS)
        self.models.shutdown(SHUTDOWN_TIMEOUT_MS)

    # ---------------------------------------------------------------------------------------- helpers

    def _confirm_close(self) -> bool:
        """True when the window may close now; may start a save that closes it when done."""
        with self.run_ends.holding():  # a run that ends meanwhile opens nothing over these questions: it waits
            answer = self._ask_before_closing()
            path = self._ask_save_path() if answer == "save" else None
            going = (answer == "quit" or bool(path)) and self.run_ends.confirm_quitting(self)  # ended meanwhile
        if not going:
            self.run_ends.release()  # the window stays: a run that ended meanwhile is asked about now
        elif path:
            self._close_after_save = True
            self.save_model_to(path)
        return going and not path

    def _ask_before_closing(self) -> str:
        """``"quit"``, ``"save"`` (the active model first) or ``"cancel"``: asks about runs, teaching, unsaved work."""
        if not self.run_ends.confirm_quitting(self, self.training_panel.is_running):  # "Stop it and quit?"
            return "cancel"
        if not self.teaching.confirm_close():  # "Teaching is running: stop it and quit?"
            return "cancel"
        return ask_before_quitting(self.model_description, self)

    def _ask_save_path(self) -> str | None:
        """The file to save the active model to, or None when the dialog is cancelled."""
        if self.model_description is None:
            self.statusBar().showMessage("There is no model to save yet.", 5000)
            return None
        return self.model_files.ask_save_path(self.model_description["display_name"])

    def _show_active_model(self, description: dict) -> None:
        """The active model in the status bar and title, in the training panel, and as the next launch's model."""
        self.model_description = description
        self.model_label.setText(f"Model: {format_model_status(description)}")
        if description["path"]:
            self.settings.setValue("models/last", description["path"])
        # "Continue training the active model" trains this model's file (loaded in its own thread)
        self.training_panel.set_active_model(description.get("source_path"), description["display_name"])
        self._update_title()
        self._update_actions()

    def _update_title(self) -> None:
        description = self.model_description
        if description is None:
            self.setWindowTitle(APPLICATION)
            self.setWindowModified(False)
            return
        file_name, display_name = description["file_name"], description["display_name"]
        if not file_name:
            name = f"{display_name} (unsaved)"
        else:  # a file by its name; a taught version by its own ("… · taught 2"), not its file's
            name = file_name if Path(file_name).stem == display_name else display_name
        self.setWindowTitle(f"{name}[*] — {APPLICATION}")
        self.setWindowModified(bool(description["unsaved"]))

    @Slot()
    def _update_actions(self) -> None:
        self.undo_action.setEnabled(self.canvas.can_undo())
        self.redo_action.setEnabled(self.canvas.can_redo())
        has_model = self.model_description is not None
        self.save_model_action.setEnabled(has_model)
        self.summary_action.setEnabled(has_model)
        previous = self.model_description.get("previous_name") if has_model else None
        self.previous_model_action.setEnabled(previous is not None)
        self.previous_model_action.setText(
            f"Switch to &previous model ({previous})" if previous else "Switch to &previous model"
        )
