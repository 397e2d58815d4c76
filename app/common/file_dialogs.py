"""Qt's own file dialogs, opened roomy: where the desktop offers no native dialog, Qt's is small and cuts its columns.

Every file dialog in Digit Lab is a static ``QFileDialog.get…`` call (the tests replace those). Rather than change each
call, :func:`install_roomy_file_dialogs` watches the application's focus: when focus first enters a Qt file dialog,
the dialog is enlarged to fit its four columns and shown in the detail view. A native dialog has no Qt widget to
focus, so it is left alone.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QApplication, QFileDialog, QHeaderView, QSplitter, QTreeView, QWidget

ROOMY_SIZE = (980, 620)  # pixels, or 90 % of the screen where that is smaller
SIDEBAR_WIDTH = 180
COLUMN_WIDTHS = {1: 90, 2: 130, 3: 170}  # Size, Type, Date Modified; Name takes the rest
_SIZED = "digitlab_roomy"


def make_roomy(dialog: QFileDialog) -> None:
    """Enlarge a Qt file dialog (once), show details, and give every column room for its heading and values."""
    if dialog.property(_SIZED):
        return
    dialog.setProperty(_SIZED, True)
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
