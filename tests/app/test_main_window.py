"""MainWindow as a user meets it: start-up, drawing, images, model files, the training panel, closing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import (
    QCoreApplication,
    QEventLoop,
    QMimeData,
    QPoint,
    QPointF,
    QSize,
    Qt,
    QThread,
    QTimer,
    QUrl,
)
from PySide6.QtGui import QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtTest import QSignalSpy
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.common.about import about_text
from app.common.errors import unbreakable_path
from app.common.user_folders import trained_models_folder
from app.main_window import FIRST_WINDOW_SIZE, MainWindow, first_window_size
from ml.assets import bundled_model_path
from ml.preprocess.pipeline import render_mnist_on_canvas

ROOT = Path(__file__).resolve().parents[2]
LOAD_TIMEOUT_MS = 120_000
PREDICTION_TIMEOUT_MS = 30_000

pytestmark = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")


# ------------------------------------------------------------------------------------------------ helpers


def wait_until_model_loaded(window: MainWindow) -> None:
    """Start the window's worker and run the event loop until the first model is active (or fail)."""
    loop = QEventLoop()
    loaded = QSignalSpy(window.models.model_loaded)
    window.models.model_loaded.connect(loop.quit)
    window.models.model_load_failed.connect(loop.quit)
    window.models.backend_failed.connect(loop.quit)
    QTimer.singleShot(LOAD_TIMEOUT_MS, loop.quit)
    window.start()
    loop.exec()  # unlike QSignalSpy.wait, this lets the worker thread run Python meanwhile
    for signal in (window.models.model_loaded, window.models.model_load_failed, window.models.backend_failed):
        signal.disconnect(loop.quit)
    assert loaded.count() == 1, "the model did not load"
    counter = window.training_panel.form.parameter_counter  # the first model starts the panel's parameter counts
    deadline = time.monotonic() + LOAD_TIMEOUT_MS / 1000
    while counter.is_counting and time.monotonic() < deadline:  # let them finish inside this test
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def final_prediction(qtbot, window: MainWindow, action) -> dict:
    """Run ``action`` and wait for the prediction of the newest drawing to be shown."""
    with qtbot.waitSignal(
        window.prediction_shown, timeout=PREDICTION_TIMEOUT_MS, check_params_cb=lambda shown: shown["final"]
    ) as blocker:
        action()
    return blocker.args[0]


def mnist_test_digits() -> tuple[np.ndarray, np.ndarray]:
    with np.load(ROOT / "assets" / "data" / "mnist.npz") as archive:
        return archive["x_test"].astype(np.float32) / 255.0, archive["y_test"]


def canvas_point(window: MainWindow, x: float, y: float) -> QPoint:
    """Widget coordinates of document point (x, y) on the window's canvas."""
    rect = window.canvas.document_rect()
    scale = rect.width() / 280
    return QPointF(rect.x() + x * scale, rect.y() + y * scale).toPoint()


class DialogRecorder:
    """Stands in for QMessageBox's static functions: records each call and gives a chosen answer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answer=QMessageBox.StandardButton.Ok) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.answer = answer
        for kind in ("warning", "critical", "information", "question"):
            monkeypatch.setattr(QMessageBox, kind, staticmethod(self._recorder(kind)))

    def _recorder(self, kind: str):
        def record(parent, title, text, *args, **kwargs):
            self.calls.append((kind, title, text))
            return self.answer

        return record


@pytest.fixture(scope="module")
def shared_window(qapp, tmp_path_factory, settings_factory):
    """One started window for the tests that only draw, load images and predict (loading once keeps them fast)."""
    window = MainWindow(settings_factory(tmp_path_factory.mktemp("shared-window")))
    window.show()
    wait_until_model_loaded(window)
    yield window
    window.shutdown()
    window.close()
    assert not window.models.thread.isRunning()


@pytest.fixture
def window(shared_window, qtbot):
    """The shared window with a blank canvas and no status message."""
    shared_window.canvas.clear()
    shared_window.statusBar().clearMessage()
    qtbot.waitUntil(lambda: not shared_window.models.is_busy)
    return shared_window


@pytest.fixture
def make_window(qtbot, settings):
    """Windows of their own (for tests that change the active model or close the window), closed afterwards."""
    windows: list[MainWindow] = []

    def make(window_settings=None, start: bool = True) -> MainWindow:
        new_window = MainWindow(window_settings if window_settings is not None else settings)
        windows.append(new_window)
        new_window.show()
        if start:
            wait_until_model_loaded(new_window)
        return new_window

    yield make
    for each in windows:
        each.shutdown()
        each.close()
        each.deleteLater()


@pytest.fixture
def trained_model_file(tmp_path) -> Path:
    """A stand-in for the temporary file the training panel hands over (a copy of the bundled model)."""
    path = tmp_path / "training" / "tmp-trained-best.keras"
    path.parent.mkdir()
    shutil.copy(bundled_model_path(), path)
    return path


# --------------------------------------------------------------------------------------------- start-up


def test_window_opens_fast_without_tensorflow_which_then_loads_in_a_worker_thread(tmp_path):
    code = """
import json, sys, time
started = time.perf_counter()
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.main_window import FIRST_WINDOW_SIZE, MainWindow, first_window_size
window = MainWindow()
window.show()
app.processEvents()
report = {"shown_after": time.perf_counter() - started, "tf_after_show": "tensorflow" in sys.modules,
          "keras_after_show": "keras" in sys.modules, "array_types_at_show": "ml_dtypes" in sys.modules,
          "status": window.model_label.text()}
