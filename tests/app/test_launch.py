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
