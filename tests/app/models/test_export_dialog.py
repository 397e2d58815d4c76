"""Model ▸ Export…: the dialog, the export in the model thread, the status bar and the result in plain words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

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

        window.exporter.action.trigger()  # the last format is remembered; a missing folder is refused in the dialog
        dialog = window.exporter.dialog
        assert dialog.choice()[0] == "tflite-int8"
        dialog.path_edit.setText(str(tmp_path / "absent" / "x.tflite"))
        with qtbot.assertNotEmitted(window.models.export_failed, wait=200):
            dialog.export_button.click()
        assert dialog.isVisible() and window.exporter.message_box is box  # no new message: the dialog says why
        assert "does not exist" in dialog.problem_label.text() and not window.exporter.running
        assert not (tmp_path / "absent").exists()
        dialog.reject()
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
    assert "1,000 test images of its dataset" in dialog.note_label.text()


class Models(QObject):
    """The controller's signals and request that the export uses; the requests are recorded."""

    model_loaded = Signal(dict)
    export_progress = Signal(str)
    export_finished = Signal(dict)
    export_failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str]] = []

    def export_active_model(self, fmt: str, path: str) -> None:
        self.requests.append((fmt, path))


@pytest.fixture
def models_and_export(qtbot, settings, tmp_path):
    """A recording controller and the window's export, its last folder ``tmp_path``."""
    from app.models.export_dialog import LAST_FOLDER_KEY, ModelExport

    window = QWidget()
    qtbot.addWidget(window)
    models = Models()
    settings.setValue(LAST_FOLDER_KEY, str(tmp_path))
    return models, ModelExport(models, settings, window)


def test_only_a_folder_that_took_an_export_is_offered_next_time(models_and_export, tmp_path):
    models, export = models_and_export
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


@pytest.fixture
def refused_destinations(tmp_path):
    """(format, path as typed, words of the reason) for each kind of destination the exporter refuses."""
    (tmp_path / "taken.tflite").mkdir()
    (tmp_path / "saved").write_text("a file of the user's")
    return {
        "missing folder": ("tflite", str(tmp_path / "absent" / "digits.tflite"), "does not exist"),
        "wrong suffix": ("h5", str(tmp_path / "digits.keras"), "must be named .h5 or .hdf5"),
        "folder in the way": ("tflite", str(tmp_path / "taken.tflite"), "folder of that name is in the way"),
        "file in the way": ("savedmodel", str(tmp_path / "saved"), "file of that name is in the way"),
        "unwritable": ("tflite", "/proc/digits.tflite", "/proc cannot be written"),
    }


@pytest.mark.parametrize(
    "kind", ["missing folder", "wrong suffix", "folder in the way", "file in the way", "unwritable"]
)
def test_a_refused_destination_keeps_the_dialog_open_with_the_reason_under_the_path(
    qtbot, tmp_path, monkeypatch, refused_destinations, kind
):
    from ml.export.destination import ExportError, check_destination

    fmt, typed, reason = refused_destinations[kind]
    if kind == "unwritable" and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc")
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: pytest.fail("asked about replacing"))
    dialog = ExportDialog(str(tmp_path / "digits.tflite"), fmt)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.path_edit.setText(typed)
    with qtbot.assertNotEmitted(dialog.accepted), qtbot.assertNotEmitted(dialog.finished):
        dialog.export_button.click()
    assert dialog.isVisible() and dialog.result() == 0
    assert dialog.path_edit.text() == typed  # as typed, to be corrected in place
    assert dialog.problem_label.isVisible() and reason in dialog.problem_label.text()
    label = dialog.problem_label
    assert label.height() >= label.heightForWidth(label.width())  # the dialog grew: every line shows, none clipped
    with pytest.raises(ExportError) as refused:  # the exporter's own words, not a second set of rules
        check_destination(fmt, typed)
    assert dialog.problem_label.text() == str(refused.value)

    dialog.path_edit.setText(str(tmp_path / "elsewhere"))
    assert not dialog.problem_label.isVisible()  # a changed path is judged afresh at the next Export


def test_a_corrected_path_is_exported_after_a_refusal(qtbot, tmp_path):
    dialog = ExportDialog(str(tmp_path / "digits.tflite"), "tflite")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.path_edit.setText(str(tmp_path / "absent" / "digits.tflite"))
    with qtbot.assertNotEmitted(dialog.accepted):
        dialog.export_button.click()
    assert "does not exist" in dialog.problem_label.text()
    (tmp_path / "absent").mkdir()
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        dialog.export_button.click()
    assert dialog.choice() == ("tflite", str(tmp_path / "absent" / "digits.tflite"))


def test_the_window_starts_no_export_for_a_refused_destination(models_and_export, tmp_path):
    models, export = models_and_export
    export.request()
    dialog = export.dialog
    typed = str(tmp_path / "absent" / "digits.tflite")
    dialog.path_edit.setText(typed)
    dialog.export_button.click()
    assert models.requests == [] and not export.running and export.message_box is None
    assert dialog.isVisible() and dialog.path_edit.text() == typed
    assert f"the folder {tmp_path / 'absent'} does not exist" in dialog.problem_label.text()
    dialog.path_edit.setText(str(tmp_path / "digits.tflite"))
    dialog.export_button.click()
    assert models.requests == [("tflite", str(tmp_path / "digits.tflite"))] and not dialog.isVisible()