gaps, last = [], [time.perf_counter()]
def tick():
    now = time.perf_counter(); gaps.append(now - last[0]); last[0] = now
timer = QTimer(); timer.timeout.connect(tick); timer.start(20)
loop = QEventLoop()
loaded = []
window.models.model_loaded.connect(loaded.append)
window.models.model_loaded.connect(loop.quit)
QTimer.singleShot(120_000, loop.quit)
window.start()
loop.exec()
report.update(loaded=len(loaded) == 1, tf_after_start="tensorflow" in sys.modules, longest_gap=max(gaps),
              status_after=window.model_label.text(), device=window.device_label.text())
window.close()
report["thread_running_after_close"] = window.models.thread.isRunning()
print(json.dumps(report))
"""
    environment = {
        "PATH": "/usr/bin:/bin",
        "QT_QPA_PLATFORM": "offscreen",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHONPATH": ":".join(path for path in sys.path if path),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["tf_after_show"] is False and report["keras_after_show"] is False
    assert report["array_types_at_show"] is True  # their 0.5-0.9 s registration is paid before the window shows
    assert report["status"] == "Loading TensorFlow…"
    # How fast it shows is a benchmark figure (bench/bench_responsiveness.py --startup-only), not a timed test.
    assert report["loaded"] and report["tf_after_start"]
    assert report["longest_gap"] < 2.0, report  # the event loop kept running while TensorFlow loaded
    assert "digitlab-best" in report["status_after"] and report["device"]
    assert report["thread_running_after_close"] is False


def test_the_digitlab_command_opens_the_window_and_exits_cleanly(tmp_path):
    code = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)

def close_when_a_model_is_active():
    windows = [w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow" and w.isVisible()]
    if windows and windows[0].model_description is not None:
        print("title:", windows[0].windowTitle())
        windows[0].close()
    else:
        QTimer.singleShot(100, close_when_a_model_is_active)

QTimer.singleShot(100, close_when_a_model_is_active)
from app.__main__ import main
sys.exit(main([]))
"""
    environment = {
        "PATH": "/usr/bin:/bin",
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHONPATH": ":".join(path for path in sys.path if path),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "title: digitlab-best.keras[*] — Digit Lab" in result.stdout
    assert "QThread: Destroyed while thread is still running" not in result.stderr
    settings_file = tmp_path / "config" / "DigitLab" / "Digit Lab.conf"
    assert "digitlab-best.keras" in settings_file.read_text()  # the last model is remembered
    assert (tmp_path / "data" / "DigitLab" / "Digit Lab" / "digitlab.log").is_file()


def test_status_bar_and_title_name_the_device_and_the_active_model(window):
    assert window.device_label.text() == window.backend_description["device"]
    assert window.device_label.text() == "CPU" or window.device_label.text().startswith("GPU")
    assert "digitlab-best" in window.model_label.text() and "test accuracy" in window.model_label.text()
    assert window.windowTitle() == "digitlab-best.keras[*] — Digit Lab"
    assert not window.isWindowModified()


def test_menus_have_the_expected_shortcuts(window):
    def shortcuts(action) -> set[str]:
        return {sequence.toString() for sequence in action.shortcuts()}

    assert shortcuts(window.open_image_action) == {"Ctrl+O"}
    assert shortcuts(window.save_model_action) == {"Ctrl+S"}
    assert shortcuts(window.undo_action) == {"Ctrl+Z"}
    assert shortcuts(window.redo_action) == {"Ctrl+Shift+Z", "Ctrl+Y"}
    assert shortcuts(window.clear_action) == {"Esc", "Del"}
    assert shortcuts(window.paste_action) == {"Ctrl+V"}
    assert shortcuts(window.quit_action) == {QKeySequence("Ctrl+Q").toString()}
    titles = [action.text().replace("&", "") for action in window.menuBar().actions()]
    assert titles == ["File", "Edit", "Model", "View", "Help"]


def test_about_lists_versions_and_the_device(window):
    text = about_text(window.backend_description)
    for expected in ("Digit Lab", "Python", "Qt", "PySide6", "TensorFlow", "Keras", "numpy", "CPU"):
        assert expected in text
    assert window.backend_description["tensorflow"] in text


# ---------------------------------------------------------------------------------------------- drawing


def test_mouse_strokes_change_the_canvas_and_show_probabilities_that_sum_to_one(qtbot, window):
    canvas = window.canvas
    points = [canvas_point(window, x, y) for x, y in [(90, 60), (150, 55), (190, 60), (160, 140), (130, 230)]]

    def draw() -> None:
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=points[0])
        for point in points[1:]:
            qtbot.mouseMove(canvas, point)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=points[-1])

    shown = final_prediction(qtbot, window, draw)
    assert not canvas.is_blank() and canvas.can_undo()
    assert len(shown["probabilities"]) == 10
    assert sum(shown["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert window.prediction.predicted_class.text() == shown["predicted_class"]
    assert shown["predicted_class"] == "7"
    assert window.prediction.model_input.pixels.shape == (28, 28)
    assert np.allclose(window.prediction.bars.probabilities, shown["probabilities"])


def test_real_mnist_test_digits_painted_on_the_canvas_are_recognised(qtbot, window):
    images, labels = mnist_test_digits()
    predicted = []
    for image in images[:10]:
        shown = final_prediction(
            qtbot, window, lambda image=image: window.canvas.set_image(render_mnist_on_canvas(image))
        )
        predicted.append(shown["predicted_index"])
    correct = sum(int(p == label) for p, label in zip(predicted, labels[:10], strict=True))
    assert correct >= 9, (predicted, labels[:10].tolist())


def test_an_opened_image_of_one_flat_colour_says_it_holds_no_digit_not_draw_one(window):
    window.canvas.set_image(np.full((40, 40), 1.0, np.float32))  # an all-white image: no ink to read
    assert window.prediction.message.text() == "No digit found: the image is one flat colour"
    window.canvas.clear()
    assert window.prediction.message.text() == "Draw a digit"


def test_undo_redo_and_clear_update_the_prediction(qtbot, window):
    canvas = window.canvas
    one = final_prediction(qtbot, window, lambda: canvas.draw_stroke([(140, 40), (140, 240)]))
    assert one["predicted_class"] == "1"
    final_prediction(qtbot, window, lambda: canvas.draw_stroke([(100, 60), (180, 60)]))
    undone = final_prediction(qtbot, window, canvas.undo)
    assert undone["probabilities"] == pytest.approx(one["probabilities"], abs=1e-6)
    redone = final_prediction(qtbot, window, canvas.redo)
    assert redone["probabilities"] != pytest.approx(one["probabilities"], abs=1e-6)
    window.clear_action.trigger()
    assert canvas.is_blank()
    assert window.prediction.predicted_class.text() == ""
    assert window.prediction.message.text() == "Draw a digit"
    assert not window.prediction.bars.probabilities.any()
    back = final_prediction(qtbot, window, window.undo_action.trigger)
    assert back["probabilities"] == pytest.approx(redone["probabilities"], abs=1e-6)


def test_clearing_while_a_prediction_runs_never_shows_a_stale_guess(qtbot, window):
    shown = []
    window.prediction_shown.connect(shown.append)
    window.canvas.draw_stroke([(140, 40), (140, 240)])
    window.canvas.clear()
    qtbot.waitUntil(lambda: not window.models.is_busy)
    window.prediction_shown.disconnect(shown.append)
    assert shown == []
    assert window.prediction.predicted_class.text() == ""


def test_keyboard_shortcuts_undo_and_clear(qtbot, window):
    window.activateWindow()
    window.canvas.setFocus()
    final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(140, 40), (140, 240)]))
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.is_blank()
    final_prediction(
        qtbot, window, lambda: qtbot.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    )
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.canvas.is_blank()


