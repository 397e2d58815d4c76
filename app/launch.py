"""Open the window: the QApplication, error reporting, the window, and a clean exit."""

from __future__ import annotations

import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMessageBox,
)

from app.common.about import application_icon
from app.common.errors import ExceptionReporter, configure_logging
from app.common.file_dialogs import install_roomy_file_dialogs
from app.common.qt_binding_check import qt_binding_problem
from app.common.threads import wait_for_stopping_threads
from app.main_window import MainWindow
from ml import __version__
from ml.native_log import configure_tensorflow_logging
from ml.user_folders import APPLICATION, ORGANIZATION


def close_on_interrupt(window: QMainWindow) -> QTimer:
    """Let Ctrl+C in the terminal close the window properly (Python only sees signals between Qt events)."""
    signal.signal(signal.SIGINT, lambda *_: window.close())
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return timer


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
    window = MainWindow()
    reporter.parent_window = window
    # The model thread's first work (shipped weights, imports, a warm-up answer) overlaps the window's first paint
    # rather than its first events: fewer stalls before the first answer (bench/bench_responsiveness.py).
    window.start()
    window.show()
    close_on_interrupt(window)
    status = app.exec()
    window.shutdown()
    reporter.uninstall()
    wait_for_stopping_threads()
    return status
