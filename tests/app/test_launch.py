"""The launch: the window shows once the model thread's start-up work has settled, prepared for its first answer."""

from __future__ import annotations

import pytest

from ml.assets import bundled_model_path
from tests.app.models.test_worker import report_of_fresh_process

pytestmark = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")


def test_the_window_shows_once_drawings_are_answered_and_before_tensorflow_is_imported(tmp_path):
    """In a fresh process with a wait long enough to hang the test: only the model's signal can end it. At show time
    the shipped numpy weights answer and the first answer's imports are done; TensorFlow waits for the event loop."""
    code = f"""
import json, sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
import app.launch as launch
from app.main_window import MainWindow
launch.STARTUP_WAIT_MS = 600_000
window = MainWindow(QSettings({str(tmp_path / "launch.ini")!r}, QSettings.Format.IniFormat))
settled = []
window.models.startup_settled.connect(settled.append)
launch.start_then_show(window)
import gc
report = dict(visible=window.isVisible(), settled=settled, answering=window.models._fast_path_ready,
              scipy="scipy" in sys.modules, tensorflow="tensorflow" in sys.modules,
              message=window.prediction.message.text(), stage_room=window.prediction.stages.minimumHeight(),
              frozen=gc.get_freeze_count())
window.shutdown()
print(json.dumps(report))
"""
    report = report_of_fresh_process(code)
    assert report["visible"] and report["settled"] == [True] and report["answering"]
    assert report["scipy"] and not report["tensorflow"]
    # the hidden window showed the warm-up answer once (its stage columns and their room are built) and reads blank
    assert report["message"] == "Draw a digit" and report["stage_room"] > 0
    assert report["frozen"] > 10_000  # start-up's objects are out of reach of full collections


def test_a_window_that_cannot_be_built_says_why_on_the_terminal_and_in_a_dialog(qtbot, monkeypatch, capsys, tmp_path):
    import app.launch as launch

    def broken_window():
        raise TypeError("restoreGeometry called with wrong argument types")

    shown = []
    monkeypatch.setattr(launch, "MainWindow", broken_window)
    monkeypatch.setattr(launch.QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))
    assert launch.open_window(tmp_path / "digitlab.log") is None
    error = capsys.readouterr().err
    assert "could not open: TypeError: restoreGeometry" in error and str(tmp_path / "digitlab.log") in error
    assert shown and shown[0][0] == "Digit Lab cannot start" and "TypeError" in shown[0][1]


def test_a_job_outlasting_the_close_never_aborts_the_process_as_python_exits():
    """A job still running past the wait (a slow TensorFlow import) aborted Python's exit: status 134, a core dump."""
    import os
    import subprocess
    import sys

    code = """
import sys, threading
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.common.threads import keep_until_finished, start_worker_thread
import app.launch as launch

class LongJob(QObject):
    finished = Signal()

    @Slot()
    def run(self):
        threading.Event().wait(3)
        self.finished.emit()

job = LongJob()
keep_until_finished(start_worker_thread(job, "LongJobThread", lambda: None), job)
sys.exit(launch.status_after_threads(0, timeout_ms=200))
"""
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Destroyed while thread" not in result.stderr
