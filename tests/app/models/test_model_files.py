"""Model file dialogs: they start in a models folder (not $HOME), or where unsaved runs are kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QWidget

import app.models.model_files as model_files
from app.models.model_files import ModelFiles


@pytest.fixture
def folders(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """The models folder (Documents/Digit Lab models) and the unsaved-runs folder, under ``tmp_path``."""
    models, trained = tmp_path / "Documents" / "Digit Lab models", tmp_path / "cache" / "trained"
    monkeypatch.setattr(model_files, "default_models_folder", lambda: models)
    monkeypatch.setattr(model_files, "trained_models_folder", lambda: trained)
    return models, trained


def starts(monkeypatch, name: str) -> list[str]:
    asked: list[str] = []

    def dialog(parent, title, start, *rest):
        asked.append(start)
        return "", ""

    monkeypatch.setattr(QFileDialog, name, staticmethod(dialog))
    return asked


def test_save_starts_in_a_models_folder_of_its_own_with_a_plain_file_name(qtbot, settings, monkeypatch, folders):
    window = QWidget()
    qtbot.addWidget(window)
    asked = starts(monkeypatch, "getSaveFileName")
    assert ModelFiles(settings, window).ask_save_path("trained fast · mnist · 99.1 % · 09:35") is None
    suggested = Path(asked[0])
    assert suggested.parent == folders[0] and folders[0].is_dir()  # made for the first save; not $HOME
    assert suggested.name == "trained-fast-mnist-99.1-09-35.keras"


def test_open_starts_where_unsaved_runs_are_until_a_models_folder_exists(qtbot, settings, monkeypatch, folders):
    window = QWidget()
    qtbot.addWidget(window)
    asked = starts(monkeypatch, "getOpenFileName")
    models, trained = folders
    files = ModelFiles(settings, window)
    files.ask_open_path()
    assert asked[-1] == str(Path.home())  # neither folder exists yet
    trained.mkdir(parents=True)
    files.ask_open_path()
    assert asked[-1] == str(trained)  # a run's unsaved model can be found again
    models.mkdir(parents=True)
    files.ask_open_path()
    assert asked[-1] == str(models)
