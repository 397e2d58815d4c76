"""The window's corrections: clicking a bar (and typing a digit) saves the drawing to My samples; Undo; History."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QMenu

from app.common import user_folders
from app.main_window import MainWindow
from ml.assets import bundled_model_path
from ml.teach.samples import SampleStore
from tests.app.test_main_window import final_prediction

pytestmark = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")


@pytest.fixture
def data_folder(tmp_path, monkeypatch):
    """The user's data folder, under the test's own folder."""
    monkeypatch.setattr(user_folders, "user_data_folder", lambda: tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
def window(data_folder, started_window):
    return started_window


def _draw_a_one(qtbot, window: MainWindow) -> dict:
    return final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(140, 40), (140, 240)], 18))


@pytest.mark.qt_log_ignore("This plugin does not support (grabbing the keyboard|raise|propagateSizeHints)")
def test_correcting_a_drawing_through_the_bars_grows_the_sample_count_and_undo_removes_it(qtbot, window, tmp_path):
    shown = _draw_a_one(qtbot, window)
    assert shown["predicted_index"] == 1
    room = window.teaching
    bars = window.prediction.bars
    point = bars.mapFromScene(bars.getPlotItem().getViewBox().mapViewToScene(QPointF(0.3, 7)))
    qtbot.mouseClick(bars.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu))
    popup = QApplication.activePopupWidget()
    assert [action.text() for action in popup.actions()] == ["That's a 7: add to my samples"]
    popup.actions()[0].trigger()
    popup.close()
    assert room.store.counts() == {"7": 1}
    listed = [room.view.classes.item(row).text() for row in range(room.view.classes.count())]
    assert "7  (1)" in listed and "All (1)" in listed
    assert "Saved as a 7" in room.corrections.note.label.text() and room.corrections.note.isVisible()
    reopened = SampleStore(tmp_path / "data" / "my-samples")  # survives a restart
    assert [(s.label, s.source) for s in reopened.samples] == [("7", "correction")]
    assert reopened.samples[0].canvas_file is not None

    qtbot.mouseClick(room.corrections.note.button, Qt.MouseButton.LeftButton)
    assert len(room.store) == 0 and len(SampleStore(tmp_path / "data" / "my-samples")) == 0


def test_typing_a_digit_on_the_drawing_area_saves_it_and_add_to_my_samples_keeps_the_models_answer(qtbot, window):
    _draw_a_one(qtbot, window)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_4)
    window.teaching.corrections.add_action.trigger()
    counts = window.teaching.store.counts()
    assert counts == {"1": 1, "4": 1}
    assert {s.label: s.source for s in window.teaching.store.samples} == {"4": "correction", "1": "added"}