def test_a_failing_prediction_is_shown_in_the_status_bar_and_drawing_goes_on(qtbot, window):
    with qtbot.waitSignal(window.prediction_shown, timeout=PREDICTION_TIMEOUT_MS) as failed:
        window.models.request_prediction(np.zeros(3, dtype=np.float32))
    assert failed.args[0]["error"]
    assert "Prediction failed" in window.statusBar().currentMessage()
    shown = final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(140, 40), (140, 240)]))
    assert shown["predicted_class"] == "1"


# ----------------------------------------------------------------------------------------------- images


def write_digit_png(path: Path, index: int) -> int:
    """Save MNIST test digit ``index`` as a black-on-white PNG; return its label."""
    images, labels = mnist_test_digits()
    Image.fromarray(render_mnist_on_canvas(images[index], size=200)).save(path)
    return int(labels[index])


def test_loading_an_image_file_shows_it_and_predicts_it(qtbot, window, tmp_path):
    path = tmp_path / "digit.png"
    label = write_digit_png(path, 1)
    shown = final_prediction(qtbot, window, lambda: window.images.open_file(path))
    assert shown["predicted_index"] == label
    assert not window.canvas.is_blank()
    assert "digit.png" in window.statusBar().currentMessage()
    final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(10, 10), (30, 30)]))  # can be drawn over
    window.canvas.clear()
    assert window.canvas.is_blank()


def test_a_broken_image_file_gives_a_message_and_keeps_the_drawing(qtbot, window, tmp_path, monkeypatch):
    dialogs = DialogRecorder(monkeypatch)
    final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(140, 40), (140, 240)]))
    before = window.canvas.image_array()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG")
    with qtbot.waitSignal(window.images.image_refused, timeout=10_000):
        window.images.open_file(broken)
    assert dialogs.calls and dialogs.calls[0][0] == "warning"
    assert "broken.png" in dialogs.calls[0][2]
    assert np.array_equal(window.canvas.image_array(), before)
    assert window.prediction.predicted_class.text() == "1"
    with qtbot.waitSignal(window.images.image_refused, timeout=10_000):
        window.images.open_file(tmp_path / "missing.png")
    assert "no such file" in dialogs.calls[1][2]


