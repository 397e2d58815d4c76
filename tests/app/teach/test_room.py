"""The window's corrections: clicking a bar (and typing a digit) saves the drawing to My samples; Undo; History."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

from app.common import user_folders
from app.common.threads import wait_for_stopping_threads
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


def test_a_correction_of_a_number_saves_the_digit_shown_in_detail_not_the_whole_number(qtbot, window):
    canvas = window.canvas
    canvas.set_brush_size(16)
    final_prediction(qtbot, window, lambda: canvas.draw_stroke([(85, 60), (85, 200)], 16))
    two = [(140, 110), (150, 85), (175, 72), (200, 80), (210, 105), (200, 130), (170, 160), (135, 200), (225, 200)]
    final_prediction(qtbot, window, lambda: canvas.draw_stroke(two, 16))
    digits = window.numbers.number["digits"]
    assert [digit["label"] for digit in digits] == ["1", "2"] and window.numbers.chosen == 0
    corrections, store = window.teaching.corrections, window.teaching.store
    assert "That's a 1 (as the model reads it)" in [action.text() for action in corrections.menu.actions()]
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_7)  # "that's a 7": the first digit, the one shown
    window.numbers.choose(1)
    assert "That's a 2 (as the model reads it)" in [action.text() for action in corrections.menu.actions()]
    corrections.correct(3)
    first, second = store.samples
    assert (first.label, second.label) == ("7", "3")
    assert np.allclose(store.digit_image(first), digits[0]["image"], atol=1 / 255)
    assert np.allclose(store.digit_image(second), digits[1]["image"], atol=1 / 255)
    from PIL import Image

    widths = [Image.open(store.folder / sample.canvas_file).width for sample in (first, second)]
    assert widths[0] < widths[1] < canvas.image_array().shape[1]  # each digit's own part of the drawing: 1 narrower


def _fill_my_samples(store: SampleStore, per_class: int = 3) -> None:
    for digit in range(10):
        for shift in range(per_class):
            image = np.zeros((28, 28), np.float32)
            image[6 + shift : 22, 4 + 2 * digit : 7 + 2 * digit] = 1.0
            store.add(str(digit), image)


@pytest.mark.qt_log_ignore("This plugin does not support (grabbing the keyboard|raise|propagateSizeHints)")
def test_closing_the_window_mid_teach_asks_and_quitting_stops_it_with_nothing_saved(
    qtbot, window, data_folder, monkeypatch
):
    room = window.teaching
    _fill_my_samples(room.store)
    room.open_teach()
    dialog = room.teach_dialog
    dialog.epochs.setValue(50)  # far longer than the test waits
    dialog.start()
    qtbot.waitUntil(lambda: "Measuring" in dialog.state.text() or "Epoch" in dialog.state.text(), timeout=120_000)
    asked: list[str] = []

    def answer(reply):
        def question(parent, title, text, *args, **kwargs):
            asked.append(text)
            return reply

        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    window.close()
    assert asked == ["Teaching is running: stop it and quit? Nothing of this teach is saved."]
    assert window.isVisible() and room.is_teaching and dialog.stop_button.isEnabled()

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    window.close()
    assert len(asked) == 2 and not window.isVisible()
    assert wait_for_stopping_threads(120_000)  # a teach that outlived the shutdown's wait is held, then ends
    qtbot.waitUntil(lambda: not room.is_teaching, timeout=30_000)
    versions = data_folder / "versions"
    assert not versions.exists() or not any(versions.iterdir())  # no model file, no index
    assert "Stopped" in dialog.state.text() or "stopped" in dialog.state.text()


def test_a_taught_version_becomes_the_active_model_under_its_name_not_its_files(qtbot, window, tmp_path):
    import shutil

    path = tmp_path / "20261207-172908-91621e.keras"  # how the version store names a taught model's file
    shutil.copy(bundled_model_path(), path)
    with qtbot.waitSignal(window.models.model_loaded, timeout=60_000) as loaded:
        window.teaching._on_version_made({"path": str(path), "name": "digitlab-best · taught 1"})
    assert loaded.args[0]["display_name"] == "digitlab-best · taught 1"
    assert "digitlab-best · taught 1" in window.windowTitle()


@pytest.mark.qt_log_ignore("This plugin does not support (grabbing the keyboard|raise|propagateSizeHints)")
def test_teaching_a_runs_unsaved_model_keeps_a_copy_of_it_for_history(qtbot, window):
    room = window.teaching
    _fill_my_samples(room.store, per_class=1)
    room.open_teach()
    assert room.teach_dialog.keep_original_copy is False  # the bundled model's file stays where it is
    room.teach_dialog.close()
    room.model = dict(room.model, unsaved=True)  # a run's model, in the cache of the newest runs
    room.teach_dialog = None
    room.open_teach()
    assert room.teach_dialog.keep_original_copy is True
    room.teach_dialog.close()


def test_with_the_wide_canvas_my_samples_opens_as_a_tab_beside_training_and_the_canvas_keeps_its_width(qtbot, window):
    window.resize(1360, 860)
    window.show()
    room = window.teaching
    square_area = Qt.DockWidgetArea.RightDockWidgetArea
    window.wide_canvas.action.setChecked(True)
    qtbot.waitUntil(lambda: window.canvas.width() > 600, timeout=5_000)
    QApplication.processEvents()  # the panel's room for a drawing's stages is laid out too
    before = window.canvas.width()
    room.samples_action.trigger()
    qtbot.waitUntil(room.dock.isVisible, timeout=5_000)
    assert window.dockWidgetArea(room.dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert room.dock in window.tabifiedDockWidgets(window.training_dock)
    QApplication.processEvents()
    assert window.canvas.width() >= before - 10
    room.samples_action.trigger()  # closed again
    window.wide_canvas.action.setChecked(False)
    assert window.dockWidgetArea(room.dock) != square_area  # where the user last had it, from then on


def test_switching_to_the_wide_canvas_with_my_samples_open_beside_the_prediction_moves_it_below(qtbot, window):
    window.resize(1360, 860)
    window.show()
    room = window.teaching
    room.samples_action.trigger()
    qtbot.waitUntil(room.dock.isVisible, timeout=5_000)
    assert window.dockWidgetArea(room.dock) == Qt.DockWidgetArea.RightDockWidgetArea  # the square canvas has room
    window.wide_canvas.action.setChecked(True)
    assert window.dockWidgetArea(room.dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    qtbot.waitUntil(lambda: window.canvas.width() > 600, timeout=5_000)  # most of the width, as without the dock
    window.wide_canvas.action.setChecked(False)


@pytest.mark.qt_log_ignore("This plugin does not support (grabbing the keyboard|raise|propagateSizeHints)")
def test_the_teach_window_does_not_announce_samples_of_a_class_the_model_does_not_score(qtbot, window):
    room = window.teaching
    _fill_my_samples(room.store, per_class=1)
    room.store.add("x", np.zeros((28, 28), dtype=np.float32) + np.eye(28, dtype=np.float32))  # an imported "x/"
    room.open_teach()
    text = room.teach_dialog.intro.text()
    assert "your 10 samples" in text and "x: 1)" in text.split("Left out")[1]
    room.teach_dialog.close()


def test_with_a_broken_index_the_samples_saved_instead_are_found_again_at_the_next_start(qtbot, tmp_path, monkeypatch):
    from datetime import datetime

    from PySide6.QtWidgets import QMainWindow

    from app.teach import room
    from app.teach.room import _open_store

    class Clock:
        times = iter([datetime(2026, 12, 7, 22, 0), datetime(2026, 12, 8, 9, 0)])  # one start, the next day's

        @classmethod
        def now(cls, _zone=None):
            return next(cls.times)

    monkeypatch.setattr(room, "datetime", Clock)

    folder = tmp_path / "my-samples"
    folder.mkdir()
    (folder / "index.json").write_text("{ not json", encoding="utf-8")
    first_start = QMainWindow()
    qtbot.addWidget(first_start)
    store = _open_store(SampleStore, folder, first_start)
    store.add("7", np.eye(28, dtype=np.float32))
    assert (folder / "index.json").read_text(encoding="utf-8") == "{ not json"  # left as it was
    next_start = QMainWindow()
    qtbot.addWidget(next_start)
    again = _open_store(SampleStore, folder, next_start)
    assert again.folder == store.folder and again.counts() == {"7": 1}
    assert str(store.folder) in next_start.statusBar().currentMessage()


@pytest.mark.qt_log_ignore("This plugin does not support (grabbing the keyboard|raise|propagateSizeHints)")
def test_teach_pressed_again_after_a_teach_teaches_the_new_active_version_with_the_samples_of_now(
    qtbot, window, tmp_path
):
    import shutil

    room = window.teaching
    _fill_my_samples(room.store, per_class=1)
    room.open_teach()
    dialog = room.teach_dialog
    assert "your 10 samples" in dialog.intro.text()
    path = tmp_path / "20261207-172908-91621e.keras"  # the version the teach made, now the active model
    shutil.copy(bundled_model_path(), path)
    with qtbot.waitSignal(window.models.model_loaded, timeout=60_000):
        room._on_version_made({"path": str(path), "name": "digitlab-best · taught 1"})
    room.corrections.store.add("7", np.eye(28, dtype=np.float32))  # one more drawing, as a correction saves it
    room.corrections.samples_changed.emit()
    assert dialog.model_path == str(path)  # what its Teach button teaches next: the active model, not the old one
    assert "digitlab-best · taught 1" in dialog.intro.text() and "your 11 samples" in dialog.intro.text()
    dialog.close()


def _remember_the_bundled_model(data_folder):
    from ml.teach.versions import VersionStore

    versions = VersionStore(data_folder / "versions")
    return versions, versions.remember_original(bundled_model_path(), "digitlab-best")


@pytest.mark.qt_log_ignore("This plugin does not support (grabbing the keyboard|raise|propagateSizeHints)")
def test_a_harmful_teach_is_no_plain_success_and_go_back_returns_to_the_model_before(qtbot, window, data_folder):
    from ml.models.files import load_model
    from ml.teach.versions import VersionStore

    room = window.teaching
    _fill_my_samples(room.store, per_class=1)
    versions, original = _remember_the_bundled_model(data_folder)
    record = {"samples_per_class": {"1": 1}, "held_back": 0, "test_set": "mnist", "test_images": 10_000}
    record.update(test_before=0.997, test_after=0.931)  # a clear 7 taught as a "1"
    taught = versions.add_taught(load_model(str(bundled_model_path())), original, record)
    room.open_teach()
    dialog = room.teach_dialog
    version = {"id": taught.id, "path": taught.path, "name": taught.name, "summary": "", "record": record}
    version.update(warnings=[], taught_from=str(bundled_model_path()), parent_path=original.path)
    with qtbot.waitSignal(window.models.model_loaded, timeout=60_000):
        dialog._on_taught({**version, "parent_name": original.name})  # as the worker's taught signal brings it
    message = window.statusBar().currentMessage()
    assert message.startswith("⚠ The taught version reads ordinary digits worse")  # not "Active model: …"
    assert "99.7 % → 93.1 %: 660 more of the 10,000 misread" in message and "Switch to previous model" in message
    assert dialog.harm_box.isVisible() and "99.7 % → 93.1 %" in dialog.harm_note.text()

    with qtbot.waitSignal(window.models.model_loaded, timeout=60_000) as loaded:
        dialog.go_back_button.click()  # the window's Switch to previous model: no load from the file
    assert loaded.args[0]["display_name"] == "digitlab-best" and "Went back" in dialog.harm_note.text()
    assert VersionStore(data_folder / "versions").active == original.id  # History's mark follows the load
    assert loaded.args[0]["previous_name"] == taught.name  # the taught version stays one switch away


@pytest.mark.qt_log_ignore("This plugin does not support (grabbing the keyboard|raise|propagateSizeHints)")
def test_a_history_switch_whose_load_fails_leaves_historys_active_mark_as_it_was(
    qtbot, window, data_folder, monkeypatch
):
    from ml.teach.versions import VersionStore

    versions, original = _remember_the_bundled_model(data_folder)
    broken = data_folder / "broken.keras"
    broken.write_bytes(b"not a model")
    gone_wrong = versions.remember_original(broken, "broken")
    versions.set_active(original.id)
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text, *_args: warned.append(text))
    window.teaching.open_history()
    history = window.teaching.history_dialog
    history.table.selectRow(0)  # newest first: the broken one
    with qtbot.waitSignal(window.models.model_load_failed, timeout=60_000):
        history.switch_button.click()
    assert warned  # the window said it could not open it
    assert VersionStore(data_folder / "versions").active == original.id != gone_wrong.id
    history.close()
