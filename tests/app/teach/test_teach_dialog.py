"""The Teach window runs a teach in its thread and makes a version; Stop saves nothing; History switches back."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.teach.history_dialog import HistoryDialog
from app.teach.teach_dialog import TeachDialog, result_text
from ml.models.files import save_model
from ml.models.metadata import ModelMetadata
from ml.teach.samples import SampleStore
from ml.teach.versions import VersionStore

_KEPT = []  # Keras objects of the test thread stay alive while the worker thread runs TensorFlow


@pytest.fixture
def model_file(tmp_path):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    _KEPT.append(model)
    return str(save_model(model, tmp_path / "stranger.keras", ModelMetadata()))


@pytest.fixture
def store(tmp_path):
    store = SampleStore(tmp_path / "samples")
    for digit in range(10):
        for shift in range(3):
            image = np.zeros((28, 28), np.float32)
            image[6 + shift : 22, 4 + 2 * digit : 7 + 2 * digit] = 1.0
            store.add(str(digit), image)
    return store


def _dialog(qtbot, model_file, store, tmp_path) -> TeachDialog:
    dialog = TeachDialog(model_file, "stranger", store.counts(), (store.folder, tmp_path / "versions"), replay=False)
    qtbot.addWidget(dialog)
    dialog.epochs.setValue(1)
    return dialog


def test_teaching_makes_a_version_with_its_record_and_history_switches_back(qtbot, model_file, store, tmp_path):
    dialog = _dialog(qtbot, model_file, store, tmp_path)
    assert "may forget" in dialog.intro.text()
    with qtbot.waitSignal(dialog.version_made, timeout=180_000) as made:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.is_running, timeout=30_000)
    version = made.args[0]
    assert version["record"]["samples_per_class"] == {str(d): 2 for d in range(10)}  # one of three held back
    assert version["warnings"] and "forget" in version["warnings"][0]
    assert "MNIST test" in dialog.state.text() and "→" in dialog.state.text()
    batches_x, batch_losses = dialog.curves.smoothed_training_loss.getData()
    assert len(batches_x) >= 2 and batches_x[-1] == pytest.approx(1.0)  # per batch, the last one ends epoch 1
    assert np.isfinite(batch_losses).all()
    held_x, held_accuracy = dialog.curves.validation_accuracy.getData()
    assert list(held_x) == [1.0] and 0.0 <= held_accuracy[0] <= 1.0  # the held-back samples after the epoch
    assert dialog.progress.value() == dialog.progress.maximum() > 1  # counted in batches

    versions = VersionStore(tmp_path / "versions")
    assert [v.is_original for v in versions.versions] == [True, False]
    history = HistoryDialog(versions)
    qtbot.addWidget(history)
    history.set_active_path(version["path"])
    assert history.table.rowCount() == 2 and "(active)" in history.table.item(0, 0).text()
    history.table.selectRow(1)  # the original, listed last
    with qtbot.waitSignal(history.switch_requested) as switched:
        qtbot.mouseClick(history.switch_button, Qt.MouseButton.LeftButton)
    assert switched.args == [versions.versions[0].path, versions.versions[0].name]


def test_stop_leaves_no_version_behind(qtbot, model_file, store, tmp_path):
    dialog = _dialog(qtbot, model_file, store, tmp_path)
    dialog.epochs.setValue(50)
    dialog.start()
    dialog.stop()
    qtbot.waitUntil(lambda: not dialog.is_running, timeout=180_000)
    assert "nothing was saved" in dialog.state.text() or "Stopped" in dialog.state.text()
    folder = tmp_path / "versions"
    assert not folder.exists() or not any(folder.glob("*.keras"))


def test_the_result_says_when_the_users_slant_was_taught_with_slanted_replay():
    record = {"held_back": 10, "samples_before": 0.6, "samples_after": 0.9, "test_set": None}
    assert "slant" not in result_text({**record, "user_slant": 0.0})
    text = result_text({**record, "user_slant": 1.38})
    assert "60.0 % → 90.0 %" in text and "Your slant (right, 1.4 px per row)" in text
    assert "(left, 0.5 px per row)" in result_text({**record, "user_slant": -0.5})


def test_the_intro_says_how_many_samples_are_held_back_and_counts_one_sample_as_one(qtbot, tmp_path):
    one = TeachDialog("model.keras", "digitlab-best", {"7": 1}, (tmp_path, tmp_path / "versions"))
    qtbot.addWidget(one)
    assert "your 1 sample (7: 1)" in one.intro.text() and "None is held back" in one.intro.text()
    several = TeachDialog("model.keras", "digitlab-best", {"3": 5, "7": 7}, (tmp_path, tmp_path / "versions"))
    qtbot.addWidget(several)
    assert "your 12 samples (3: 5, 7: 7)" in several.intro.text()
    assert "2 of them (a fifth of each class of 3 or more) are held back" in several.intro.text()


def test_samples_of_a_class_the_model_does_not_score_are_not_announced_as_taught(qtbot, tmp_path):
    counts = {"0": 6, "1": 6, "x": 1}  # an imported folder had a subfolder "x"
    dialog = TeachDialog(
        "model.keras", "digitlab-best", counts, (tmp_path, tmp_path / "versions"), class_names=list("0123456789")
    )
    qtbot.addWidget(dialog)
    text = dialog.intro.text()
    assert "your 12 samples (0: 6, 1: 6)" in text and "2 of them" in text  # what the worker will teach
    assert "Left out: 1 sample (x: 1), of classes digitlab-best does not score." in text


def test_the_epochs_box_says_1_epoch_not_1_epochs(qtbot, tmp_path):
    dialog = TeachDialog("model.keras", "digitlab-best", {"7": 5}, (tmp_path, tmp_path / "versions"))
    qtbot.addWidget(dialog)
    dialog.epochs.setValue(1)
    assert dialog.epochs.text() == "1 epoch"
    dialog.epochs.setValue(3)
    assert dialog.epochs.text() == "3 epochs"


def test_closing_the_teach_window_mid_teach_asks_before_throwing_the_teach_away(
    qtbot, model_file, store, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    dialog = _dialog(qtbot, model_file, store, tmp_path)
    dialog.epochs.setValue(50)
    dialog.show()
    dialog.start()
    replies = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
    asked: list[str] = []

    def question(_parent, _title, text, *_args):
        asked.append(text)
        return next(replies)

    monkeypatch.setattr(QMessageBox, "question", question)
    dialog.close()
    assert asked and "stop" in asked[0] and dialog.isVisible() and dialog.is_running
    assert dialog.stop_button.isEnabled()  # the teach goes on
    dialog.close()
    assert len(asked) == 2 and not dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.is_running, timeout=180_000)
    assert not (tmp_path / "versions").exists() or not any((tmp_path / "versions").glob("*.keras"))


def _taught_version(test_after: float) -> dict:
    """What the worker's ``taught`` carries: the bundled model taught one sample, measured on MNIST test."""
    record = {"held_back": 0, "samples_per_class": {"1": 1}, "test_set": "mnist", "test_images": 10_000}
    return {
        "id": "v",
        "path": "/versions/v.keras",
        "name": "digitlab-best · taught 1",
        "summary": "",
        "record": {**record, "test_before": 0.997, "test_after": test_after},
        "warnings": [],
        "taught_from": "/models/digitlab-best.keras",
        "parent_path": "/models/digitlab-best.keras",
        "parent_name": "digitlab-best",
    }