def test_paste_image_data_a_file_url_or_nothing(qtbot, window, tmp_path):
    clipboard = QGuiApplication.clipboard()
    images, labels = mnist_test_digits()
    clipboard.setImage(window.canvas.grab().toImage())
    window.canvas.set_image(render_mnist_on_canvas(images[2]))
    qtbot.waitUntil(lambda: not window.models.is_busy)
    clipboard.setImage(window.canvas.grab().toImage())
    window.canvas.clear()
    shown = final_prediction(qtbot, window, window.paste_action.trigger)
    assert shown["predicted_index"] == labels[2]

    path = tmp_path / "pasted.png"
    label = write_digit_png(path, 3)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    clipboard.setMimeData(mime)
    shown = final_prediction(qtbot, window, window.images.paste)
    assert shown["predicted_index"] == label

    clipboard.setText("just some words")
    assert window.images.paste() is False
    assert "no image" in window.statusBar().currentMessage()


def test_dropping_an_image_file_loads_it(qtbot, window, tmp_path):
    path = tmp_path / "dropped.png"
    label = write_digit_png(path, 4)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    shown = final_prediction(qtbot, window, lambda: window.dropEvent(drop))
    assert shown["predicted_index"] == label


# ------------------------------------------------------------------------------------------ model files


def test_opening_a_bad_model_shows_the_error_and_keeps_the_old_model(qtbot, window, tmp_path, monkeypatch):
    dialogs = DialogRecorder(monkeypatch)
    fake = tmp_path / "notes.keras"
    fake.write_text("this is a text file, not a model")
    before = dict(window.model_description)
    with qtbot.waitSignal(window.models.model_load_failed, timeout=LOAD_TIMEOUT_MS):
        window.open_model_file(fake)
    assert dialogs.calls == [("warning", "Cannot open model", dialogs.calls[0][2])]
    assert "notes.keras" in dialogs.calls[0][2] and "not a valid .keras file" in dialogs.calls[0][2]
    assert window.model_description == before
    assert window.windowTitle().startswith("digitlab-best.keras")
    shown = final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(140, 40), (140, 240)]))
    assert shown["predicted_class"] == "1"


def test_a_cancelled_save_dialog_changes_nothing(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *args, **kwargs: ("", "")))
    spy = QSignalSpy(window.models.model_saved)
    before = dict(window.model_description)
    window.save_model_action.trigger()
    assert spy.count() == 0 and window.model_description == before
    assert window.model_files.recent() == []


def test_a_failed_save_shows_the_message_and_loses_nothing(qtbot, window, tmp_path, monkeypatch):
    dialogs = DialogRecorder(monkeypatch)
    before = dict(window.model_description)
    with qtbot.waitSignal(window.models.model_save_failed, timeout=LOAD_TIMEOUT_MS):
        window.save_model_to(tmp_path / "no-such-folder" / "model.keras")
    assert dialogs.calls[0][:2] == ("warning", "Cannot save model")
    assert "does not exist" in dialogs.calls[0][2]
    assert window.model_description == before
    assert list(tmp_path.iterdir()) == []


def test_save_model_as_writes_the_file_and_names_it_in_the_title(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window()
    target = tmp_path / "models" / "my-digits"
    target.parent.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *args, **kwargs: (str(target), "Keras model (*.keras)"))
    )
    with qtbot.waitSignal(window.models.model_saved, timeout=LOAD_TIMEOUT_MS):
        window.save_model_action.trigger()
    saved = target.with_suffix(".keras")
    assert saved.is_file() and sorted(path.name for path in saved.parent.iterdir()) == ["my-digits.keras"]
    assert window.windowTitle() == "my-digits.keras[*] — Digit Lab"
    assert window.model_files.recent() == [str(saved)]
    first = window.model_files.recent_menu.actions()[0]
    assert first.text() == f"my-digits.keras  —  {saved.parent}" and first.toolTip() == str(saved)
    assert window.model_files.recent_menu.toolTipsVisible()
    from ml.models.files import load_model

    assert load_model(saved).metadata.test_accuracy == window.model_description["test_accuracy"]


def test_a_trained_model_becomes_active_unsaved_and_the_previous_one_is_one_click_away(
    qtbot, make_window, trained_model_file
):
    window = make_window()
    assert window.training_panel is not None
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        window.training_panel.model_trained.emit(
            {"path": str(trained_model_file), "test_accuracy": 0.998, "preset": "best"}
        )
    assert loaded.args[0]["unsaved"] and window.has_unsaved_model()
    assert window.isWindowModified() and "(unsaved)" in window.windowTitle()
    assert "not saved" in window.model_label.text()
    assert str(trained_model_file) not in window.model_files.recent()
    assert window.previous_model_action.isEnabled()
    assert "digitlab-best" in window.previous_model_action.text()
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as switched:
        window.previous_model_action.trigger()
    assert switched.args[0]["display_name"] == "digitlab-best" and not window.isWindowModified()
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as back:
        window.previous_model_action.trigger()
    assert back.args[0]["unsaved"] and window.isWindowModified()


def answer_trained_model_questions(monkeypatch, window: MainWindow, use: bool) -> list:
    """Answer the "use the new model or keep the old one?" question with ``use``; returns the questions asked."""
    asked: list = []

    def answer(question) -> bool:
        asked.append(question)
        return use

    monkeypatch.setattr(window, "_ask_to_use_trained_model", answer)
    return asked


def run_summary(window: MainWindow, path: Path, **overrides) -> dict:
    """What the training worker reports: the run's test accuracy and the active model's on the same test set."""
    summary = {
        "path": str(path),
        "test_accuracy": 0.2743,
        "preset": "fast",
        "dataset": "mnist",
        "epochs_completed": 1,
        "stopped_by_user": False,
        "reference_path": window.model_description["source_path"],
        "reference_accuracy": 0.997,
        "reference_dataset": "mnist",
        "reference_same_test_set": True,
    }
    return {**summary, **overrides}


