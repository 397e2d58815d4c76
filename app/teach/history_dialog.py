"""Model ▸ History: the model versions (date, samples, accuracy on your samples and the test set); switch or delete."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ml.errors import ModelFileError
from ml.teach.versions import INDEX_NAME, ModelVersion, VersionStore

COLUMNS = ("Version", "Date", "Samples", "Your samples", "Test set")
SAMPLES_COLUMN = 2


def _percent(before: float | None, after: float | None) -> str:
    if after is None:
        return "–"
    start = "–" if before is None else f"{100 * before:.1f}"
    return f"{start} → {100 * after:.1f} %"


def local_time(stamp: str) -> str:
    """``2026-12-07 23:42`` in the user's time zone for a stamp with an offset (a teach records UTC); a stamp
    without one is shown as it is."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp.replace("T", " ")[:16]
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return f"{moment:%Y-%m-%d %H:%M}"


def unwritable_words(folder: Path, error: OSError, what: str) -> str:
    """Why History cannot ``what`` (switch, delete) when its list cannot be written, in plain words."""
    reason = error.strerror or str(error)
    return (
        f"Cannot {what}: the model history cannot be written ({folder / INDEX_NAME}: {reason}). "
        "Nothing was changed. Make the folder writable, then try again."
    )


def version_row(version: ModelVersion, active: bool) -> list[str]:
    """The table's cells for one version."""
    record = version.record
    name = f"{version.name}{'  (active)' if active else ''}"
    date = local_time(record.get("date") or version.created or "")
    if version.is_original:
        return [name, date, "original", "–", "–"]
    samples = record.get("samples_per_class", {})  # the taught ones: the held-back ones are counted apart
    taught, held = sum(samples.values()), int(record.get("held_back") or 0)
    count = f"{taught + held}: {taught} taught, {held} held back" if held else f"{taught}"
    text = f"{count} ({', '.join(f'{k}:{v}' for k, v in samples.items())})"
    return [
        name,
        date,
        text,
        _percent(record.get("samples_before"), record.get("samples_after")),
        _percent(record.get("test_before"), record.get("test_after")),
    ]


class HistoryDialog(QDialog):
    """Lists the versions; Switch makes one active (through the window's model thread), Delete forgets one."""

    switch_requested = Signal(str, str)  # the version's model file and name

    def __init__(self, versions: VersionStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HistoryDialog")
        self.setWindowTitle("Model history")
        self.versions = versions
        self.active_path: str | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("HistoryTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SAMPLES_COLUMN, QHeaderView.ResizeMode.Stretch)  # the long one gives way:
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)  # it ends in "…", the figures stay whole
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _index: self.switch_selected())
        self.empty = QLabel("No versions yet: correct a few drawings, then Teach (My samples ▸ Teach the model…).")
        self.empty.setWordWrap(True)
        self.switch_button = QPushButton("Switch to this version")
        self.switch_button.clicked.connect(self.switch_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.switch_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.resize(820, 320)
        self.refresh()

    def set_active_path(self, path: str | None) -> None:
        """The window's active model file (marked in the list)."""
        self.active_path = path
        self.refresh()

    def _is_active(self, version: ModelVersion) -> bool:
        return self.active_path is not None and self.versions.find_path(self.active_path) == version

    @Slot()
    def refresh(self) -> None:
        """Redraw the table from the store, newest first."""
        rows = list(reversed(self.versions.versions))
        self.table.setRowCount(len(rows))
        for row, version in enumerate(rows):
            for column, text in enumerate(version_row(version, self._is_active(version))):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, version.id)
                item.setToolTip(f"{text}\n{version.path}" if column == SAMPLES_COLUMN else version.path)
                self.table.setItem(row, column, item)
        self.empty.setVisible(not rows)
        self._update_buttons()

    def selected_version(self) -> ModelVersion | None:
        """The chosen version, or None."""
        items = self.table.selectedItems()
        return self.versions.get(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def _update_buttons(self) -> None:
        version = self.selected_version()
        self.switch_button.setEnabled(version is not None and not self._is_active(version))
        self.delete_button.setEnabled(version is not None and not self._is_active(version))

    @Slot()
    def switch_selected(self) -> None:
        """Ask the window to load the chosen version; History marks it active once it has loaded (the room does, on
        the window's ``model_loaded``), so a load that fails leaves the mark as it was. A history that cannot be
        written is said so, and nothing is switched."""
        version = self.selected_version()
        if version is None or self._is_active(version):
            return
        try:
            self.versions.check_writable()
        except OSError as error:
            QMessageBox.warning(
                self, "Cannot switch", unwritable_words(self.versions.folder, error, f"switch to {version.name}")
            )
            return
        self.switch_requested.emit(version.path, version.name)

    @Slot()
    def delete_selected(self) -> None:
        """Forget the chosen version (a taught one's file is deleted; an opened original file stays)."""
        version = self.selected_version()
        if version is None or self._is_active(version):
            return
        if version.is_original and version.source is not None:
            what = "History's own copy of it is deleted; a run's model may be gone from the cache of recent runs"
        else:
            what = "its file is kept" if version.is_original else "its model file is deleted"
        answer = QMessageBox.question(self, "Delete version", f"Delete {version.name} from the history ({what})?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        marked = self.versions.active
        if marked == version.id:  # marked active, but the window shows another: the mark is out of date
            self.versions.active = None
        try:
            self.versions.delete(version.id)
        except ModelFileError as error:
            self.versions.active = marked
            QMessageBox.warning(self, "Cannot delete", str(error))
        except OSError as error:  # the store listed nothing as changed: the version and its file stay
            self.versions.active = marked
            QMessageBox.warning(
                self, "Cannot delete", unwritable_words(self.versions.folder, error, f"delete {version.name}")
            )
        self.refresh()
