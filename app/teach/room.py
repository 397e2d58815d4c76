"""Wires "Teach it your handwriting" into the window: corrections, the My samples dock, Teach and History."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenu, QMessageBox

from app.common import user_folders
from app.common.widgets import ask_yes_or_no
from app.teach.corrections import Corrections
from app.teach.history_dialog import HistoryDialog
from app.teach.samples_view import SamplesView
from app.teach.teach_dialog import TeachDialog, harm_status_text, same_file
from ml.errors import DigitLabError
from ml.teach.forgetting import harmful_test_drop
from ml.teach.samples import SampleStore
from ml.teach.versions import VersionStore

if TYPE_CHECKING:
    from app.main_window import MainWindow

logger = logging.getLogger(__name__)


def _open_store(kind, folder: Path, window: MainWindow):
    """The store in ``folder``; a broken index is left untouched and a folder beside it is used: the newest one
    used so before (what was saved there at the last start is found again), else a fresh one."""
    try:
        return kind(folder)
    except DigitLabError as error:
        logger.warning("%s", error)
        used_before = sorted(folder.parent.glob(f"{folder.name}-{'[0-9]' * 8}-{'[0-9]' * 6}"), reverse=True)
        for instead in used_before:
            with contextlib.suppress(DigitLabError):  # one broken too is left as it is
                store = kind(instead)
                window.statusBar().showMessage(f"{error} Using {instead} instead.", 20000)
                return store
        fresh = folder.with_name(f"{folder.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}")
        window.statusBar().showMessage(f"{error} Using {fresh} instead.", 20000)
        return kind(fresh)


def digit_crop(image, box: tuple[int, int, int, int], margin: float = 0.2):
    """The part of ``image`` in ``box`` (x, y, w, h), with a margin of paper round it (a share of its longer side)."""
    x, y, width, height = (int(value) for value in box)
    pad = round(margin * max(width, height))
    top, left = max(0, y - pad), max(0, x - pad)
    return image[top : y + height + pad, left : x + width + pad]


class TeachRoom(QObject):
    """Owns the room's actions, dock and dialogs; the window only creates it (``add_teaching``)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        data = user_folders.user_data_folder()
        self.store = _open_store(SampleStore, data / "my-samples", window)
        self.versions = _open_store(VersionStore, data / "versions", window)
        self.model: dict | None = None
        self._harmful_version: dict | None = None  # made by the last teach and not yet loaded: warn once it is
        self.teach_dialog: TeachDialog | None = None
        self.history_dialog: HistoryDialog | None = None
        self.corrections = Corrections(self.store, window)
        self.view = SamplesView(self.store)
        self.dock = QDockWidget("My samples", window)
        self.dock.setObjectName("MySamplesDock")
        self.dock.setWidget(self.view)
        self.teach_action = QAction("&Teach it my handwriting…", window)
        self.teach_action.setToolTip("Fine-tune the active model on My samples; the result is a new version")
        self.teach_action.triggered.connect(self.open_teach)
        self.history_action = QAction("&History…", window)
        self.history_action.setToolTip("The model's versions: switch to any, or delete one")
        self.history_action.triggered.connect(self.open_history)
        self.samples_action = self.dock.toggleViewAction()
        self.samples_action.setText("&My samples")
        self.samples_action.setShortcut("Ctrl+M")

    def install(self) -> None:
        """Add the dock, menus and key actions, and connect to the window's prediction and models."""
        window = self.window
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)  # beside the prediction, when asked
        self.dock.hide()
        window.statusBar().insertPermanentWidget(0, self.corrections.note)
        for action in self.corrections.key_actions:
            window.splitter.addAction(action)  # digits only while the drawing area has focus
        menus = {action.text(): action.menu() for action in window.menuBar().actions()}
        edit, model = menus.get("&Edit"), menus.get("&Model")
        if isinstance(edit, QMenu):
            edit.addSeparator()
            edit.addMenu(self.corrections.menu)
            edit.addAction(self.corrections.add_action)
        if isinstance(model, QMenu):
            model.addSeparator()
            model.addActions([self.teach_action, self.history_action])
        window.view_menu.addAction(self.samples_action)
        self.samples_action.triggered.connect(lambda shown: shown and self._leave_room_for_the_wide_canvas())
        window.wide_canvas.action.toggled.connect(lambda wide: wide and self._leave_room_for_the_wide_canvas())
        window.prediction.class_clicked.connect(self.corrections.offer_for_class)
        window.models.prediction_finished.connect(self._on_prediction)
        window.numbers.digit_chosen.connect(self._follow_number_digit)
        window.models.model_loaded.connect(self._on_model_loaded)  # after the window's own "Active model" message
        window.models.model_load_failed.connect(self._on_model_load_failed)
        self.corrections.samples_changed.connect(self.view.refresh)
        self.corrections.samples_changed.connect(self._on_samples_changed)
        self.view.samples_changed.connect(self._on_samples_changed)
        self.corrections.status_changed.connect(window._show_status)
        self.view.status_changed.connect(window._show_status)
        self.view.teach_requested.connect(self.open_teach)

    @Slot(dict)
    def _on_prediction(self, result: dict) -> None:
        number = result.get("number")
        if number and number.get("digits") and not result.get("error"):
            self._follow_number_digit(self.window.numbers.chosen or 0)  # not the whole number squeezed into 28x28
            return
        if not result.get("blank") and not result.get("error"):
            self.corrections.set_canvas_image(self.window.canvas.image_array())
        self.corrections.follow_prediction(result)

    @Slot(int)
    def _leave_room_for_the_wide_canvas(self) -> None:
        """With the wide canvas, My samples opens as a tab beside Training, not beside the prediction: at 1360 px
        there the 3:1 canvas was squeezed to 310 x 103 and its digits' tabs ran into each other."""
        window, dock = self.window, self.dock
        if not window.canvas.wide or dock.isFloating() or dock.isHidden():
            return
        if window.dockWidgetArea(dock) != Qt.DockWidgetArea.RightDockWidgetArea:
            return  # already moved (by this, or by the user)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        window.tabifyDockWidget(window.training_dock, dock)
        dock.show()
        dock.raise_()
        QTimer.singleShot(0, window.wide_canvas.give_room)  # once the layout has taken the dock's width back

    def _follow_number_digit(self, index: int) -> None:
        """A number is shown: "That's a …" corrects the digit shown in detail (its 28x28, its box of the drawing)."""
        number = self.window.numbers.number
        if number is None or not 0 <= index < len(number["digits"]):
            return
        digit = number["digits"][index]
        self.corrections.set_canvas_image(digit_crop(self.window.canvas.prediction_input(), digit["box"]))
        self.corrections.follow_prediction({"image": digit["image"], "probabilities": digit["probabilities"]})

    @Slot(dict)
    def _on_model_loaded(self, description: dict) -> None:
        self.model = description
        self._mark_active_version(description.get("source_path"))
        harmful = self._harmful_version
        if harmful is not None and same_file(description.get("source_path"), harmful["path"]):
            self._harmful_version = None
            drop = harmful_test_drop(harmful["record"])
            if drop is not None:  # the window just said "Active model: …": not a plain success
                self.window.statusBar().showMessage(harm_status_text(drop), 60000)
        names = list(description["class_names"])
        self.corrections.set_class_names(names)
        self.view.set_class_names(names)
        if self.history_dialog is not None:
            self.history_dialog.set_active_path(description.get("source_path"))
        dialog = self.teach_dialog
        if dialog is not None and not dialog.is_running and description.get("source_path"):
            dialog.set_model(**self._teach_arguments(description))  # its Teach teaches the active model

    @Slot(dict)
    def _on_model_load_failed(self, failure: dict) -> None:
        """A load that failed (a History switch, a taught version) leaves History's mark on the model still shown."""
        if self._harmful_version is not None and same_file(failure.get("path"), self._harmful_version["path"]):
            self._harmful_version = None
        self._mark_active_version(None if self.model is None else self.model.get("source_path"))

    def _mark_active_version(self, path: str | None) -> None:
        """Mark the version the window now shows as History's active one: only once it has loaded, so a failed
        load never leaves a version marked that is not shown. The list is read again first (a teach's worker
        writes it too); one that cannot be written is said so in the status bar, and nothing changes."""
        if not path:
            return
        try:
            versions = VersionStore(self.versions.folder)
            version = versions.find_path(path)
        except (DigitLabError, OSError) as error:
            logger.warning("History's active mark not updated: %s", error)
            return
        if version is None or versions.active == version.id:
            return
        try:
            versions.set_active(version.id)
        except OSError as error:
            self.window.statusBar().showMessage(
                f"History could not mark {version.name} as the active version ({error.strerror or error}); "
                "its list was left as it was.",
                10000,
            )
            return
        self.versions = versions
        if self.history_dialog is not None:
            self.history_dialog.versions = versions

    @staticmethod
    def _teach_arguments(model: dict) -> dict:
        """What the Teach window needs to know of the active model."""
        return {
            "model_path": model["source_path"],
            "model_name": model["display_name"],
            "replay": (model.get("dataset") or "").lower() == "mnist",  # what ml.teach.teaching.replay_source replays
            "keep_original_copy": bool(model.get("unsaved")),  # a run's model lives in a cache that deletes old runs
            "class_names": list(model.get("class_names") or []) or None,
        }

    @Slot()
    def _on_samples_changed(self) -> None:
        if self.teach_dialog is not None:
            self.teach_dialog.set_counts(self.store.counts())

    @Slot()
    def open_teach(self) -> None:
        """Open the Teach window for the active model and My samples."""
        model = self.model
        if model is None or not model.get("source_path"):
            self.window.statusBar().showMessage("Load a model first; teaching needs a model file.", 8000)
            return
        if len(self.store) == 0:
            self.window.statusBar().showMessage("My samples is empty: correct a drawing or import a folder.", 8000)
            return
        if self.teach_dialog is not None and self.teach_dialog.is_running:
            self.teach_dialog.raise_()
            return
        if self.teach_dialog is not None:  # an idle one from before: one Teach window, not a pile of them
            self.teach_dialog.close()
            self.teach_dialog.deleteLater()
        arguments = self._teach_arguments(model)
        dialog = TeachDialog(
            arguments.pop("model_path"),
            arguments.pop("model_name"),
            self.store.counts(),
            (self.store.folder, self.versions.folder),
            self.window,
            **arguments,
        )
        dialog.version_made.connect(self._on_version_made)
        dialog.go_back_requested.connect(self._go_back)
        dialog.status_changed.connect(self.window._show_status)
        self.teach_dialog = dialog
        dialog.show()

    def _on_version_made(self, version: dict) -> None:
        self.versions = VersionStore(self.versions.folder)  # the worker wrote the list
        if self.history_dialog is not None:
            self.history_dialog.versions = self.versions
            self.history_dialog.refresh()
        harmful = harmful_test_drop(version.get("record") or {}) is not None
        self._harmful_version = version if harmful else None
        self.window.open_model_file(version["path"], version["name"])

    @Slot(dict)
    def _go_back(self, version: dict) -> None:
        """The Teach window's Go back: the window's own switch to the previous model when that is the version taught
        from (no load), else History's switch to it (the window loads its file)."""
        model = self.model or {}
        shown, previous = model.get("source_path"), model.get("previous_source_path")
        if same_file(shown, version["path"]) and any(
            same_file(previous, version.get(key)) for key in ("taught_from", "parent_path")
        ):
            self.window.switch_to_previous_model()
        else:
            self.window.open_model_file(version["parent_path"], version["parent_name"])

    @Slot()
    def open_history(self) -> None:
        """Show Model ▸ History."""
        try:
            self.versions = VersionStore(self.versions.folder)
        except DigitLabError as error:
            QMessageBox.warning(self.window, "Model history", str(error))
            return
        if self.history_dialog is None:
            self.history_dialog = HistoryDialog(self.versions, self.window)
            self.history_dialog.switch_requested.connect(self.window.open_model_file)
        self.history_dialog.versions = self.versions
        self.history_dialog.set_active_path(None if self.model is None else self.model.get("source_path"))
        self.history_dialog.show()
        self.history_dialog.raise_()

    @property
    def is_teaching(self) -> bool:
        """True while a teach runs."""
        return self.teach_dialog is not None and self.teach_dialog.is_running

    def confirm_close(self) -> bool:
        """True when the window may close: no teach runs, or the user agrees to stop it (the window then shuts
        the teach down; it saves nothing)."""
        if not self.is_teaching:
            return True
        question = "Teaching is running: stop it and quit? Nothing of this teach is saved."
        return ask_yes_or_no(self.window, "Teaching is running", question)

    def shutdown(self, timeout_ms: int = 2000) -> None:
        """Stop a running teach or import and wait for its thread (the window's shutdown calls this)."""
        if self.teach_dialog is not None:
            self.teach_dialog.shutdown(timeout_ms)
        self.view.shutdown(timeout_ms)


def add_teaching(window: MainWindow) -> TeachRoom:
    """Create the room and wire it into ``window`` (call after the window's own wiring)."""
    room = TeachRoom(window)
    room.install()
    return room
