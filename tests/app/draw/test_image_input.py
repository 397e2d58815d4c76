"""The window's Open, drop and paste read files in a worker: hostile files (PostScript named .png, a FIFO) are refused
with a clear message, and a read that takes too long is given up without freezing the window."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from PySide6.QtWidgets import QMessageBox

from app.main_window import MainWindow
from tests.hostile_images import write_postscript


@pytest.fixture
def window(qtbot, settings) -> MainWindow:
    """A window that is shown but not started: reading an image needs no model and no TensorFlow."""
    new_window = MainWindow(settings)
    qtbot.addWidget(new_window)
    new_window.show()
    new_window.canvas.draw_stroke([(140, 40), (140, 240)])
    yield new_window
    new_window.shutdown()


@pytest.fixture
def warnings_shown(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """QMessageBox.warning's (title, text) calls, recorded instead of shown."""
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(
        QMessageBox, "warning", staticmethod(lambda parent, title, text, *rest: shown.append((title, text)))
    )
    return shown


@pytest.fixture
def postscript(tmp_path: Path) -> tuple[Path, Path]:
    """A PostScript program named digit.png that writes a marker file if run, and that marker's path."""
    marker = tmp_path / "marker"
    return write_postscript(tmp_path / "digit.png", marker), marker


def file_mime(path: Path) -> QMimeData:
    return files_mime([path])


