"""ExceptionReporter: uncaught exceptions from the GUI thread and other threads are logged and shown."""

from __future__ import annotations

import logging
import sys
import threading

import pytest
from PySide6.QtWidgets import QMessageBox

from app.common.errors import ExceptionReporter, configure_logging, describe_exception, log_file_path


@pytest.fixture
def reporter(qtbot, tmp_path):
    log_path = configure_logging(tmp_path / "logs" / "digitlab.log")
    handlers_before = {name: list(logging.getLogger(name).handlers) for name in ("app", "ml")}
    instance = ExceptionReporter(log_path)
    instance.install()
    yield instance
    instance.uninstall()
    for name in ("app", "ml"):
        package_logger = logging.getLogger(name)
        for handler in package_logger.handlers:
            handler.close()
        package_logger.handlers = [h for h in handlers_before[name] if h in package_logger.handlers]
        for handler in list(package_logger.handlers):
            if getattr(handler, "baseFilename", "").startswith(str(tmp_path)):
                package_logger.removeHandler(handler)


def test_install_and_uninstall_swap_both_hooks(reporter):
    assert sys.excepthook == reporter.handle_exception
    assert threading.excepthook == reporter.handle_thread_exception
    reporter.uninstall()
    assert sys.excepthook != reporter.handle_exception
    reporter.install()


def test_an_exception_is_logged_and_shown_in_plain_words(qtbot, reporter):
    try:
        raise ValueError("the digit is upside down")
    except ValueError:
        with qtbot.waitSignal(reporter.exception_caught) as caught:
            sys.excepthook(*sys.exc_info())
    summary, details = caught.args
    assert summary == "ValueError: the digit is upside down"
    assert "Traceback" in details
    qtbot.waitUntil(lambda: reporter._dialog is not None and reporter._dialog.isVisible())
    dialog = reporter._dialog
    assert "still running" in dialog.text() and "upside down" in dialog.text()
    assert str(reporter.log_path) in dialog.informativeText()
    assert dialog.icon() == QMessageBox.Icon.Critical
    assert "the digit is upside down" in reporter.log_path.read_text()
    dialog.accept()
    qtbot.waitUntil(lambda: reporter._dialog is None)


def test_an_exception_in_a_python_thread_reaches_the_gui_thread(qtbot, reporter):
    def fail() -> None:
        raise RuntimeError("worker exploded")

    thread = threading.Thread(target=fail, name="exploding-worker")
    with qtbot.waitSignal(reporter.exception_caught, timeout=5000) as caught:
        thread.start()
        thread.join()
    assert caught.args[0] == "RuntimeError: worker exploded"
    qtbot.waitUntil(lambda: reporter._dialog is not None)
    log = reporter.log_path.read_text()
    assert "exploding-worker" in log and "worker exploded" in log
    reporter._dialog.accept()


def test_a_second_error_while_the_dialog_is_open_only_adds_a_note(qtbot, reporter):
    reporter.handle_exception(KeyError, KeyError("first"), None)
    qtbot.waitUntil(lambda: reporter._dialog is not None)
    reporter.handle_exception(KeyError, KeyError("second"), None)
    qtbot.waitUntil(lambda: "More errors followed" in reporter._dialog.informativeText())
    assert "first" in reporter._dialog.text()
    reporter._dialog.accept()


def test_describe_exception():
    assert describe_exception(ZeroDivisionError()) == "ZeroDivisionError"
    assert describe_exception(OSError("disk full")) == "OSError: disk full"


def test_log_file_lives_in_the_application_data_folder():
    assert log_file_path().name == "digitlab.log"


def test_paths_in_messages_are_kept_whole_and_read_the_same():
    from app.common.errors import NO_BREAK_SPACE, WORD_JOINER, paths_kept_whole, unbreakable_path

    folder = "/home/alexandra-longname/.cache/DigitLab/Digit Lab/trained"
    whole = unbreakable_path(folder)
    assert whole.replace(WORD_JOINER, "").replace(NO_BREAK_SPACE, " ") == folder  # the same text on screen
    assert " " not in whole and whole.count(WORD_JOINER) == folder.count("/") + folder.count("-")
    message = f"Could not save the model to {folder}/run.keras: disk full. Also /tmp/x/y.keras failed."
    kept = paths_kept_whole(message, f"{folder}/run.keras")
    assert kept.replace(WORD_JOINER, "").replace(NO_BREAK_SPACE, " ") == message
    assert unbreakable_path(f"{folder}/run.keras") in kept and unbreakable_path("/tmp/x/y.keras") in kept
    assert kept.startswith("Could not save the model to ") and "disk full. Also " in kept


def test_a_path_in_a_wrapping_message_is_never_broken_inside(qapp):
    from PySide6.QtGui import QFont, QTextLayout, QTextOption

    from app.common.errors import unbreakable_path

    folder = "/home/alexandra-longname/.cache/DigitLab/Digit Lab/trained"

    def line_breaks(text: str, width: int = 300) -> list[int]:
        layout = QTextLayout(text, QFont())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        layout.setTextOption(option)
        layout.beginLayout()
        breaks = []
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            breaks.append(line.textStart() + line.textLength())
        layout.endLayout()
        return breaks[:-1]

    prefix = "Until you save it, a run's model is a file in "
    plain = prefix + folder + ", where the newest runs are kept."
    assert any(len(prefix) < at < len(prefix) + len(folder) for at in line_breaks(plain))  # the bug: a broken path
    whole = unbreakable_path(folder)
    kept = prefix + whole + ", where the newest runs are kept."
    assert not any(len(prefix) < at < len(prefix) + len(whole) for at in line_breaks(kept))


def test_a_data_folder_that_cannot_be_made_moves_the_log_instead_of_stopping_the_start(tmp_path, monkeypatch):
    blocked = tmp_path / "share"
    blocked.write_text("a file where the data folder should be")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "temporary"))
    handlers_before = {name: list(logging.getLogger(name).handlers) for name in ("app", "ml")}
    for name in ("app", "ml"):
        logging.getLogger(name).handlers = []
    try:
        path = configure_logging(blocked / "DigitLab" / "digitlab.log")
        assert path.parent.parent == tmp_path / "temporary" and path.name == "digitlab.log"
        logging.getLogger("app.somewhere").warning("written where it can be")
        assert "written where it can be" in path.read_text()
    finally:
        for name in ("app", "ml"):
            for handler in logging.getLogger(name).handlers:
                handler.close()
            logging.getLogger(name).handlers = handlers_before[name]
