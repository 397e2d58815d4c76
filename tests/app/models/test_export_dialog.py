"""Model ▸ Export…: the dialog, the export in the model thread, the status bar and the result in plain words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from app.models.export_dialog import EXPORT_CHOICES, ExportDialog, path_for_format

ROOT = Path(__file__).resolve().parents[3]


def test_the_dialog_offers_exactly_the_cores_formats():
    from ml.export.exporter import FORMATS

    assert [choice[0] for choice in EXPORT_CHOICES] == list(FORMATS)


@pytest.mark.parametrize(
    ("path", "fmt", "expected"),
    [
        ("/a/digits.tflite", "h5", "/a/digits.h5"),
        ("/a/digits.h5", "savedmodel", "/a/digits"),
        ("/a/digits", "tflite-int8", "/a/digits.tflite"),
        ("/a/my.model", "tflite", "/a/my.model.tflite"),
        ("", "h5", ""),
    ],
)
def test_the_path_follows_the_format(path, fmt, expected):
    assert path_for_format(path, fmt) == expected


def test_changing_the_format_changes_the_suffix_and_the_description(qtbot):
    dialog = ExportDialog("/tmp/digits.tflite", "tflite")
    qtbot.addWidget(dialog)
    dialog.set_format("h5")
    assert dialog.choice() == ("h5", "/tmp/digits.h5")
    assert "Keras" in dialog.about_label.text()
    dialog.path_edit.setText("")
    assert not dialog.export_button.isEnabled()


def tiny_model_file(folder: Path) -> Path:
    """The tiny trained model saved to a file by another process: no Keras object lives in the test's own thread,
    where its collection could race the model thread's TensorFlow."""
    path = folder / "tiny.keras"
    script = (
        "import sys; from ml.models.files import save_model; from tests.ml.export.tiny import tiny_digit_model; "
        "tiny = tiny_digit_model(); save_model(tiny.model, sys.argv[1], tiny.metadata)"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    return path


def test_model_export_writes_a_verified_file_and_shows_the_figures(qtbot, settings, tmp_path):
    from app.main_window import MainWindow

    model_file = tiny_model_file(tmp_path)
    window = MainWindow(settings)
    try:
        window.show()
        with qtbot.waitSignal(window.models.model_loaded, timeout=120_000):
            window.start()
        with qtbot.waitSignal(window.models.model_loaded, timeout=60_000):
            window.open_model_file(model_file)
        model_menu = window.menuBar().actions()[2].menu()
        assert window.exporter.action in model_menu.actions()

        window.exporter.action.trigger()
        dialog = window.exporter.dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.path_edit.text().endswith("tiny.tflite")  # named after the active model
        dialog.set_format("tflite-int8")
        target = tmp_path / "out" / "tiny-int8.tflite"
        target.parent.mkdir()
        dialog.path_edit.setText(str(target))
        progress: list[str] = []
        window.exporter.status_changed.connect(lambda message, _ms: progress.append(message))
        with qtbot.waitSignal(window.exporter.export_done, timeout=120_000) as done:
            dialog.export_button.click()
        report = done.args[0]
        assert sorted(os.listdir(target.parent)) == ["tiny-int8.tflite", "tiny-int8.tflite.json"]
        assert report["format"] == "tflite-int8" and report["verification"]["images"] == 1000
        assert any("Reloading the export" in message for message in progress)  # progress in the status bar
        box = window.exporter.message_box
        assert box is not None and box.isVisible() and box.icon() == QMessageBox.Icon.Information
        assert "int8 accuracy drop" in box.text() and "max probability difference" in box.text()
        assert json.loads((target.parent / "tiny-int8.tflite.json").read_text())["file"] == "tiny-int8.tflite"
        box.close()

        window.exporter.action.trigger()  # the last format is remembered; a missing folder is refused plainly
        dialog = window.exporter.dialog
        assert dialog.choice()[0] == "tflite-int8"
        dialog.path_edit.setText(str(tmp_path / "absent" / "x.tflite"))
        with qtbot.waitSignal(window.models.export_failed, timeout=60_000):
            dialog.export_button.click()
        box = window.exporter.message_box
        assert box.icon() == QMessageBox.Icon.Warning
        assert "does not exist" in box.text() and "Traceback" not in box.text()
        assert "nothing was written" in window.statusBar().currentMessage()
        assert not (tmp_path / "absent").exists()
        box.close()
    finally:
        window.shutdown()
        window.close()


def test_a_run_models_name_gives_a_clean_default_file_name(qtbot, settings, tmp_path):
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QWidget

    from app.models.export_dialog import LAST_FOLDER_KEY, ModelExport

    class Models(QObject):  # the controller's signals the export listens to
        model_loaded = Signal(dict)
        export_progress = Signal(str)
        export_finished = Signal(dict)
        export_failed = Signal(str)

    window = QWidget()
    qtbot.addWidget(window)
    models = Models()
    settings.setValue(LAST_FOLDER_KEY, str(tmp_path))
    export = ModelExport(models, settings, window)
    models.model_loaded.emit({"display_name": "trained fast · mnist · 94.8 % · 17:13"})
    export.request()
    assert export.dialog.path_edit.text() == str(tmp_path / "trained-fast-mnist-94.8-17-13.tflite")


def test_the_save_to_field_shows_a_usual_path_whole(qtbot):
    path = "/home/a-learner/Documents/digit-models/trained-fast-mnist-98.1-1725.tflite"
    dialog = ExportDialog(path, "tflite")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    metrics = dialog.path_edit.fontMetrics()
    assert dialog.path_edit.width() >= metrics.horizontalAdvance(path) + 8  # not its last 20 characters
    assert dialog.width() <= 1000  # still fits a small screen


@pytest.mark.parametrize(
    ("fmt", "existing", "name"),
    [
        ("tflite", "digits.tflite", "digits.tflite"),
        ("h5", "digits.h5", "digits.h5"),
        ("savedmodel", "digits/saved_model.pb", "digits"),
        ("tflite-int8", "digits.tflite.json", "digits.tflite"),  # only the metadata of an older export is left
    ],
)
def test_typing_the_name_of_an_older_export_asks_before_replacing_it(qtbot, tmp_path, monkeypatch, fmt, existing, name):
    (tmp_path / existing).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / existing).write_bytes(b"an older export")
    questions: list[str] = []
    answer = [QMessageBox.StandardButton.No]

    def question(_parent, _title, text, *_args):
        questions.append(text)
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    dialog = ExportDialog(str(tmp_path / "new.tflite"), fmt)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.path_edit.setText(str(tmp_path / name))
    with qtbot.assertNotEmitted(dialog.accepted):
        dialog.export_button.click()
    assert len(questions) == 1 and existing.split("/")[0] in questions[0]
    assert dialog.isVisible()  # the answer No keeps the dialog, and the older file, as they were
    answer[0] = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        dialog.export_button.click()
    assert dialog.choice() == (fmt, str(tmp_path / name))