def test_a_stopped_run_asks_and_keeping_leaves_the_old_model_active_with_the_new_one_a_switch_away(
    qtbot, make_window, trained_model_file, monkeypatch
):
    window = make_window()
    asked = answer_trained_model_questions(monkeypatch, window, use=False)
    loaded = QSignalSpy(window.models.model_loaded)
    with qtbot.waitSignal(window.models.model_set_aside, timeout=LOAD_TIMEOUT_MS):
        window.training_panel.model_trained.emit(
            run_summary(window, trained_model_file, stopped_by_user=True, test_accuracy=0.9981)
        )
    assert len(asked) == 1 and asked[0].text == "Use the new model (99.81 %) or keep digitlab-best (99.70 %)?"
    assert loaded.count() == 0  # the active model never changed
    assert window.model_description["display_name"] == "digitlab-best" and not window.has_unsaved_model()
    assert "Kept digitlab-best" in window.statusBar().currentMessage()
    assert window.previous_model_action.isEnabled() and "trained best" in window.previous_model_action.text()
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as switched:
        window.previous_model_action.trigger()
    assert switched.args[0]["unsaved"] and switched.args[0]["display_name"].startswith("trained best · mnist · ")
    assert "digitlab-best" in window.previous_model_action.text()


def test_a_worse_run_asks_and_using_it_installs_it_with_the_old_one_a_switch_away(
    qtbot, make_window, trained_model_file, monkeypatch
):
    window = make_window()
    asked = answer_trained_model_questions(monkeypatch, window, use=True)
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        window.training_panel.model_trained.emit(run_summary(window, trained_model_file))
    assert len(asked) == 1 and "(27.43 %) or keep digitlab-best (99.70 %)" in asked[0].text
    assert loaded.args[0]["unsaved"] and window.has_unsaved_model()
    assert "digitlab-best" in window.previous_model_action.text()


def test_a_finished_run_that_tests_better_installs_without_asking(qtbot, make_window, trained_model_file, monkeypatch):
    window = make_window()
    asked = answer_trained_model_questions(monkeypatch, window, use=False)
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        window.training_panel.model_trained.emit(run_summary(window, trained_model_file, test_accuracy=0.9975))
    assert asked == [] and loaded.args[0]["unsaved"]


def quit_with_unsaved_model(qtbot, make_window, trained_model_file, monkeypatch, answer) -> tuple[MainWindow, list]:
    window = make_window()
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS):
        window.training_panel.model_trained.emit(
            {"path": str(trained_model_file), "test_accuracy": 0.998, "preset": "best"}
        )
    dialogs = DialogRecorder(monkeypatch, answer=answer)
    return window, dialogs.calls


def test_quitting_with_an_unsaved_model_can_be_cancelled(qtbot, make_window, trained_model_file, monkeypatch):
    window, calls = quit_with_unsaved_model(
        qtbot, make_window, trained_model_file, monkeypatch, QMessageBox.StandardButton.Cancel
    )
    assert window.close() is False
    assert calls[0][:2] == ("question", "Unsaved model")
    assert window.isVisible() and window.models.thread.isRunning()


def test_quitting_with_an_unsaved_model_can_discard_it(qtbot, make_window, trained_model_file, monkeypatch):
    window, calls = quit_with_unsaved_model(
        qtbot, make_window, trained_model_file, monkeypatch, QMessageBox.StandardButton.Discard
    )
    assert window.close() is True
    assert not window.models.thread.isRunning()


def test_quitting_with_an_unsaved_model_can_save_it_first(
    qtbot, make_window, trained_model_file, monkeypatch, tmp_path
):
    window, calls = quit_with_unsaved_model(
        qtbot, make_window, trained_model_file, monkeypatch, QMessageBox.StandardButton.Save
    )
    target = tmp_path / "kept.keras"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *args, **kwargs: (str(target), "")))
    with qtbot.waitSignal(window.models.model_saved, timeout=LOAD_TIMEOUT_MS):
        assert window.close() is False  # waits for the save, then closes
    qtbot.waitUntil(lambda: not window.isVisible())
    assert target.is_file()
    assert not window.models.thread.isRunning()


# ---------------------------------------------------------------------------------- settings and closing


def test_the_last_model_and_the_window_geometry_are_remembered(qtbot, make_window, settings, tmp_path):
    mine = tmp_path / "mine.keras"
    shutil.copy(bundled_model_path(), mine)
    first = make_window()
    with qtbot.waitSignal(first.models.model_loaded, timeout=LOAD_TIMEOUT_MS):
        first.open_model_file(mine)
    first.resize(780, 640)  # fits the offscreen screen
    first.training_dock.hide()
    assert first.close()
    second = make_window(settings)
    assert second.model_description["display_name"] == "mine"
    assert second.model_files.recent() == [str(mine)]
    assert (second.width(), second.height()) == (780, 640)
    assert second.training_dock.isHidden()


def test_a_first_launch_fits_a_small_screen_and_keeps_its_size_on_a_large_one(qtbot, make_window):
    assert first_window_size(QSize(1920, 1040)) == FIRST_WINDOW_SIZE
    assert first_window_size(QSize(1366, 728)) == (1311, 669)  # a laptop's screen under its panel: 860 px did not fit
    window = make_window()  # no saved geometry: the offscreen screen is 800x600
    free = window.screen().availableGeometry()
    assert window.width() <= free.width() and window.height() <= free.height()


