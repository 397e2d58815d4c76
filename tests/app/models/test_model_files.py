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


def recent_labels(files: ModelFiles) -> dict[str, str]:
    """Each recent model's file name and its label in the Recent models menu."""
    return {Path(action.data()).name: action.text() for action in files.recent_menu.actions() if action.data()}


def test_recent_models_name_a_taught_version_as_history_does_and_other_files_by_file_name(
    qtbot, settings, monkeypatch, tmp_path
):
    from ml.teach import versions as versions_module
    from ml.teach.versions import VersionStore

    folder = tmp_path / "versions"  # the window's versions folder, where Teach keeps what it made
    monkeypatch.setattr(versions_module, "versions_folder", lambda: folder)
    folder.mkdir()
    taught, gone, unrecorded = (folder / f"20261207-2011{n}0-48790e.keras" for n in (2, 3, 4))
    own = tmp_path / "mine.keras"
    for path in (taught, gone, unrecorded, own):
        path.write_bytes(b"a model")  # never loaded: the menu reads the history only
    store = VersionStore(folder)
    store.remember_original(taught, "digitlab-best · taught 1")
    store.remember_original(gone, "digitlab-best · taught 2")
    gone.unlink()  # its file deleted behind History's back
    window = QWidget()
    qtbot.addWidget(window)
    files = ModelFiles(settings, window)
    for path in (own, unrecorded, gone, taught):
        files.remember(str(path))

    labels = recent_labels(files)
    assert labels[taught.name] == f"digitlab-best · taught 1  —  {folder}"
    assert labels[gone.name] == f"{gone.name}  —  {folder}"
    assert labels[unrecorded.name] == f"{unrecorded.name}  —  {folder}"
    assert labels[own.name] == f"mine.keras  —  {tmp_path}"  # a file of the user's own keeps its label

    (folder / "versions.json").write_text('{"versions": [{"id": "x", "path": 5, "name": "n", "created": ""}]}')
    files.rebuild_recent_menu()  # a history edited by hand names nothing, and the menu still opens
    assert recent_labels(files)[taught.name] == f"{taught.name}  —  {folder}"
