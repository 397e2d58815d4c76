"""My samples: a gallery per class with counts; delete, move to another class, import and export folders."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, QThread, Signal, Slot
from PySide6.QtGui import QAction, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.common.threads import keep_until_finished, start_worker_thread
from ml.errors import DigitLabError, ImageReadError
from ml.plurals import plural
from ml.teach.samples import SampleStore

logger = logging.getLogger(__name__)
THUMBNAIL = 56
ALL_CLASSES = "All"


def digit_pixmap(image28: np.ndarray, side: int = THUMBNAIL) -> QPixmap:
    """A 28x28 white-on-black digit as a square pixmap, pixels kept sharp."""
    pixels = np.ascontiguousarray(np.clip(image28 * 255, 0, 255).astype(np.uint8))
    image = QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio)


class ImportWorker(QObject):
    """Reads a folder of class subfolders into the store in its own thread (safe reader; bad files counted)."""

    done = Signal(str)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, store_folder: Path, folder: Path) -> None:
        super().__init__()
        self.store_folder = store_folder
        self.folder = folder

    @Slot()
    def run(self) -> None:
        try:
            report = SampleStore(self.store_folder).import_folder(self.folder)
            self.done.emit(report.message())
        except (DigitLabError, OSError) as error:
            self.failed.emit(str(error))
        except Exception:
            logger.exception("Importing %s failed", self.folder)
            self.failed.emit(f"Could not import {self.folder}; details are in the log.")
        finally:
            self.finished.emit()


class SamplesView(QWidget):
    """The gallery: classes with counts on the left, the chosen class's drawings on the right."""

    samples_changed = Signal()
    status_changed = Signal(str, int)
    teach_requested = Signal()

    def __init__(self, store: SampleStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SamplesView")
        self.store = store
        self.class_names: list[str] = [str(digit) for digit in range(10)]
        self._thread: QThread | None = None
        self._import_worker: ImportWorker | None = None
        self.classes = QListWidget()
        self.classes.setObjectName("SampleClasses")
        self.classes.setMaximumWidth(150)
        self.classes.currentRowChanged.connect(lambda _row: self._fill_gallery())
        self.gallery = QListWidget()
        self.gallery.setObjectName("SampleGallery")
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setMovement(QListWidget.Movement.Static)
        self.gallery.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.gallery.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.gallery.customContextMenuRequested.connect(self._show_context_menu)
        self.delete_action = QAction("Delete", self)
        self.delete_action.setShortcut("Del")
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_action.triggered.connect(self.delete_selected)
        self.gallery.addAction(self.delete_action)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.import_button = QPushButton("Import folder…")
        self.import_button.setToolTip("Add the images of a folder with one subfolder per class (0, 1, … 9)")
        self.import_button.clicked.connect(self.ask_import)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write every sample into a folder with one subfolder per class")
        self.export_button.clicked.connect(self.ask_export)
        self.teach_button = QPushButton("Teach the model…")
        self.teach_button.clicked.connect(self.teach_requested)
        buttons = QHBoxLayout()
        for button in (self.import_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.teach_button)
        body = QHBoxLayout()
        body.addWidget(self.classes)
        body.addWidget(self.gallery, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(body, 1)
        layout.addLayout(buttons)
        self.refresh()

    def set_class_names(self, names: list[str]) -> None:
        """The active model's classes: listed even without samples, so a drawing can be moved to any."""
        self.class_names = list(names)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Re-read the counts and redraw the gallery (keeps the chosen class)."""
        current = self.current_class()
        counts = self.store.counts()
        labels = list(self.class_names) + sorted(set(counts) - set(self.class_names))
        self.classes.blockSignals(True)
        self.classes.clear()
        self.classes.addItem(f"{ALL_CLASSES} ({len(self.store)})")
        self.classes.item(0).setData(Qt.ItemDataRole.UserRole, None)
        for label in labels:
            item = QListWidgetItem(f"{label}  ({counts.get(label, 0)})")
            item.setData(Qt.ItemDataRole.UserRole, label)
            if label not in self.class_names:
                item.setToolTip("The active model has no such class: these samples are left out of teaching")
            self.classes.addItem(item)
        rows = [self.classes.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.classes.count())]
        self.classes.setCurrentRow(rows.index(current) if current in rows else 0)
        self.classes.blockSignals(False)
        total = len(self.store)
        self.summary.setText(
            f"{plural(total, 'sample')} in {plural(len(counts), 'class', 'classes')}. "
            "Correct a drawing (click a bar, type its digit, or Edit ▸ That's a…) to add one."
        )
        self.export_button.setEnabled(total > 0)
        self.teach_button.setEnabled(total > 0)
        self._fill_gallery()

    def current_class(self) -> str | None:
        """The class shown (None: all)."""
        item = self.classes.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _fill_gallery(self) -> None:
        self.gallery.clear()
        label = self.current_class()
        samples = self.store.samples if label is None else self.store.of_class(label)
        for sample in samples:
            try:
                icon = QIcon(digit_pixmap(self.store.digit_image(sample)))
            except (ImageReadError, OSError):
                icon = QIcon()
            item = QListWidgetItem(icon, sample.label)
            item.setData(Qt.ItemDataRole.UserRole, sample.id)
            item.setToolTip(f"{sample.label} · {sample.source} · {sample.added}")
            self.gallery.addItem(item)

    def selected_ids(self) -> list[str]:
        """The ids of the selected drawings."""
        return [item.data(Qt.ItemDataRole.UserRole) for item in self.gallery.selectedItems()]

    def _show_context_menu(self, position) -> None:
        if not self.selected_ids():
            return
        menu = QMenu(self)
        menu.addAction(self.delete_action)
        move = menu.addMenu("Move to class")
        for label in self.class_names:
            move.addAction(label).triggered.connect(lambda _=False, name=label: self.move_selected(name))
        menu.exec(self.gallery.viewport().mapToGlobal(position))

    @Slot()
    def delete_selected(self) -> None:
        """Delete the selected drawings."""
        ids = self.selected_ids()
        done = self._each(ids, self.store.remove, "delete")
        if done == len(ids) and ids:
            self.status_changed.emit(f"Deleted {plural(len(ids), 'sample')}.", 5000)
        if ids:
            self._changed()

    def move_selected(self, label: str) -> None:
        """Give the selected drawings class ``label``."""
        ids = self.selected_ids()
        done = self._each(ids, lambda sample_id: self.store.move(sample_id, label), "move")
        if done == len(ids) and ids:
            self.status_changed.emit(f"Moved {plural(len(ids), 'sample')} to {label}.", 5000)
        if ids:
            self._changed()

    def _each(self, ids: list[str], change, verb: str) -> int:
        """Apply ``change`` to each id; a folder that cannot be written stops it with a status message (the
        index keeps what it had). Returns how many were changed."""
        done = 0
        for sample_id in ids:
            try:
                change(sample_id)
            except KeyError:
                continue  # gone already (an Undo, another store)
            except (DigitLabError, OSError) as error:
                logger.warning("Could not %s sample %s: %s", verb, sample_id, error)
                reason = getattr(error, "strerror", None) or str(error)
                left = len(ids) - done
                self.status_changed.emit(f"Could not {verb} {plural(left, 'sample')}: {reason}.", 10000)
                self.store.reload()
                break
            done += 1
        return done

    def _changed(self) -> None:
        self.refresh()
        self.samples_changed.emit()

    @Slot()
    def ask_import(self) -> None:
        """Ask for a folder with class subfolders and import it in a worker thread."""
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of class subfolders")
        if folder:
            self.import_folder(Path(folder))

    def import_folder(self, folder: Path) -> None:
        """Import ``folder`` in the background; the gallery refreshes when done."""
        if self._thread is not None:
            return
        worker = ImportWorker(self.store.folder, folder)
        worker.done.connect(self._on_imported)
        worker.failed.connect(lambda message: QMessageBox.warning(self, "Cannot import", message))
        self.import_button.setEnabled(False)
        self.status_changed.emit(f"Importing {folder.name}…", 0)
        self._import_worker = worker  # held until its thread has finished: Python owns it
        self._thread = start_worker_thread(worker, "ImportSamples", self._on_import_thread_finished)

    def _on_imported(self, message: str) -> None:
        self.store.reload()
        self.status_changed.emit(message, 10000)
        self._changed()

    def _on_import_thread_finished(self) -> None:
        self._thread = self._import_worker = None
        self.import_button.setEnabled(True)

    @Slot()
    def ask_export(self) -> None:
        """Ask for a folder and write every sample there, one subfolder per class."""
        folder = QFileDialog.getExistingDirectory(self, "Export my samples to a folder")
        if not folder:
            return
        try:
            count = self.store.export_folder(folder)
        except OSError as error:
            QMessageBox.warning(self, "Cannot export", f"Could not write to {folder}: {error.strerror or error}.")
            return
        self.status_changed.emit(f"Exported {plural(count, 'sample')} to {folder}.", 10000)

    def shutdown(self, timeout_ms: int = 2000) -> None:
        """Wait for an import still running (its thread and worker held past the timeout)."""
        if self._thread is None:
            return
        self._thread.quit()  # ends its event loop once the worker returns (its own quit would wait for us)
        if not self._thread.wait(timeout_ms):
            keep_until_finished(self._thread, self._import_worker)