def test_a_new_name_is_exported_without_a_question(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: pytest.fail("asked about a new file"))
    dialog = ExportDialog(str(tmp_path / "new.tflite"), "tflite")
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        dialog.export_button.click()


def test_a_bare_file_name_goes_in_the_folder_the_dialog_offered(qtbot, tmp_path):
    dialog = ExportDialog(str(tmp_path / "digits.tflite"), "tflite")
    qtbot.addWidget(dialog)
    dialog.path_edit.setText("mine.tflite")
    assert dialog.choice() == ("tflite", str(tmp_path / "mine.tflite"))  # not the app's working folder


@pytest.mark.parametrize(
    ("fmt", "said", "unsaid"),
    [
        ("h5", "inside the .h5", ".json"),
        ("savedmodel", ".savedmodel.json", "inside"),
        ("tflite", ".json file beside it", "inside"),
    ],
)
def test_the_note_says_where_each_format_keeps_its_class_names(qtbot, fmt, said, unsaid):
    dialog = ExportDialog("/tmp/digits.tflite", fmt)
    qtbot.addWidget(dialog)
    assert said in dialog.note_label.text() and unsaid not in dialog.note_label.text()
    assert "1,000 MNIST test images" in dialog.note_label.text()


def test_only_a_folder_that_took_an_export_is_offered_next_time(qtbot, settings, tmp_path):
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QWidget

    from app.models.export_dialog import LAST_FOLDER_KEY, ModelExport

    class Models(QObject):  # the controller's signals and request the export uses
        model_loaded = Signal(dict)
        export_progress = Signal(str)
        export_finished = Signal(dict)
        export_failed = Signal(str)

        def export_active_model(self, _fmt: str, _path: str) -> None:
            pass

    window = QWidget()
    qtbot.addWidget(window)
    models = Models()
    settings.setValue(LAST_FOLDER_KEY, str(tmp_path))
    export = ModelExport(models, settings, window)
    export.export("tflite", str(tmp_path / "absent" / "digits.tflite"))
    models.export_failed.emit("Cannot export: the folder does not exist.")
    export.message_box.close()
    export.request()  # the failed export's missing folder is not offered
    assert export.dialog.path_edit.text() == str(tmp_path / "model.tflite")
    export.dialog.close()
    (tmp_path / "kept").mkdir()
    export.export("h5", str(tmp_path / "kept" / "digits.h5"))
    models.export_finished.emit({"path": str(tmp_path / "kept" / "digits.h5"), "lines": ["exported"]})
    export.message_box.close()
    export.request()
    assert export.dialog.path_edit.text() == str(tmp_path / "kept" / "model.h5")
