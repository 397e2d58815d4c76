"""A dock above or below the central area that keeps its share of the window's height as the window is resized."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea


class DockHeightShare(QObject):
    """Resizes ``dock`` with its window so that it keeps its share of the height (QMainWindow gives all to the centre).

    The share is the dock's part of the height before the resize, so a height the user chose by dragging the
    separator scales with the window. A window too small for both the centre and the dock squeezes the dock; that
    squeezed height is not learnt as the share, so growing the window again gives the dock its part back. The dock
    never gets less than what its contents need to show without scrolling (when the window has that room).
    """

    def __init__(self, window: QMainWindow, dock: QDockWidget) -> None:
        super().__init__(window)
        self.window = window
        self.dock = dock
        self.share: float | None = None
        self._asked_for: int | None = None
        self._wanted = 0
        self._timer = QTimer(self)  # a child: it dies with this object, so it never fires into a closed window
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._resize_to_wanted)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """On a window resize (seen before the layout moves anything), size the dock for the new height."""
        if event.type() != QEvent.Type.Resize:  # first: other events also come while the window is torn down
            return False
        if watched is self.window and isinstance(event, QResizeEvent):
            old_height, new_height = event.oldSize().height(), event.size().height()
            if self.window.isVisible() and old_height > 0 and new_height != old_height and self._docked():
                self._learn_share(old_height)
                if self.share is not None:
                    self._wanted = round(self.share * new_height)
                    self._timer.start(0)  # after the layout has taken the new size
        return False

    def _docked(self) -> bool:
        return not self.dock.isFloating() and self.dock.isVisible()

    def _learn_share(self, window_height: int) -> None:
        """Take the dock's present part of the height as its share, unless the window's size squeezed it."""
        height = self.dock.height()
        central = self.window.centralWidget()
        squeezed = central is not None and central.height() <= central.minimumSizeHint().height() + 2
        moved_by_user = self._asked_for is None or abs(height - self._asked_for) > 4
        if self.share is None or (moved_by_user and not squeezed):
            self.share = height / window_height

    def _resize_to_wanted(self) -> None:
        self.resize_dock(self._wanted)

    def resize_dock(self, height: int) -> None:
        """Give the dock ``height`` pixels, but at least what its contents need."""
        if not self._docked():
            return
        self._asked_for = max(height, self.needed_height())
        self.window.resizeDocks([self.dock], [self._asked_for], Qt.Orientation.Vertical)

    def needed_height(self) -> int:
        """The dock's height when its contents (inside any scroll area) get their minimum: the title bar included."""
        content = self.dock.widget()
        if content is None:
            return 0
        if isinstance(content, QScrollArea) and content.widget() is not None:
            inner = content.widget().minimumSizeHint().height()
        else:
            inner = content.minimumSizeHint().height()
        return inner + max(0, self.dock.height() - content.height())
