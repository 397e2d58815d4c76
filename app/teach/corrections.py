"""Corrections: "That's a …" saves the drawing to My samples with its right class; the status bar offers Undo."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCursor, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QWidget

from ml.errors import DigitLabError
from ml.teach.samples import Sample, SampleStore

logger = logging.getLogger(__name__)
CONFIRMATION_MS = 12000


def with_article(name: str) -> str:
    """``a 7``, ``an 8``, ``an 11``, ``an A``: "an" before a number said with a vowel (eight, eleven, eighteen,
    eighty…) and before a vowel letter."""
    text = name.strip().lower()
    said_with_a_vowel = text.startswith(("8", "a", "e", "i", "o", "u")) or text in ("11", "18")
    return f"{'an' if said_with_a_vowel else 'a'} {name}"


class UndoNote(QWidget):
    """A status-bar note: what was saved, and an Undo button (hidden again after a while)."""

    undo_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.button = QPushButton("Undo")
        self.button.setObjectName("UndoSampleButton")
        self.button.clicked.connect(self.undo_clicked)
        layout.addWidget(self.label)
        layout.addWidget(self.button)
        self._timer = QTimer(self, singleShot=True, interval=CONFIRMATION_MS)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_note(self, text: str, can_undo: bool = True) -> None:
        """Show ``text`` (with Undo when ``can_undo``) for a while."""
        self.label.setText(text)
        self.button.setVisible(can_undo)
        self.show()
        self._timer.start()


class Corrections(QObject):
    """The current drawing, the "That's a …" menu and actions (keys 0-9 on the drawing area), saving and Undo."""

    samples_changed = Signal()
    status_changed = Signal(str, int)

    def __init__(self, store: SampleStore, parent: QWidget) -> None:
        super().__init__(parent)
        self.store = store
        self._parent_widget = parent
        self._digit28: np.ndarray | None = None
        self._canvas_image: np.ndarray | None = None
        self._predicted: int | None = None
        self._class_names: list[str] = [str(digit) for digit in range(10)]
        self._last_saved: Sample | None = None
        self.note = UndoNote()
        self.note.undo_clicked.connect(self.undo_last)
        self.menu = QMenu("That's a…", parent)
        self.menu.setObjectName("ThatsAMenu")
        self.menu.aboutToShow.connect(self._fill_menu)
        self.add_action = QAction("&Add to my samples", parent)
        self.add_action.setToolTip("Save this drawing to My samples as the class the model reads (it is right)")
        self.add_action.triggered.connect(self.add_as_predicted)
        self.key_actions = [self._key_action(index) for index in range(10)]
        self._fill_menu()

    def _key_action(self, index: int) -> QAction:
        action = QAction(f"That's {with_article(str(index))}", self._parent_widget)
        action.setShortcut(QKeySequence(str(index)))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda: self.correct(index))
        return action

    @property
    def has_drawing(self) -> bool:
        """True while a drawing with a prediction can be saved."""
        return self._digit28 is not None

    def set_class_names(self, names: list[str]) -> None:
        """The active model's classes (what the menu offers)."""
        self._class_names = list(names)
        self._fill_menu()

    @Slot(dict)
    def follow_prediction(self, result: dict) -> None:
        """Remember the drawing's 28x28 and the model's answer (a blank or failed one forgets the drawing)."""
        if result.get("error") or result.get("blank") or result.get("image") is None:
            self._digit28 = None
            self._predicted = None
        else:
            self._digit28 = np.asarray(result["image"], dtype=np.float32)
            probabilities = result.get("probabilities")
            self._predicted = None if probabilities is None else int(np.argmax(probabilities))
        self._fill_menu()

    def set_canvas_image(self, image: np.ndarray | None) -> None:
        """The drawing at canvas resolution (gray, [0, 1] or uint8), saved beside the 28x28."""
        self._canvas_image = None if image is None else np.asarray(image)

    def _fill_menu(self) -> None:
        self.menu.clear()
        enabled = self.has_drawing
        for index, name in enumerate(self._class_names):
            suffix = " (as the model reads it)" if index == self._predicted else ""
            action = self.menu.addAction(f"That's {with_article(name)}{suffix}")
            action.setEnabled(enabled)
            action.triggered.connect(lambda _=False, i=index: self.correct(i))
        self.add_action.setEnabled(enabled and self._predicted is not None)
        for action in getattr(self, "key_actions", []):
            action.setEnabled(enabled)

    @Slot(int)
    def offer_for_class(self, index: int) -> None:
        """A probability bar was clicked: offer "That's a …" for its class beside the pointer (never modal)."""
        if not self.has_drawing or not 0 <= index < len(self._class_names):
            return
        popup = QMenu(self._parent_widget)
        popup.setObjectName("BarCorrectionMenu")
        popup.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        name = self._class_names[index]
        text = (
            f"That's {with_article(name)}: add to my samples"
            if index != self._predicted
            else f"Add to my samples as {with_article(name)}"
        )
        popup.addAction(text).triggered.connect(lambda: self.correct(index))
        self.bar_menu = popup
        popup.popup(QCursor.pos() + QPoint(8, 8))

    @Slot()
    def add_as_predicted(self) -> None:
        """ "Add to my samples": save the drawing as the class the model reads."""
        if self._predicted is not None:
            self.correct(self._predicted, source="added")

    def correct(self, index: int, source: str | None = None) -> Sample | None:
        """Save the drawing with class ``index``; a status-bar note with Undo confirms it."""
        if not self.has_drawing or not 0 <= index < len(self._class_names):
            self.status_changed.emit("Draw a digit first, then say what it is.", 5000)
            return None
        name = self._class_names[index]
        if source is None:
            source = "added" if index == self._predicted else "correction"
        try:
            sample = self.store.add(name, self._digit28, _as_unit_gray(self._canvas_image), source)
        except (DigitLabError, OSError) as error:
            logger.warning("Could not save a sample: %s", error)
            self.status_changed.emit(f"Could not save the sample: {error}", 10000)
            return None
        self._last_saved = sample
        count = len(self.store.of_class(name))
        self.note.show_note(
            f"Saved as {with_article(name)} in My samples ({count} of {name}, {len(self.store)} in all)."
        )
        self.samples_changed.emit()
        return sample

    @Slot()
    def undo_last(self) -> None:
        """Remove the sample saved last (the note's Undo)."""
        sample, self._last_saved = self._last_saved, None
        if sample is None:
            return
        try:
            self.store.remove(sample.id)
        except KeyError:  # already deleted in My samples: nothing to undo
            self.note.show_note(f"That {sample.label} was already deleted from My samples.", can_undo=False)
            return
        except (DigitLabError, OSError) as error:
            self.status_changed.emit(f"Could not undo: {error}", 10000)
            return
        self.note.show_note(f"Removed the {sample.label} from My samples.", can_undo=False)
        self.samples_changed.emit()


def _as_unit_gray(image: np.ndarray | None) -> np.ndarray | None:
    """A canvas image as gray float in [0, 1] with white ink on black (how the 28x28s are stored)."""
    if image is None:
        return None
    gray = np.asarray(image, dtype=np.float32)
    if gray.ndim == 3:
        gray = gray[..., :3].mean(axis=-1)
    if gray.max() > 1.0:
        gray = gray / 255.0
    return 1.0 - gray if float(np.median(gray)) > 0.5 else gray
