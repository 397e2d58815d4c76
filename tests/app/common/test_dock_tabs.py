"""Tab skips a dock tab bar parked out of view, in either direction, and keeps one in view as a stop."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QMainWindow, QPushButton, QTabBar, QVBoxLayout, QWidget

from app.common.dock_tabs import OffscreenTabBarSkipper


@pytest.fixture
def window(qtbot):
    window = QMainWindow()
    central = QWidget()
    layout = QVBoxLayout(central)
    window.first, window.last = QLineEdit(), QPushButton("Last")
    layout.addWidget(window.first)
    layout.addWidget(window.last)
    window.setCentralWidget(central)
    window.parked = QTabBar(window)  # as QMainWindow parks an unused dock tab bar: outside, yet visible
    window.parked.addTab("Training")
    window.skipper = OffscreenTabBarSkipper(window)
    window.resize(400, 300)
    window.show()
    qtbot.waitExposed(window)
    window.parked.setGeometry(-600, -530, 100, 30)
    window.first.setFocus()
    return window


def test_tab_passes_over_a_parked_tab_bar_both_ways(qtbot, window):
    window.first.setFocus(Qt.FocusReason.TabFocusReason)
    window.parked.setFocus(Qt.FocusReason.TabFocusReason)  # where Tab would go next
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not window.parked)
    assert QApplication.focusWidget() is not window.parked
    window.parked.setFocus(Qt.FocusReason.BacktabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not window.parked)
    assert not window.skipper.is_in_view(window.parked)


def test_a_tab_bar_in_view_keeps_the_focus(qtbot, window):
    window.parked.setGeometry(10, 250, 100, 30)
    assert window.skipper.is_in_view(window.parked)
    window.parked.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.wait(50)
    assert QApplication.focusWidget() is window.parked


def test_tab_bars_made_later_are_watched_too(qtbot, window):
    later = QTabBar(window)
    later.addTab("Look inside")
    later.show()
    later.setGeometry(-600, -530, 100, 30)
    qtbot.wait(10)  # the window hears of its polished child
    later.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not later)
