"""The Qt binding keeps reference counts intact, and ``run_app`` refuses to start on one that does not."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

import app.launch as launch
from app.common.qt_binding_check import WORKING_REQUIREMENT, qt_binding_drops_none_references, qt_binding_problem


def test_the_installed_qt_binding_keeps_reference_counts_intact():
    assert not qt_binding_drops_none_references(), (
        f"This PySide6 loses a reference to None on every call (PySide6 6.12.0 on Python 3.11): the window "
        f"crashes within seconds of drawing. Install '{WORKING_REQUIREMENT}'."
    )
    assert qt_binding_problem() is None


def test_run_app_refuses_to_start_with_a_binding_that_loses_references(qapp, monkeypatch, capsys):
    shown = []
    monkeypatch.setattr(launch, "qt_binding_problem", lambda: "PySide6 X has a reference-counting bug")
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *args: shown.append(args[1:3])))
    monkeypatch.setattr(launch, "MainWindow", pytest.fail)  # no window may be built
    assert launch.run_app() == 1
    assert shown == [("Digit Lab cannot start", "PySide6 X has a reference-counting bug")]
    assert "reference-counting bug" in capsys.readouterr().err
