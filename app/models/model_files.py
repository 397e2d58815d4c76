"""Model files as the window offers them: Open and Save dialogs, and the Recent models menu (kept in QSettings)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from app.common.user_folders import default_models_folder, trained_models_folder
from app.models.names import file_name_for
from ml.models.formats import SUPPORTED_SUFFIXES
from ml.teach.versions import version_name

MODEL_OPEN_FILTER = "Keras models (*.keras *.h5 *.hdf5);;All files (*)"
MODEL_SAVE_FILTER = "Keras model (*.keras);;Legacy HDF5 model (*.h5)"
RECENT_MODELS_LIMIT = 8


class ModelFiles(QObject):
    """Asks which model file to open or save to, and remembers the recent ones in a menu."""

    open_requested = Signal(str)

    def __init__(self, settings: QSettings, window: QWidget) -> None:
        super().__init__(window)
        self.settings = settings
        self.window = window
        self.recent_menu = QMenu("&Recent models", window)
        self.recent_menu.setToolTipsVisible(True)  # each entry's tooltip holds the whole path
        self.recent_menu.aboutToShow.connect(self.rebuild_recent_menu)
        self.rebuild_recent_menu()

    def recent(self) -> list[str]:
        """Recently used model files, newest first."""
        return [str(path) for path in self.settings.value("models/recent", [], type=list) if path]

    def remember(self, path: str) -> None:
        """Put ``path`` first in the recent models."""
        recent = [entry for entry in self.recent() if Path(entry) != Path(path)]
        self.settings.setValue("models/recent", [path, *recent][:RECENT_MODELS_LIMIT])
        self.rebuild_recent_menu()

    def remember_saved(self, path: str) -> None:
        """A model was saved to ``path``: recent, and the folder the next Open and Save start in."""
        self.settings.setValue("paths/models", str(Path(path).parent))
        self.remember(path)

    def ask_open_path(self) -> None:
        """Ask for a model file and request it opened (first in the models folder, else where unsaved runs are)."""
        start = next((folder for folder in (default_models_folder(), trained_models_folder()) if folder.is_dir()), None)
        folder = self.settings.value("paths/models", str(start or Path.home()), type=str)
        path, _ = QFileDialog.getOpenFileName(self.window, "Open model", folder, MODEL_OPEN_FILTER)
        if path:
            self.open_requested.emit(path)

    def ask_save_path(self, display_name: str) -> str | None:
        """The file to save a model called ``display_name`` to, or None when the dialog is cancelled."""
        folder = Path(self.settings.value("paths/models", str(default_models_folder()), type=str))
        try:
            folder.mkdir(parents=True, exist_ok=True)  # the first save goes to a folder of its own, not $HOME
        except OSError:
            folder = Path.home()
        suggested = folder / f"{file_name_for(display_name)}.keras"
        path, chosen_filter = QFileDialog.getSaveFileName(
            self.window, "Save model as", str(suggested), MODEL_SAVE_FILTER
        )
        if not path:
            return None
        if Path(path).suffix.lower() not in SUPPORTED_SUFFIXES:
            path += ".h5" if "HDF5" in chosen_filter else ".keras"
        return path

    @Slot()
    def rebuild_recent_menu(self) -> None:
        """List the recent models (missing files greyed out; taught versions by name) and a Clear entry."""
        menu = self.recent_menu
        menu.clear()
        recent = self.recent()
        for path in recent:
            exists = Path(path).is_file()
            name = (exists and version_name(path)) or Path(path).name  # a taught version by its name in History
            action = menu.addAction(f"{name}  —  {Path(path).parent}")  # the folder tells copies apart
            action.setData(path)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.setEnabled(exists)
            action.triggered.connect(self._on_recent_model_triggered)
        if recent:
            menu.addSeparator()
        clear = menu.addAction("Clear recent models")
        clear.setEnabled(bool(recent))
        clear.triggered.connect(self._on_clear_triggered)

    @Slot()
    def _on_recent_model_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.open_requested.emit(action.data())

    @Slot()
    def _on_clear_triggered(self) -> None:
        self.settings.setValue("models/recent", [])
        self.rebuild_recent_menu()