def test_a_missing_last_model_falls_back_to_the_bundled_one(qtbot, make_window, settings, tmp_path):
    settings.setValue("models/last", str(tmp_path / "deleted.keras"))
    window = make_window()
    assert window.model_description["origin"] == "bundled"


def test_quit_closes_the_window_and_stops_every_thread_within_two_seconds(qtbot, make_window):
    window = make_window()
    started = time.perf_counter()
    window.quit_action.trigger()
    assert time.perf_counter() - started < 2.5
    assert not window.isVisible()
    assert not window.models.thread.isRunning()


def test_closing_mid_training_stops_training_and_joins_its_thread(qtbot, make_window, monkeypatch):
    from ml.training.config import TrainConfig

    window = make_window()
    panel = window.training_panel
    config = TrainConfig(
        preset="cnn3x3", dataset="mnist", epochs=50, max_train_samples=4000, max_test_samples=500, validation_size=500
    )
    with qtbot.waitSignal(panel.running_changed, timeout=10_000):
        assert panel.start_training(config)
    qtbot.waitUntil(lambda: panel.run.progress_bar.value() > 0, timeout=60_000)  # batches are being trained
    dialogs = DialogRecorder(monkeypatch, answer=QMessageBox.StandardButton.Yes)
    training_thread = panel.run._thread
    started = time.perf_counter()
    assert window.close()
    assert time.perf_counter() - started < 3.0
    assert dialogs.calls[0][:2] == ("question", "Training is running")
    assert not panel.is_running
    assert not window.models.thread.isRunning()
    try:
        assert not training_thread.isRunning()
    except RuntimeError:  # already deleted after it finished: certainly not running
        pass


