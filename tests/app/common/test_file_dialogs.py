"""Qt's own file dialogs open roomy: big enough for four uncut columns, in the detail view, once each."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QTreeView, QWidget

from app.common.file_dialogs import COLUMN_WIDTHS, RoomyFileDialogs, install_roomy_file_dialogs, make_roomy


@pytest.fixture
def qt_dialog(qtbot, tmp_path):
    (tmp_path / "a model with a rather long file name.keras").write_bytes(b"")
    dialog = QFileDialog(None, "Open model", str(tmp_path), "Keras models (*.keras)")
    qtbot.addWidget(dialog)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # Qt's own, as where the desktop has none
    dialog.setViewMode(QFileDialog.ViewMode.List)
    return dialog


def test_a_qt_file_dialog_is_enlarged_and_shows_every_column(qt_dialog):
    small = qt_dialog.sizeHint()
    make_roomy(qt_dialog)
    qt_dialog.show()
    screen = qt_dialog.screen().availableGeometry()
    assert qt_dialog.width() >= min(980, int(screen.width() * 0.9)) > small.width()
    assert qt_dialog.viewMode() == QFileDialog.ViewMode.Detail
    header = qt_dialog.findChild(QTreeView, "treeView").header()
    for column, minimum in COLUMN_WIDTHS.items():
        assert header.sectionSize(column) >= minimum  # "Date Modified" and the dates fit
    width = qt_dialog.width()
    qt_dialog.resize(width - 100, qt_dialog.height())
    make_roomy(qt_dialog)  # once only: the user's own size stays
    assert qt_dialog.width() == width - 100


def test_focus_entering_a_qt_file_dialog_makes_it_roomy_once(qtbot, qt_dialog):
    watcher = install_roomy_file_dialogs(QApplication.instance())
    assert install_roomy_file_dialogs(QApplication.instance()) is watcher  # one per application
    assert isinstance(watcher, RoomyFileDialogs)
    qt_dialog.show()  # not activated: an active dialog left behind would change later tests' windows
    name_field = qt_dialog.findChild(QLineEdit, "fileNameEdit")
    watcher._on_focus_changed(None, name_field)  # as QApplication.focusChanged reports it
    assert qt_dialog.property("digitlab_roomy") is True
    assert qt_dialog.viewMode() == QFileDialog.ViewMode.Detail


def test_focus_elsewhere_leaves_other_windows_alone(qtbot):
    watcher = install_roomy_file_dialogs(QApplication.instance())
    window = QWidget()
    qtbot.addWidget(window)
    window.resize(200, 100)
    watcher._on_focus_changed(None, window)
    watcher._on_focus_changed(window, None)
    assert window.size().width() == 200 and window.property("digitlab_roomy") is None


def test_the_watcher_lets_go_when_the_application_quits(qtbot):
    from PySide6.QtCore import SIGNAL

    application = QApplication.instance()
    signal = SIGNAL("focusChanged(QWidget*,QWidget*)")
    before = application.receivers(signal)
    watcher = RoomyFileDialogs(application)
    assert application.receivers(signal) == before + 1
    watcher.stop()  # what aboutToQuit calls
    assert application.receivers(signal) == before
    watcher.stop()  # twice is harmless
    watcher.deleteLater()


def test_file_types_come_from_names_so_a_file_that_blocks_on_reading_cannot_freeze_the_dialog(qt_dialog, tmp_path):
    """Qt's own provider reads each file's first bytes for its type: /proc/kmsg never answers a reader (as root)."""
    import os
    import subprocess
    import sys

    from PySide6.QtCore import QFileInfo

    from app.common.file_dialogs import NameOnlyIconProvider

    make_roomy(qt_dialog)
    provider = qt_dialog.iconProvider()
    assert isinstance(provider, NameOnlyIconProvider)
    assert provider.type(QFileInfo(str(tmp_path))) == "Folder"
    assert provider.type(QFileInfo(str(tmp_path / "seven.png"))) == "PNG image"
    assert provider.type(QFileInfo(str(tmp_path / "a model with a rather long file name.keras"))) == "KERAS file"
    if not os.access("/proc/kmsg", os.R_OK):
        pytest.skip("only root can open /proc/kmsg, the file whose read never returns")
    code = (
        "from PySide6.QtCore import QFileInfo; from PySide6.QtWidgets import QApplication; "
        "from app.common.file_dialogs import NameOnlyIconProvider; app = QApplication([]); "
        "print(NameOnlyIconProvider().type(QFileInfo('/proc/kmsg')))"
    )
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=environment)
    assert done.returncode == 0 and done.stdout.strip() == "File"  # Qt's own provider waits here for ever
