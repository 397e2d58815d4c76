"""Headless Qt for every test, isolated settings and app data, and no test may leave a QThread running."""

from __future__ import annotations

import os
import subprocess
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from weakref import WeakKeyDictionary

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything imports Qt
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import pytest  # noqa: E402
from PySide6.QtCore import QSettings, QStandardPaths, QThread  # noqa: E402

import ml  # noqa: E402, F401 - sets TensorFlow's oneDNN switch before any test module imports keras

QStandardPaths.setTestModeEnabled(True)  # module-scoped fixtures too stay out of the user's folders

ORGANIZATION = "DigitLab"
APPLICATION = "Digit Lab"


def make_settings(folder: Path) -> QSettings:
    """A QSettings stored as an INI file under ``folder`` (never the user's real settings)."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


@pytest.fixture(autouse=True)
def isolated_qt_storage(tmp_path: Path) -> Iterator[Path]:
    """Point every QSettings format and QStandardPaths at test locations for the duration of a test."""
    QStandardPaths.setTestModeEnabled(True)
    folder = tmp_path / "qsettings"
    for settings_format in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(settings_format, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture(scope="session")
def settings_factory():
    """``make_settings`` for fixtures of any scope."""
    return make_settings


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """Digit Lab's settings for one test, in an INI file under ``tmp_path``."""
    return make_settings(tmp_path / "qsettings")


@pytest.fixture(autouse=True)
def no_dangling_qthreads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test that leaves a QThread it started still running (as napari's test suite does)."""
    started: WeakKeyDictionary[QThread, str] = WeakKeyDictionary()
    original_start = QThread.start

    def start_and_remember(thread: QThread, *args, **kwargs) -> None:
        started[thread] = "".join(traceback.format_stack(limit=6)[:-1])
        original_start(thread, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start_and_remember)
    yield
    dangling = still_running(started, grace_s=3.0)
    for thread, _ in dangling:
        thread.quit()
        thread.wait(5000)
    if dangling:
        places = "\n---\n".join(where for _, where in dangling)
        pytest.fail(f"{len(dangling)} QThread(s) still running after the test; started at:\n{places}")


def still_running(started: WeakKeyDictionary, grace_s: float) -> list[tuple[QThread, str]]:
    """The started threads still running after ``grace_s`` s of event processing (a finishing thread may be slow
    to end on a loaded machine: its worker has answered, its finished signal is on its way)."""
    from PySide6.QtCore import QCoreApplication

    deadline = time.monotonic() + grace_s
    while True:
        running = []
        for thread, where in list(started.items()):
            try:
                if thread.isRunning():
                    running.append((thread, where))
            except RuntimeError:  # the C++ thread object is already deleted, so it is not running
                continue
        if not running or time.monotonic() > deadline:
            return running
        if QCoreApplication.instance() is not None:
            QCoreApplication.processEvents()
        time.sleep(0.02)


def draw_shape_images(folder: Path, classes: tuple[str, ...], per_class: int, size: int, seed: int = 0) -> Path:
    """An image folder with one subfolder per class of simple white shapes on black (circle, square, triangle)."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    for name in classes:
        (folder / name).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            image = Image.new("L", (size, size), 0)
            draw = ImageDraw.Draw(image)
            half = rng.integers(size // 5, size // 3)
            cx, cy = rng.integers(half + 1, size - half - 1, size=2)
            box = (cx - half, cy - half, cx + half, cy + half)
            if name == "circle":
                draw.ellipse(box, fill=255)
            elif name == "square":
                draw.rectangle(box, fill=255)
            else:
                draw.polygon([(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)], fill=255)
            image.save(folder / name / f"{index:03d}.png")
    return folder


@pytest.fixture
def shape_folder(tmp_path: Path) -> Path:
    """A 3-class image folder (circle, square, triangle), 24 images of 20x20 pixels per class."""
    return draw_shape_images(tmp_path / "shapes", ("circle", "square", "triangle"), per_class=24, size=20)


@pytest.fixture
def diverged_result():
    """Build what ``ml.training.fit.fit`` returns when the loss became NaN in the first epoch."""
    from ml.training.config import TrainResult

    def make(config, reason: str = "The loss became NaN at epoch 1, batch 2."):
        return TrainResult(
            model=None,
            config=config.resolved(),
            history={"loss": [float("nan")]},
            test_accuracy=0.1,
            test_loss=2.3,
            device="CPU",
            epochs_completed=1,
            stop_reason=reason,
        )

    return make


@pytest.fixture
def no_image_programs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list:
    """Fail the test if Ghostscript (or any program given a file of the test) starts, and record it.

    Other programs run as usual: TensorFlow's import itself runs ``uname -p``.
    """
    refused = ("gs", "gswin32c", "gswin64c", "djpeg")
    started: list = []

    def guard(original):
        def run(command, *args, **kwargs):
            words = [command] if isinstance(command, str | os.PathLike) else list(command)
            if Path(str(words[0]).split()[0]).name in refused or any(str(tmp_path) in str(word) for word in words):
                started.append(words)
                raise AssertionError(f"an external program was started on an image: {words}")
            return original(command, *args, **kwargs)

        return run

    for name in ("Popen", "check_call", "call", "run", "check_output"):
        monkeypatch.setattr(subprocess, name, guard(getattr(subprocess, name)))
    monkeypatch.setattr(os, "system", guard(os.system))
    return started