def test_a_teach_that_reads_the_test_set_clearly_worse_says_so_and_offers_the_version_before(qtbot, tmp_path):
    dialog = TeachDialog("/models/digitlab-best.keras", "digitlab-best", {"1": 1}, (tmp_path, tmp_path / "versions"))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog._on_taught(_taught_version(0.931))  # a clear 7 taught as a "1"
    assert dialog.harm_box.isVisible()
    note = dialog.harm_note.text()
    assert "made the model worse" in note and "99.7 % → 93.1 %" in note
    assert "it now misreads 660 more of the 10,000 test digits" in note
    assert dialog.go_back_button.isVisible() and dialog.go_back_button.text() == "Go back to digitlab-best"
    with qtbot.waitSignal(dialog.go_back_requested) as asked:
        dialog.go_back_button.click()
    assert asked.args[0]["parent_path"] == "/models/digitlab-best.keras"
    assert not dialog.go_back_button.isEnabled()  # one click
    dialog.set_model("/versions/v.keras", "digitlab-best · taught 1")  # the taught version loaded after all
    assert dialog.go_back_button.isEnabled()
    dialog.set_model("/models/digitlab-best.keras", "digitlab-best")  # the window went back
    assert "Went back to digitlab-best" in dialog.harm_note.text() and not dialog.go_back_button.isVisible()


def test_a_teach_that_forgets_no_more_than_a_point_says_nothing_extra(qtbot, tmp_path):
    dialog = TeachDialog("/models/digitlab-best.keras", "digitlab-best", {"1": 1}, (tmp_path, tmp_path / "versions"))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog._on_taught(_taught_version(0.9952))
    assert not dialog.harm_box.isVisible() and not dialog.go_back_button.isVisible()
    assert "worse" not in dialog.state.text() and "99.7 % → 99.5 %" in dialog.state.text()
