"""Qt's own file dialogs, opened roomy: where the desktop offers no native dialog, Qt's is small and cuts its columns.

Every file dialog in Digit Lab is a static ``QFileDialog.get…`` call (the tests replace those). Rather than change each
call, :func:`install_roomy_file_dialogs` watches the application's focus: when focus first enters a Qt file dialog,
the dialog is enlarged to fit its four columns and shown in the detail view, its files' types read from their names
(:class:`NameOnlyIconProvider`). A native dialog has no Qt widget to focus, so it is left alone.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QFileInfo, QMimeDatabase, QObject, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QFileDialog, QFileIconProvider, QHeaderView, QSplitter, QTreeView, QWidget

ROOMY_SIZE = (980, 620)  # pixels, or 90 % of the screen where that is smaller
SIDEBAR_WIDTH = 180
COLUMN_WIDTHS = {1: 90, 2: 130, 3: 170}  # Size, Type, Date Modified; Name takes the rest
_SIZED = "digitlab_roomy"


class NameOnlyIconProvider(QFileIconProvider):
    """Files' types and icons from their names alone. Qt's own provider reads each file's first bytes for its "Type"
    column, and a file whose read never returns (``/proc/kmsg`` for root) froze the window for good once the user
    typed ``/proc/``."""

    def __init__(self) -> None:
        super().__init__()
        self._mimes = QMimeDatabase()

    def type(self, info: QFileInfo) -> str:  # noqa: A003 - Qt's name
        """"Folder", the type its suffix names ("PNG image"), or "KERAS file"."""
        if info.isDir():
            return "Folder"
        mime = self._mimes.mimeTypeForFile(info, QMimeDatabase.MatchMode.MatchExtension)
        if not mime.isDefault():
            return mime.comment()
        return f"{info.suffix().upper()} file" if info.suffix() else "File"

    def icon(self, kind) -> QIcon:
        """A folder's or a file's generic icon (never one chosen by reading the file)."""
        if isinstance(kind, QFileInfo):
            kind = QFileIconProvider.IconType.Folder if kind.isDir() else QFileIconProvider.IconType.File
        return super().icon(kind)


@lru_cache(maxsize=1)
def name_only_icons() -> NameOnlyIconProvider:
    """The one provider every file dialog shares (a provider must outlive the dialogs that use it)."""
    return NameOnlyIconProvider()


def make_roomy(dialog: QFileDialog) -> None:
    """Enlarge a Qt file dialog (once), show details, and give every column room for its heading and values."""
    if dialog.property(_SIZED):
        return
    dialog.setProperty(_SIZED, True)
    dialog.setIconProvider(name_only_icons())
    width, height = ROOMY_SIZE
    screen = dialog.screen()
    if screen is not None:
        available = screen.availableGeometry()
        width, height = min(width, int(available.width() * 0.9)), min(height, int(available.height() * 0.9))
    if dialog.width() < width or dialog.height() < height:
        dialog.resize(max(dialog.width(), width), max(dialog.height(), height))
        parent = dialog.parentWidget()
        if parent is not None:
            center = parent.window().frameGeometry().center()
            dialog.move(center.x() - dialog.width() // 2, center.y() - dialog.height() // 2)
    dialog.setViewMode(QFileDialog.ViewMode.Detail)
    splitter = dialog.findChild(QSplitter, "splitter")
    if splitter is not None and splitter.count() == 2:
        splitter.setSizes([SIDEBAR_WIDTH, max(1, dialog.width() - SIDEBAR_WIDTH)])
    details = dialog.findChild(QTreeView, "treeView")
    if details is not None:
        header = details.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, minimum in COLUMN_WIDTHS.items():
            if column < header.count():
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
                header.resizeSection(column, max(minimum, header.sectionSizeHint(column)))


class RoomyFileDialogs(QObject):
    """Makes each Qt file dialog roomy as focus first enters it (see the module)."""

    def __init__(self, application: QApplication) -> None:
        super().__init__(application)
        self._application = application
        self._watching = True
        application.focusChanged.connect(self._on_focus_changed)
        application.aboutToQuit.connect(self.stop)  # no Python slot while the application's widgets are torn down

    @Slot()
    def stop(self) -> None:
        """Stop watching (the application is quitting)."""
        if self._watching:
            self._watching = False
            self._application.focusChanged.disconnect(self._on_focus_changed)

    @Slot(QWidget, QWidget)
    def _on_focus_changed(self, old: QWidget | None, now: QWidget | None) -> None:
        dialog = now.window() if now is not None else None
        if isinstance(dialog, QFileDialog):
            make_roomy(dialog)


def install_roomy_file_dialogs(application: QApplication) -> RoomyFileDialogs:
    """Watch ``application`` for Qt file dialogs (once per application)."""
    existing = application.findChild(RoomyFileDialogs)
    return existing if existing is not None else RoomyFileDialogs(application)
