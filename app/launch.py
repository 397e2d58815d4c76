"""Open the window: the QApplication, error reporting, the window, and a clean exit."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMessageBox,
)

from app.common.about import application_icon
from app.common.errors import ExceptionReporter, configure_logging, describe_exception
from app.common.file_dialogs import install_roomy_file_dialogs
from app.common.qt_binding_check import qt_binding_problem
from app.common.threads import wait_for_stopping_threads
from app.main_window import MainWindow
from ml import __version__
from ml.native_log import configure_tensorflow_logging
from ml.user_folders import APPLICATION, ORGANIZATION

logger = logging.getLogger(__name__)


def close_on_interrupt(window: QMainWindow) -> QTimer:
    """Let Ctrl+C in the terminal close the window properly (Python only sees signals between Qt events)."""
    signal.signal(signal.SIGINT, lambda *_: window.close())
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return timer


STARTUP_WAIT_MS = 2000
"""The longest the window waits, before showing, for the model thread's start-up work (0.3-0.5 s here)."""


def start_then_show(window: MainWindow, prepared: bool = True) -> None:
    """Start the model thread, and show the window once drawings are answered, or are known to wait for TensorFlow.

    The model thread's start-up work (the shipped weights, scipy and Pillow's imports, a warm-up answer: about 0.4 s
    of Python) overlapped the shown window's first paints, which then waited for the GIL: event-loop stalls of up to
    97 ms before the first answer (bench/bench_responsiveness.py --startup-only). Done before showing, the window
    appears that much later, answers at once, and stalls for neither.

    ``prepared`` (the default; False only for the benchmark's comparison): while hidden, the window also shows the
    warm-up answer once and paints itself once, and start-up's objects are kept out of Python's full collections.
    """
    settled = QEventLoop()
    window.models.startup_settled.connect(settled.quit)
    if prepared:
        window.models.startup_rehearsal.connect(window.prediction.rehearse)  # the first answer's one-time work
    give_up = QTimer(settled)  # dies with the loop: no late call once the window is shown
    give_up.setSingleShot(True)
    give_up.timeout.connect(settled.quit)
    give_up.start(STARTUP_WAIT_MS)
    window.start()
    settled.exec()
    window.models.startup_settled.disconnect(settled.quit)
    if prepared:
        window.models.startup_rehearsal.disconnect(window.prediction.rehearse)
        prepare_first_paint(window)
    window.show()


def prepare_first_paint(window: QMainWindow) -> None:
    """Before the window is shown: lay it out and paint it once into a pixmap that is thrown away, so that the charts'
    axes and the plots' scenes do their first-paint work (25-45 ms of Python here) now, not in the event loop of a
    window the user can already draw on; then move start-up's objects (Qt's wrappers, pyqtgraph, numpy, scipy: about
    80,000) out of reach of Python's full collections, each of which walked them all (80-100 ms here)."""
    window.grab()
    gc.freeze()


def open_window(log_path: Path) -> MainWindow | None:
    """The main window, or None after saying in a line and a dialog why it could not be built (the log has the
    traceback): an exception here used to end the app with status 1 and not a word on the screen or the terminal."""
    try:
        return MainWindow()
    except Exception as error:
        logger.exception("The window could not be built")
        message = f"The window could not open: {describe_exception(error)}\n\nThe details are in {log_path}"
        print(f"digitlab: {message}", file=sys.stderr)
        QMessageBox.critical(None, "Digit Lab cannot start", message)
        return None


def run_app(argv: list[str] | None = None) -> int:
    """Open the window; TensorFlow and the model load in the background. Returns the exit status."""
    configure_tensorflow_logging()  # TensorFlow's chatter stays off the terminal unless DIGITLAB_DEBUG=1
    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(application_icon())  # every window and dialog, and the task bar
    install_roomy_file_dialogs(app)  # Qt's own file dialogs (no native one) open big enough for their columns
    problem = qt_binding_problem()
    if problem is not None:
        print(f"digitlab: {problem}", file=sys.stderr)
        QMessageBox.critical(None, "Digit Lab cannot start", problem)
        return 1
    reporter = ExceptionReporter(configure_logging())
    reporter.install()
    window = open_window(reporter.log_path)
    if window is None:
        reporter.uninstall()
        return 1
    reporter.parent_window = window
    start_then_show(window)
    close_on_interrupt(window)
    status = app.exec()
    window.shutdown()
    reporter.uninstall()
    return status_after_threads(status)


def status_after_threads(status: int, timeout_ms: int = 30000) -> int:
    """``status`` once the threads still finishing a job have ended; past ``timeout_ms`` the process leaves at once.

    A thread still running when Python tore the window down aborted the process ("QThread: Destroyed while thread
    is still running", a core dump, status 134) after the window had already gone.
    """
    if wait_for_stopping_threads(timeout_ms):
        return status
    logger.warning("A job was still running %d ms after the window closed; leaving without it", timeout_ms)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