class QuestionsWhileQuitting:
    """Stands in for QMessageBox.question and the end-of-run question. The run ends while "Training is running" is
    open (in its nested event loop, as a real run's thread does); each question is recorded with its title, its text
    and how many questions were open under it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, window: MainWindow, summary: dict, answers: dict) -> None:
        self.window, self.summary, self.answers = window, summary, answers
        self.asked: list[tuple[str, str, int]] = []
        self._open = 0
        monkeypatch.setattr(QMessageBox, "question", staticmethod(self._question))
        monkeypatch.setattr(window, "_ask_to_use_trained_model", self._use_trained_model)

    def _question(self, parent, title, text, *args, **kwargs):
        self.asked.append((title, text, self._open))
        self._open += 1
        try:
            if title == "Training is running":
                run = self.window.training_panel.run
                run._result = self.summary
                run._on_thread_finished()  # the training thread's finished signal, while the question is open
                QCoreApplication.processEvents()
            return self.answers[title]
        finally:
            self._open -= 1

    def _use_trained_model(self, question) -> bool:
        self.asked.append(("Use the new model?", question.text, self._open))
        return self.answers["Use the new model?"]

    def titles(self) -> list[str]:
        return [title for title, _, _ in self.asked]

    def opened_on_top(self) -> list[str]:
        return [title for title, _, under in self.asked if under]


def pretend_a_run_is_going(window: MainWindow) -> None:
    """The training panel reports a run until its thread (a stand-in, never started) is said to have finished."""
    window.training_panel.run._thread = QThread(window)
    assert window.training_panel.is_running


def test_a_run_ending_while_quit_is_asked_waits_and_is_asked_about_once_the_window_stays(
    qtbot, make_window, trained_model_file, monkeypatch
):
    window = make_window()
    pretend_a_run_is_going(window)
    answers = {"Training is running": QMessageBox.StandardButton.No, "Use the new model?": False}
    questions = QuestionsWhileQuitting(monkeypatch, window, run_summary(window, trained_model_file), answers)
    with qtbot.waitSignal(window.models.model_set_aside, timeout=LOAD_TIMEOUT_MS):
        assert window.close() is False
    assert questions.opened_on_top() == []  # nothing opened over the quit question, so its answer counted
    assert questions.titles() == ["Training is running", "Use the new model?"]
    assert "(27.43 %) or keep digitlab-best (99.70 %)" in questions.asked[1][1]
    assert window.isVisible() and window.model_description["display_name"] == "digitlab-best"
    assert window.previous_model_action.isEnabled() and "trained best" in window.previous_model_action.text()


def test_quitting_after_a_run_ended_during_the_question_asks_about_its_model_and_cancel_shows_the_run_end(
    qtbot, make_window, trained_model_file, monkeypatch
):
    window = make_window()
    pretend_a_run_is_going(window)
    answers = {
        "Training is running": QMessageBox.StandardButton.Yes,
        "Unsaved model": QMessageBox.StandardButton.Cancel,
        "Use the new model?": True,
    }
    questions = QuestionsWhileQuitting(monkeypatch, window, run_summary(window, trained_model_file), answers)
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        assert window.close() is False
    assert questions.opened_on_top() == []
    assert questions.titles() == ["Training is running", "Unsaved model", "Use the new model?"]
    assert "The new model from this run (27.43 %) has not been saved" in questions.asked[1][1]
    assert "Quitting will remove it" in questions.asked[1][1]
    assert window.isVisible() and loaded.args[0]["unsaved"] and window.has_unsaved_model()


def test_quitting_after_a_run_ended_during_the_question_never_drops_its_model_unasked(
    qtbot, make_window, trained_model_file, monkeypatch
):
    window = make_window()
    pretend_a_run_is_going(window)
    answers = {
        "Training is running": QMessageBox.StandardButton.Yes,
        "Unsaved model": QMessageBox.StandardButton.Discard,
    }
    better = run_summary(window, trained_model_file, test_accuracy=0.9975)  # would install without a question
    questions = QuestionsWhileQuitting(monkeypatch, window, better, answers)
    loaded = QSignalSpy(window.models.model_loaded)
    assert window.close() is True
    assert questions.opened_on_top() == []
    assert questions.titles() == ["Training is running", "Unsaved model"]
    assert "(99.75 %) has not been saved" in questions.asked[1][1]
    assert unbreakable_path(trained_models_folder()) in questions.asked[1][1]  # where the run's file stays
    assert loaded.count() == 0 and not window.isVisible() and trained_model_file.is_file()


def test_a_legacy_h5_model_opens_and_predicts(qtbot, make_window):
    window = make_window()
    legacy = ROOT / "tests" / "fixtures" / "tutorial_mlp_28x28_tfkeras2.h5"
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        window.open_model_file(legacy)
    assert loaded.args[0]["display_name"] == "tutorial_mlp_28x28_tfkeras2"
    assert window.windowTitle() == "tutorial_mlp_28x28_tfkeras2.h5[*] — Digit Lab"
    shown = final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(140, 40), (140, 240)]))
    assert sum(shown["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert window.model_files.recent() == [str(legacy)]


def test_training_in_the_dock_makes_the_trained_model_active(qtbot, make_window, monkeypatch):
    from ml.training.config import TrainConfig

    window = make_window()
    asked = answer_trained_model_questions(monkeypatch, window, use=True)
    config = TrainConfig(
        preset="cnn3x3", dataset="mnist", epochs=1, max_train_samples=1500, max_test_samples=300, validation_size=300
    )
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        assert window.training_panel.start_training(config)
    assert loaded.args[0]["unsaved"] and loaded.args[0]["preset"] == "cnn3x3"
    # 1500 images cannot match the bundled model, measured on the same 300 test images: the user was asked.
    assert len(asked) == 1 and "on the same test set" in asked[0].reasons
    assert window.isWindowModified()
    qtbot.waitUntil(lambda: not window.training_panel.is_running, timeout=LOAD_TIMEOUT_MS)
    shown = final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(140, 40), (140, 240)]))
    assert sum(shown["probabilities"]) == pytest.approx(1.0, abs=1e-5)


def test_class_names_saved_with_a_model_label_the_probability_bars(qtbot, make_window, tmp_path):
    from ml.data.datasets import FASHION_MNIST_CLASS_NAMES
    from ml.models.files import save_model
    from ml.models.metadata import ModelMetadata
    from ml.models.presets import build_model

    path = save_model(
        build_model("mlp", (28, 28, 1), 10),
        tmp_path / "fashion.keras",
        ModelMetadata(class_names=list(FASHION_MNIST_CLASS_NAMES), dataset="fashion-mnist", preset="mlp"),
    )
    window = make_window()
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS):
        window.open_model_file(path)
    assert window.prediction.bars.class_names == FASHION_MNIST_CLASS_NAMES
    shown = final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(140, 40), (140, 240)]))
    assert shown["predicted_class"] in FASHION_MNIST_CLASS_NAMES and len(shown["probabilities"]) == 10
    assert window.prediction.bars.class_names == FASHION_MNIST_CLASS_NAMES  # kept after predicting
    assert "Train fashion's own weights" in window.training_panel.form.fine_tune_check.toolTip()  # knows the model


def test_a_model_trained_on_an_image_folder_shows_the_folder_names_in_the_bars(
    qtbot, make_window, shape_folder, monkeypatch
):
    from ml.training.config import TrainConfig

    window = make_window()
    answer_trained_model_questions(monkeypatch, window, use=True)  # asked if it tests below the bundled 99.7 %
    config = TrainConfig(preset="cnn3x3", dataset=str(shape_folder), epochs=2, batch_size=16, image_size=20)
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        assert window.training_panel.start_training(config)
    assert loaded.args[0]["class_names"] == ["circle", "square", "triangle"]
    assert window.prediction.bars.class_names == ["circle", "square", "triangle"]
    qtbot.waitUntil(lambda: not window.training_panel.is_running, timeout=LOAD_TIMEOUT_MS)
    shown = final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(60, 60), (220, 60), (220, 220)]))
    assert shown["predicted_class"] in ("circle", "square", "triangle") and len(shown["probabilities"]) == 3
    panel = window.training_panel
    assert panel.form.fine_tune_check.isEnabled() and panel.form.active_model_path == loaded.args[0]["source_path"]


# ----------------------------------------------------------------------------------- issue 14: the window as met


def photo_of(digit: np.ndarray | None, seed: int = 0) -> np.ndarray:
    """A wide grey photo with a lighting gradient and noise, holding ``digit`` (or nothing) off-centre."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:300, 0:760] / 760
    paper = 0.62 + 0.1 * columns + 0.05 * rows + rng.normal(0, 0.01, (300, 760))
    if digit is not None:
        ink = np.asarray(Image.fromarray(digit, mode="F").resize((170, 170), Image.Resampling.BICUBIC)).clip(0, 1)
        paper[60:230, 520:690] *= 1.0 - 0.75 * ink
    return np.clip(np.round(paper * 255), 0, 255).astype(np.uint8)


