"""Model ▸ Export…: pick a format and a path; the model thread exports, verifies and reports the figures."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.common.widgets import ask_yes_or_no
from app.models.controller import ModelController
from app.models.names import file_name_for
from ml.export.destination import ExportError, check_destination

# (format, label, suffix, what it is): the formats of ml.export.destination.FORMATS
EXPORT_CHOICES: tuple[tuple[str, str, str, str], ...] = (
    ("tflite", "TensorFlow Lite (float32)", ".tflite", "For phones and small devices; the same probabilities."),
    (
        "tflite-int8",
        "TensorFlow Lite, int8 quantised",
        ".tflite",
        "About a quarter of the size, integers only (microcontrollers, Edge TPU); slightly different probabilities.",
    ),
    ("savedmodel", "TensorFlow SavedModel (a folder)", "", "For TensorFlow Serving and TensorFlow tools."),
    ("h5", "Keras HDF5 (.h5)", ".h5", "For older Keras and tf.keras code."),
)
PATH_WIDTH = (320, 640)  # the path field's least and most width (px): wide enough for a usual path, whole
LAST_FOLDER_KEY = "export/folder"
LAST_FORMAT_KEY = "export/format"
PROBLEM_STYLE = "color: #a33; font-weight: 600;"  # as the evaluation workspace's warnings
CHECK_NOTE = (
    "The export is reloaded and compared with the model on up to 1,000 test images of its dataset (MNIST, or"
    " scikit-learn's digits for a model trained on them) before it is written."
)


def metadata_note(fmt: str) -> str:
    """Where the class names and the input convention go for ``fmt`` (as ``ml.export.destination.sidecar_path``)."""
    if fmt == "h5":
        return "Class names and the input convention stay inside the .h5 file, as in Digit Lab's own saves."
    if fmt == "savedmodel":
        return "Class names and the input convention go in a .savedmodel.json file beside the folder."
    return "Class names and the input convention go in a .json file beside it (the name with .json added)."


def export_in_the_way(fmt: str, path: str) -> str | None:
    """What an export to ``path`` would replace (an older file or SavedModel, or its metadata file), or None."""
    target = Path(path)
    if fmt == "savedmodel":
        metadata = target.with_name(f"{target.name}.savedmodel.json")
        older = (target / "saved_model.pb").is_file()
    else:
        metadata = None if fmt == "h5" else target.with_name(f"{target.name}.json")
        older = target.is_file()
    if older:
        return str(target)
    if metadata is not None and metadata.is_file():
        return str(metadata)
    return None


def path_for_format(path: str, fmt: str) -> str:
    """``path`` with the suffix ``fmt`` needs (a SavedModel folder has none)."""
    if not path.strip():
        return path
    suffix = next(choice[2] for choice in EXPORT_CHOICES if choice[0] == fmt)
    current = Path(path)
    known = {choice[2] for choice in EXPORT_CHOICES if choice[2]} | {".hdf5"}
    stem = current.with_suffix("") if current.suffix.lower() in known else current
    return str(stem.with_name(stem.name + suffix))


class ExportDialog(QDialog):
    """The format and where to write it; the path's suffix follows the format."""

    def __init__(self, default_path: str, fmt: str = "tflite", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ExportDialog")
        self.setWindowTitle("Export model")
        self.format_box = QComboBox()
        for name, label, _suffix, _about in EXPORT_CHOICES:
            self.format_box.addItem(label, name)
        self.about_label = QLabel()
        self.about_label.setWordWrap(True)
        self.path_edit = QLineEdit(default_path)
        wide_enough = self.path_edit.fontMetrics().horizontalAdvance(default_path) + 24  # the whole path shows
        self.path_edit.setMinimumWidth(min(max(wide_enough, PATH_WIDTH[0]), PATH_WIDTH[1]))
        self.browse_button = QPushButton("Browse…")
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Format:", self.format_box)
        form.addRow("", self.about_label)
        form.addRow("Save to:", path_row)
        self.problem_label = QLabel()  # why the typed destination is refused, under the path; hidden until then
        self.problem_label.setObjectName("ExportProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(PROBLEM_STYLE)
        self.problem_label.hide()
        form.addRow("", self.problem_label)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note_label)
        layout.addWidget(self.buttons)
        self.format_box.currentIndexChanged.connect(self._on_format_changed)
        self.path_edit.textChanged.connect(self._update_button)
        self.browse_button.clicked.connect(self._browse)
        self.folder = str(Path(default_path).expanduser().parent)  # where a bare file name typed in the field goes
        self.replace_confirmed = ""  # a path the file dialog already asked about replacing
        self.set_format(fmt)
        self._on_format_changed()

    def set_format(self, fmt: str) -> None:
        """Select ``fmt`` (unknown names are ignored)."""
        index = self.format_box.findData(fmt)
        if index >= 0:
            self.format_box.setCurrentIndex(index)

    def choice(self) -> tuple[str, str]:
        """(format, path) as chosen; a relative path is taken in the folder the dialog offered, not the app's own."""
        text = self.path_edit.text().strip()
        path = Path(text).expanduser()
        if text and not path.is_absolute():
            path = Path(self.folder) / path
        return str(self.format_box.currentData()), str(path) if text else ""

    def accept(self) -> None:
        """Export, once the destination passes the exporter's own checks and replacing an older export (typed in the
        field) has been confirmed; a refused destination is explained under the path and the dialog stays open."""
        fmt, path = self.choice()
        if not path:
            return
        try:
            check_destination(fmt, path)  # the exporter checks again before it writes
        except ExportError as error:
            self.problem_label.setText(str(error))
            self.problem_label.show()
            self.adjustSize()  # room for the reason's lines, not drawn over the note below
            self.path_edit.setFocus()
            return
        in_the_way = export_in_the_way(fmt, path)
        if in_the_way and path != self.replace_confirmed:
            if not ask_yes_or_no(
                self, "Replace the export?", f"{in_the_way} already exists. Replace it with this export?"
            ):
                return
        super().accept()

    @Slot()
    def _on_format_changed(self) -> None:
        fmt = str(self.format_box.currentData())
        self.about_label.setText(next(choice[3] for choice in EXPORT_CHOICES if choice[0] == fmt))
        self.note_label.setText(f"{CHECK_NOTE} {metadata_note(fmt)}")
        self.problem_label.hide()  # the other format's rules apply at the next Export
        self.path_edit.setText(path_for_format(self.path_edit.text(), fmt))

    @Slot()
    def _update_button(self) -> None:
        self.export_button.setEnabled(bool(self.path_edit.text().strip()))
        self.problem_label.hide()  # a changed path is checked again at the next Export

    @Slot()
    def _browse(self) -> None:
        fmt, current = self.choice()
        suffix = next(choice[2] for choice in EXPORT_CHOICES if choice[0] == fmt)
        file_filter = f"{fmt} (*{suffix})" if suffix else "SavedModel folder (*)"
        path, _ = QFileDialog.getSaveFileName(self, "Export model to", current, file_filter)
        if path:
            chosen = path_for_format(path, fmt)
            self.path_edit.setText(chosen)
            if chosen == path:  # the file dialog asked before choosing an existing file
                self.replace_confirmed = chosen


class ModelExport(QObject):
    """Model ▸ Export…: the dialog, the export in the model thread, progress in the status bar, the result shown."""

    status_changed = Signal(str, int)  # a message for the status bar and how long to show it (ms); 0 keeps it
    export_done = Signal(dict)  # the report's plain data, after the result is shown

    def __init__(self, models: ModelController, settings: QSettings, window: QWidget) -> None:
        super().__init__(window)
        self.models = models
        self.settings = settings
        self.window = window
        self.model_name = "model"
        self.dialog: ExportDialog | None = None
        self.message_box: QMessageBox | None = None
        self.running = False
        self.action = QAction("&Export…", window)  # the window puts it in the Model menu
        self.action.setToolTip("TFLite, int8 TFLite, SavedModel or HDF5, verified on its dataset's test images")
        self.action.triggered.connect(self.request)
        if isinstance(window, QMainWindow):
            self.status_changed.connect(self._show_status)
        models.model_loaded.connect(lambda description: self.follow(description.get("display_name", "")))
        models.export_progress.connect(self._on_progress)
        models.export_finished.connect(self._on_finished)
        models.export_failed.connect(self._on_failed)

    def follow(self, display_name: str) -> None:
        """The active model's name, for the default file name."""
        self.model_name = display_name or "model"

    @Slot()
    def request(self) -> None:
        """Open the dialog (one export at a time)."""
        if self.running:
            self.status_changed.emit("An export is already running.", 5000)
            return
        fmt = str(self.settings.value(LAST_FORMAT_KEY, "tflite"))
        folder = Path(str(self.settings.value(LAST_FOLDER_KEY, str(Path.home()))))
        default = path_for_format(str(folder / file_name_for(self.model_name)), fmt)
        self.dialog = ExportDialog(default, fmt, self.window)
        self.dialog.accepted.connect(self._on_dialog_accepted)
        self.dialog.open()

    def export(self, fmt: str, path: str) -> None:
        """Start exporting the active model as ``fmt`` to ``path`` in the model thread."""
        self.running = True
        self.settings.setValue(LAST_FORMAT_KEY, fmt)
        self.status_changed.emit(f"Exporting {self.model_name} as {fmt}…", 0)
        self.models.export_active_model(fmt, str(Path(path).expanduser()))

    @Slot()
    def _on_dialog_accepted(self) -> None:
        if self.dialog is not None:
            fmt, path = self.dialog.choice()
            if path:
                self.export(fmt, path)

    @Slot(str)
    def _on_progress(self, message: str) -> None:
        self.status_changed.emit(message, 0)

    @Slot(dict)
    def _on_finished(self, report: dict) -> None:
        self.running = False
        self.settings.setValue(LAST_FOLDER_KEY, str(Path(report["path"]).parent))  # a folder that took an export
        self.status_changed.emit(f"Exported {Path(report['path']).name}, verified.", 10000)
        self._show(QMessageBox.Icon.Information, "Model exported", "\n".join(report["lines"]))
        self.export_done.emit(report)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.running = False
        self.status_changed.emit("The export failed; nothing was written.", 10000)
        self._show(QMessageBox.Icon.Warning, "Export failed", message)

    @Slot(str, int)
    def _show_status(self, message: str, milliseconds: int) -> None:
        self.window.statusBar().showMessage(message, milliseconds)

    def _show(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        """A window-modal message that does not block the event loop."""
        self.message_box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.window)
        self.message_box.setObjectName("ExportResult")
        self.message_box.open()
