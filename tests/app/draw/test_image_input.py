"""The window's Open, drop and paste refuse hostile files with a clear message: PostScript named .png, a FIFO."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from PySide6.QtWidgets import QMessageBox

from app.main_window import MainWindow


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
def no_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any attempt to start an external program (Ghostscript for EPS, ...)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"an external program was started: {args}")

    for name in ("Popen", "check_call", "call", "run", "check_output"):
        monkeypatch.setattr(subprocess, name, refuse)
    monkeypatch.setattr(os, "system", refuse)


@pytest.fixture
def postscript(tmp_path: Path) -> tuple[Path, Path]:
    """A PostScript program named digit.png that writes a marker file if run, and that marker's path."""
    marker = tmp_path / "marker"
    path = tmp_path / "digit.png"
    path.write_text(f"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n({marker}) (w) file closefile\n{{}} loop\n")
    return path, marker


def file_mime(path: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime


def drop(window: MainWindow, path: Path) -> None:
    mime = file_mime(path)  # kept alive here: the event does not own it
    event = QDropEvent(
        QPointF(100, 100),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def paste(window: MainWindow, path: Path) -> bool:
    QGuiApplication.clipboard().setMimeData(file_mime(path))
    return window.images.paste()


@pytest.mark.parametrize("how", ["open", "drop", "paste"])
def test_postscript_named_png_is_refused_with_a_message_and_the_drawing_kept(
    window: MainWindow, warnings_shown: list, no_programs: None, postscript: tuple[Path, Path], how: str
) -> None:
    path, marker = postscript
    before = window.canvas.image_array()
    if how == "open":
        assert window.images.open_file(path) is False
    elif how == "drop":
        drop(window, path)
    else:
        assert paste(window, path) is False
    assert len(warnings_shown) == 1
    title, text = warnings_shown[0]
    assert title == "Cannot open image"
    assert "'digit.png': it is PostScript (EPS), not an image format Digit Lab opens" in text
    assert "Traceback" not in text
    assert np.array_equal(window.canvas.image_array(), before)
    assert not marker.exists()


@pytest.mark.parametrize("how", ["open", "drop", "paste"])
def test_a_named_pipe_is_refused_at_once(window: MainWindow, warnings_shown: list, tmp_path: Path, how: str) -> None:
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    {"open": window.images.open_file, "drop": lambda p: drop(window, p), "paste": lambda p: paste(window, p)}[how](path)
    assert [text for _, text in warnings_shown] == ["Cannot read 'pipe.png': it is not a regular file (a named pipe)."]