def files_mime(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return mime


def drop(window: MainWindow, path: Path) -> None:
    drop_mime(window, file_mime(path))


def drop_mime(window: MainWindow, mime) -> None:
    """Drop ``mime`` on the window (kept alive by the caller: the event does not own it)."""
    event = QDropEvent(
        QPointF(100, 100),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def paste(window: MainWindow, path: Path) -> bool:
    clipboard = QGuiApplication.clipboard()
    clipboard.setMimeData(file_mime(path))
    try:
        return window.images.paste()
    finally:  # the clipboard owns the data: left there, its teardown at exit crashed the test process (offscreen)
        clipboard.clear()


@pytest.mark.parametrize("how", ["open", "drop", "paste"])
def test_postscript_named_png_is_refused_with_a_message_and_the_drawing_kept(
    qtbot, window: MainWindow, warnings_shown: list, no_image_programs: list, postscript: tuple[Path, Path], how: str
) -> None:
    path, marker = postscript
    before = window.canvas.image_array()
    with qtbot.waitSignal(window.images.image_refused, timeout=10_000) as refused:
        if how == "open":
            assert window.images.open_file(path) is True  # started; the answer comes by signal
        elif how == "drop":
            drop(window, path)
        else:
            assert paste(window, path) is True
    assert refused.args[0] == str(path)
    assert len(warnings_shown) == 1
    title, text = warnings_shown[0]
    assert title == "Cannot open image"
    assert "'digit.png': it is PostScript (EPS), not an image format Digit Lab opens" in text
    assert "Traceback" not in text
    assert np.array_equal(window.canvas.image_array(), before)
    assert not marker.exists() and no_image_programs == []


@pytest.mark.parametrize("how", ["open", "drop", "paste"])
def test_a_named_pipe_is_refused_at_once(
    qtbot, window: MainWindow, warnings_shown: list, tmp_path: Path, how: str
) -> None:
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    actions = {"open": window.images.open_file, "drop": lambda p: drop(window, p), "paste": lambda p: paste(window, p)}
    with qtbot.waitSignal(window.images.image_refused, timeout=5_000):
        actions[how](path)
    assert [text for _, text in warnings_shown] == ["Cannot read 'pipe.png': it is not a regular file (a named pipe)."]


def test_a_slow_read_is_given_up_and_its_late_result_ignored(
    qtbot, window: MainWindow, warnings_shown: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ml.preprocess.read as read_module

    release = threading.Event()
    real_read = read_module.read_image

    def slow_read(path, **kwargs):
        release.wait(10)
        return real_read(path, **kwargs)

    path = tmp_path / "slow.png"
    from PIL import Image

    Image.new("L", (50, 50), 0).save(path)
    monkeypatch.setattr(read_module, "read_image", slow_read)
    window.images.read_timeout_ms = 300
    before = window.canvas.image_array()
    with qtbot.waitSignal(window.images.image_refused, timeout=5_000) as refused:
        window.images.open_file(path)
        assert "Reading slow.png…" in window.statusBar().currentMessage()
        started = time.perf_counter()
        qtbot.wait(50)  # the event loop runs while the file is read: the window answers
        assert time.perf_counter() - started < 1.0
    assert "took longer than 0.3 s" in refused.args[1] and "gave up" in refused.args[1]
    assert [title for title, _ in warnings_shown] == ["Cannot open image"]
    loaded = []
    window.images.image_loaded.connect(loaded.append)
    release.set()  # the reader finishes late: its result must not replace the drawing
    qtbot.waitUntil(lambda: not window.images._threads, timeout=5_000)
    qtbot.wait(50)
    assert loaded == [] and np.array_equal(window.canvas.image_array(), before)


def test_a_newer_file_wins_over_an_older_one_still_reading(
    qtbot, window: MainWindow, warnings_shown: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    import ml.preprocess.read as read_module

    real_read = read_module.read_image
    release = threading.Event()

    def read(path, **kwargs):
        if Path(path).name == "old.png":
            release.wait(10)
        return real_read(path, **kwargs)

    old, new = tmp_path / "old.png", tmp_path / "new.png"
    Image.new("L", (50, 50), 255).save(old)
    picture = Image.new("L", (50, 50), 255)
    picture.paste(0, (20, 5, 30, 45))
    picture.save(new)
    monkeypatch.setattr(read_module, "read_image", read)
    loaded = []
    window.images.image_loaded.connect(loaded.append)
    window.images.open_file(old)
    with qtbot.waitSignal(window.images.image_loaded, timeout=5_000):
        window.images.open_file(new)
    release.set()
    qtbot.waitUntil(lambda: not window.images._threads, timeout=5_000)
    qtbot.wait(50)
    assert loaded == [str(new)] and warnings_shown == []


def test_an_image_chosen_elsewhere_in_the_window_lands_on_the_canvas_as_it_is(window):
    digit = np.zeros((28, 28), dtype=np.float32)
    digit[6:22, 12:16] = 1.0  # a white "1" on black, as an evaluation set holds it
    window.images.show_image(digit, "MNIST test #5 (true 1, evaluated as 1)")
    assert np.array_equal(window.canvas.prediction_input(), digit)  # predicted from its own pixels
    assert window.canvas.can_undo()  # one undoable step, like an opened image
    assert window.statusBar().currentMessage() == "Opened MNIST test #5 (true 1, evaluated as 1)"


@pytest.mark.parametrize("how", ["drop", "paste"])
def test_several_files_dropped_or_pasted_at_once_say_that_only_the_first_was_opened(
    qtbot, window: MainWindow, warnings_shown: list, tmp_path: Path, how: str
) -> None:
    from PIL import Image

    paths = [tmp_path / f"digit{index}.png" for index in range(3)]
    for path in paths:
        Image.new("L", (50, 50), 255).save(path)
    loaded = []
    window.images.image_loaded.connect(loaded.append)
    with qtbot.waitSignal(window.images.image_loaded, timeout=5_000):
        if how == "drop":
            mime = files_mime(paths)  # kept alive here: the event does not own it
            drop_mime(window, mime)
        else:
            clipboard = QGuiApplication.clipboard()
            clipboard.setMimeData(files_mime(paths))
            try:
                window.images.paste()
            finally:
                clipboard.clear()
    assert loaded == [str(paths[0])] and warnings_shown == []
    message = window.statusBar().currentMessage()
    assert message.startswith("Opened digit0.png") and "first of 3 files" in message and "not opened" in message


def test_a_huge_pasted_image_is_reduced_as_a_file_would_be(window: MainWindow) -> None:
    """A pasted 5K screenshot was converted whole in the window's thread (1.4 s) and every prediction then worked on
    all its pixels; it is now reduced to the longer side an image file is read at, keeping its shape and its digit."""
    from PySide6.QtGui import QImage

    from ml.preprocess.read import READ_MAX_SIDE

    pixels = np.full((2880, 5120), 255, dtype=np.uint8)
    pixels[1000:1900, 2500:2600] = 0  # a "1" 900 px tall
    screenshot = QImage(pixels.data, 5120, 2880, 5120, QImage.Format.Format_Grayscale8).copy()
    assert window.images.load_image(screenshot)
    source = window.canvas.prediction_input()
    assert source.shape == (READ_MAX_SIDE * 2880 // 5120, READ_MAX_SIDE)
    column = source[:, 2550 * READ_MAX_SIDE // 5120]  # through the "1"
    assert float(column.min()) < 0.1 and float(source[:300].min()) > 0.9


def test_image_data_dropped_from_another_application_is_not_called_pasted(window: MainWindow) -> None:
    """A picture dragged out of another application (image data, no file) said "Pasted an image from the dropped
    data"; it was dropped, not pasted."""
    from PySide6.QtGui import QImage

    picture = QImage(60, 60, QImage.Format.Format_Grayscale8)
    picture.fill(255)
    mime = QMimeData()  # kept alive here: the event does not own it
    mime.setImageData(picture)
    event = QDropEvent(
        QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)
    assert window.canvas.drawing.source is not None and window.canvas.drawing.source.shape == (60, 60)
    assert window.statusBar().currentMessage() == "Dropped an image from another application"
