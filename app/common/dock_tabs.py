"""Tab never lands on a dock tab bar that is parked off screen.

QMainWindow keeps a tab bar for docks that were once tabbed together; when it is not needed it is moved outside the
window but stays visible, so Tab gave it the focus and the focus vanished from sight. This watcher passes the focus
on from such a bar, in the direction Tab (or Shift+Tab) was going. A tab bar in view stays a Tab stop.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import QMainWindow, QTabBar


class OffscreenTabBarSkipper(QObject):
    """Watches a main window's dock tab bars (present and future) and skips those out of view."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        window.installEventFilter(self)
        for bar in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            bar.installEventFilter(self)

    def is_in_view(self, bar: QTabBar) -> bool:
        """True when the bar is shown inside the window."""
        return bar.isVisible() and self._window.rect().intersects(bar.geometry())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Watch new tab bars; pass the focus on from one out of view."""
        window = getattr(self, "_window", None)  # None while the window is being destroyed
        if window is None:
            return False
        if watched is window:
            if event.type() == QEvent.Type.ChildPolished and isinstance(event.child(), QTabBar):
                event.child().installEventFilter(self)
        elif event.type() == QEvent.Type.FocusIn and isinstance(watched, QTabBar) and not self.is_in_view(watched):
            forward = not (isinstance(event, QFocusEvent) and event.reason() == Qt.FocusReason.BacktabFocusReason)
            QTimer.singleShot(0, self, lambda: window.focusNextPrevChild(forward))
        return False
