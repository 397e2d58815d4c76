"""Uncaught exceptions from any thread: logged to a file and shown in plain words; the app keeps running."""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

LOG_FILE_NAME = "digitlab.log"
LOGGED_PACKAGES = ("app", "ml")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"

logger = logging.getLogger(__name__)


WORD_JOINER = "\u2060"  # invisible; no line break may fall next to it
NO_BREAK_SPACE = "\u00a0"
_PATH_LIKE = re.compile(r"(?<![\w.\u2060])(?:[A-Za-z]:)?[\\/][^\s\"'<>|\u2060]*[\\/][^\s\"'<>|,;)\u2060]*")


def unbreakable_path(path: str | Path) -> str:
    """``path`` for a wrapping message: never broken at "/" (or at a space or "-" inside it): it reads as one piece."""
    text = str(path).replace(" ", NO_BREAK_SPACE)
    for separator in "/\\-":  # where a wrapping label would break; the text reads the same
        text = text.replace(separator, separator + WORD_JOINER)
    return text


def paths_kept_whole(message: str, *paths: str | Path) -> str:
    """``message`` with ``paths`` (known, spaces and all) and any other absolute path made unbreakable."""
    for path in sorted((str(path) for path in paths), key=len, reverse=True):
        message = message.replace(path, unbreakable_path(path))
    return _PATH_LIKE.sub(lambda match: unbreakable_path(match.group(0)), message)


def log_file_path() -> Path:
    """Where Digit Lab writes its log: the per-user application data folder."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(folder or Path.home() / ".digitlab") / LOG_FILE_NAME


def configure_logging(path: Path | None = None) -> Path:
    """Send warnings and errors of ``app`` and ``ml`` to a rotating log file; return its path.

    A data folder that cannot be written (a file where a folder should be, no permission) moves the log to the
    temporary folder, and failing that the window still opens, logging nowhere: a log never stops the app starting.
    """
    path = path or log_file_path()
    handler = None
    own_temporary = f"digitlab-{os.getuid()}" if hasattr(os, "getuid") else "digitlab"  # never another user's
    for candidate in (path, Path(tempfile.gettempdir()) / own_temporary / LOG_FILE_NAME):
        try:
            candidate.parent.mkdir(parents=True, exist_ok=True)
            handler = RotatingFileHandler(candidate, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
        except OSError as error:
            print(f"digitlab: cannot write the log file {candidate}: {error.strerror or error}", file=sys.stderr)
            continue
        handler.setFormatter(logging.Formatter(_LOG_FORMAT))
        handler.setLevel(logging.INFO)
        path = candidate
        break
    for name in LOGGED_PACKAGES:
        package_logger = logging.getLogger(name)
        package_logger.setLevel(logging.INFO)
        if handler is not None and not any(isinstance(known, RotatingFileHandler) for known in package_logger.handlers):
            package_logger.addHandler(handler)
    return path


def current_log_file() -> Path:
    """The log file in use (it may have moved to the temporary folder), else where it would be."""
    for handler in logging.getLogger(LOGGED_PACKAGES[0]).handlers:
        if isinstance(handler, RotatingFileHandler):
            return Path(handler.baseFilename)
    return log_file_path()


def describe_exception(error: BaseException) -> str:
    """A one-line, plain-words summary: ``ValueError: bad value``."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class ExceptionReporter(QObject):
    """Catches uncaught exceptions (``sys.excepthook`` and ``threading.excepthook``), logs them and shows them."""

    exception_caught = Signal(str, str)

    def __init__(self, log_path: Path, parent_window: QWidget | None = None) -> None:
        super().__init__()
        self.log_path = log_path
        self.parent_window = parent_window
        self._previous_excepthook = sys.excepthook
        self._previous_threading_excepthook = threading.excepthook
        self._dialog: QMessageBox | None = None
        self._installed = False
        self.exception_caught.connect(self._on_exception_caught, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        """Become the process's handler for uncaught exceptions in any thread."""
        if self._installed:
            return
        self._previous_excepthook = sys.excepthook
        self._previous_threading_excepthook = threading.excepthook
        sys.excepthook = self.handle_exception
        threading.excepthook = self.handle_thread_exception
        self._installed = True

    def uninstall(self) -> None:
        """Give the hooks back to whoever had them before."""
        if not self._installed:
            return
        sys.excepthook = self._previous_excepthook
        threading.excepthook = self._previous_threading_excepthook
        self._installed = False

    def handle_exception(
        self,
        exception_type: type[BaseException],
        error: BaseException,
        trace: TracebackType | None,
    ) -> None:
        """Log the exception with its traceback and ask the GUI thread to show it; Ctrl+C keeps its meaning."""
        if issubclass(exception_type, KeyboardInterrupt):
            self._previous_excepthook(exception_type, error, trace)
            return
        details = "".join(traceback.format_exception(exception_type, error, trace))
        logger.error("Uncaught exception in thread %s\n%s", threading.current_thread().name, details)
        try:
            self.exception_caught.emit(describe_exception(error), details)
        except RuntimeError:  # the reporter is being destroyed as the app exits: the log has it
            pass

    def handle_thread_exception(self, arguments: threading.ExceptHookArgs) -> None:
        """``threading.excepthook``: the same treatment for exceptions in Python threads."""
        if arguments.exc_value is None:
            return
        self.handle_exception(arguments.exc_type, arguments.exc_value, arguments.exc_traceback)

    @Slot(str, str)
    def _on_exception_caught(self, summary: str, details: str) -> None:
        if QApplication.instance() is None:
            return
        if self._dialog is not None and self._dialog.isVisible():
            self._dialog.setInformativeText(f"More errors followed; all of them are in the log file:\n{self.log_path}")
            return
        self._dialog = self.make_dialog(summary, details)
        self._dialog.finished.connect(self._on_dialog_finished)
        self._dialog.show()

    @Slot()
    def _on_dialog_finished(self) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
            self._dialog = None

    def make_dialog(self, summary: str, details: str) -> QMessageBox:
        """The non-blocking message box that reports one error."""
        dialog = QMessageBox(self.parent_window)
        dialog.setIcon(QMessageBox.Icon.Critical)
        dialog.setWindowTitle("Digit Lab: unexpected error")
        dialog.setText(f"Something went wrong, but Digit Lab is still running.\n\n{summary}")
        dialog.setInformativeText(f"The details were written to the log file:\n{self.log_path}")
        dialog.setDetailedText(details)
        dialog.setStandardButtons(QMessageBox.StandardButton.Ok)
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        return dialog