def cli_prediction(path: Path, capsys) -> dict:
    from ml.cli.main import main

    capsys.readouterr()
    assert main(["predict", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_an_opened_photo_gets_the_same_answer_in_the_window_and_from_digitlab_predict(qtbot, window, tmp_path, capsys):
    from ml.preprocess.pipeline import preprocess_file

    digits, labels = mnist_test_digits()
    for index in (0, 1, 2, 4):
        path = tmp_path / f"photo-{index}.jpg"
        Image.fromarray(photo_of(digits[index], seed=index)).save(path, quality=85)
        shown = final_prediction(qtbot, window, lambda path=path: window.images.open_file(path))
        record = cli_prediction(path, capsys)
        assert shown["predicted_index"] == record["prediction"] == labels[index]
        assert np.array_equal(window.prediction.model_input.pixels, preprocess_file(path).image)  # the same input


def test_a_photo_of_blank_paper_says_no_digit_in_the_window_and_the_cli(qtbot, window, tmp_path, capsys):
    path = tmp_path / "blank-sheet.png"
    Image.fromarray(photo_of(None)).save(path)
    shown = final_prediction(qtbot, window, lambda: window.images.open_file(path))
    assert shown["blank"] and shown["predicted_index"] is None
    assert window.prediction.message.isVisible() and "No digit found" in window.prediction.message.text()
    record = cli_prediction(path, capsys)
    assert record["prediction"] is None and record["reason"]


def trained_copy(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.keras"
    shutil.copy(bundled_model_path(), path)
    return path


def test_unsaved_runs_get_distinct_names_and_are_never_dropped_without_asking(
    qtbot, make_window, tmp_path, monkeypatch
):
    window = make_window()
    answer_trained_model_questions(monkeypatch, window, use=True)
    for name in ("first", "second"):
        with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS):
            window.training_panel.model_trained.emit(
                {"path": str(trained_copy(tmp_path, name)), "test_accuracy": 0.998, "preset": "fast"}
            )
    active, previous = window.model_description["display_name"], window.model_description["previous_name"]
    assert window.model_description["previous_unsaved"] and active.startswith("trained ")
    # both are copies of one file, so only the run's time tells them apart here; real runs differ in accuracy too
    assert " · " in active and "%" in active
    dialogs = DialogRecorder(monkeypatch, answer=QMessageBox.StandardButton.Cancel)
    loaded = QSignalSpy(window.models.model_loaded)
    window.bundled_model_action.trigger()
    window.open_model_file(trained_copy(tmp_path, "other"))
    window.training_panel.model_trained.emit({"path": str(trained_copy(tmp_path, "third")), "test_accuracy": 0.99})
    assert [call[:2] for call in dialogs.calls] == [("question", "Unsaved model")] * 3
    assert all(previous in call[2] and "has not been saved" in call[2] for call in dialogs.calls)
    assert "Using the bundled model will remove it" in dialogs.calls[0][2]
    assert "Opening other.keras will remove it" in dialogs.calls[1][2]
    assert unbreakable_path(trained_models_folder()) in dialogs.calls[0][2]  # where the unsaved model's file stays
    qtbot.wait(200)
    assert loaded.count() == 0 and window.model_description["display_name"] == active  # nothing was dropped
    assert "not loaded" in window.statusBar().currentMessage()

    dialogs.answer = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS) as bundled:
        window.bundled_model_action.trigger()
    assert bundled.args[0]["display_name"] == "digitlab-best" and bundled.args[0]["previous_name"] == active


def test_quitting_asks_about_an_unsaved_previous_model_too(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window()
    answer_trained_model_questions(monkeypatch, window, use=False)  # kept aside: the run's model is the previous one
    with qtbot.waitSignal(window.models.model_set_aside, timeout=LOAD_TIMEOUT_MS):
        window.training_panel.model_trained.emit(
            run_summary(window, trained_copy(tmp_path, "aside"), stopped_by_user=True)
        )
    assert not window.has_unsaved_model() and window.model_description["previous_unsaved"]
    dialogs = DialogRecorder(monkeypatch, answer=QMessageBox.StandardButton.Cancel)
    assert window.close() is False
    assert dialogs.calls and "Quitting will remove it" in dialogs.calls[0][2] and window.isVisible()
    dialogs.answer = QMessageBox.StandardButton.Discard
    assert window.close() is True


def test_escape_in_a_training_field_leaves_the_drawing_alone(qtbot, window):
    window.activateWindow()
    final_prediction(qtbot, window, lambda: window.canvas.draw_stroke([(140, 40), (140, 240)]))
    field = window.training_panel.form.epochs_spin
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    for key in (Qt.Key.Key_Escape, Qt.Key.Key_Delete):
        qtbot.keyClick(field, key)
    assert not window.canvas.is_blank()  # typing in the dock never clears the canvas
    qtbot.mouseClick(window.canvas, Qt.MouseButton.MiddleButton)  # clicking the canvas gives it the focus
    qtbot.waitUntil(window.canvas.hasFocus)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.canvas.is_blank()
