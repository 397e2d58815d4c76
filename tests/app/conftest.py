"""Fixtures shared by the window's tests."""

from __future__ import annotations

import pytest

from app.main_window import MainWindow
from tests.app.test_main_window import wait_until_model_loaded


@pytest.fixture
def started_window(qtbot, settings):
    """A shown main window whose model thread has loaded the bundled model; shut down and closed afterwards."""
    window = MainWindow(settings)
    window.show()
    wait_until_model_loaded(window)
    yield window
    window.shutdown()
    window.close()
