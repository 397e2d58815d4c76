"""The setup form: datasets and their data paths, validation, the preset caption and the augmentation preview."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt

from tests.app.train.runs import RUN_TIMEOUT_MS


def test_datasets_come_from_ml_data_and_set_their_data_path_and_validation_split(make_panel, tmp_path):
    from ml.data.datasets import DATASET_NAMES

    panel = make_panel()
    offered = [panel.form.dataset_combo.itemData(index) for index in range(panel.form.dataset_combo.count())]
    assert offered == [*DATASET_NAMES, "folder"]

    panel.form.dataset_combo.setCurrentIndex(panel.form.dataset_combo.findData("sklearn-digits"))
    config = panel.training_config()
    assert config.dataset == "sklearn-digits" and config.data_file is None
    assert config.validation_size == pytest.approx(0.1)  # small dataset: a percentage, not 5000 images
    assert not panel.form.data_path_edit.isEnabled() and not panel.form.browse_button.isEnabled()

    panel.form.dataset_combo.setCurrentIndex(panel.form.dataset_combo.findData("fashion-mnist"))
    panel.form.data_path_edit.setText(str(tmp_path / "fashion.npz"))
    config = panel.training_config()
    assert (config.dataset, config.data_file, config.validation_size) == (
        "fashion-mnist",
        str(tmp_path / "fashion.npz"),
        5000,
    )

    panel.form.dataset_combo.setCurrentIndex(panel.form.dataset_combo.findData("folder"))
    assert panel.form.data_path_edit.text() == "" and panel.form.browse_button.isEnabled()
    assert not panel.start_training()  # no folder chosen yet
    assert "Choose the image folder" in panel.run.message_label.text() and not panel.is_running
    panel.form.data_path_edit.setText(str(tmp_path))
    config = panel.training_config()
    assert config.dataset == str(tmp_path) and config.data_file is None


def test_validation_as_image_count(make_panel):
    panel = make_panel()
    panel.form.validation_unit_combo.setCurrentIndex(panel.form.validation_unit_combo.findData("images"))
    panel.form.validation_spin.setValue(2500)
    config = panel.training_config()
    assert config.validation_size == 2500 and isinstance(config.validation_size, int)


def test_the_preset_caption_shows_the_tutorial_figure_and_the_parameter_count(make_panel, qtbot):
    panel = make_panel()
    panel.form.dataset_combo.setCurrentIndex(panel.form.dataset_combo.findData("mnist"))
    panel.form.preset_combo.setCurrentIndex(panel.form.preset_combo.findData("lenet5x5"))
    assert (  # nothing built yet; the second line names the preset as the command line and the README do
        panel.form.preset_caption.text() == "Tutorial: 99.3% test accuracy after 3 epochs (MNIST)\n--preset lenet5x5"
    )
    assert not panel.form.parameter_counter.is_counting
    panel.set_active_model(None, "")  # the window's first model has loaded: TensorFlow is up, counting starts
    assert panel.form.parameter_counter.is_counting
    qtbot.waitUntil(lambda: "3,274,634 parameters" in panel.form.preset_caption.text(), timeout=120_000)
    assert panel.form.preset_caption.text().splitlines()[0].startswith("Tutorial: 99.3%")
    assert panel.form.preset_caption.text().splitlines()[1] == "--preset lenet5x5 · 3,274,634 parameters"
    lenet = panel.form.preset_combo.findData("lenet5x5")
    assert panel.form.preset_combo.itemText(lenet).endswith("·  3.27 M")
    qtbot.waitUntil(lambda: not panel.form.parameter_counter.is_counting, timeout=120_000)
    panel.form.dataset_combo.setCurrentIndex(panel.form.dataset_combo.findData("sklearn-digits"))
    panel.form.preset_combo.setCurrentIndex(panel.form.preset_combo.findData("mlp-digits"))  # 64 standardized pixels
    qtbot.waitUntil(lambda: "37,510 parameters" in panel.form.preset_caption.text(), timeout=120_000)
    assert "97.8% test accuracy" in panel.form.preset_caption.text()
    qtbot.waitUntil(lambda: not panel.form.parameter_counter.is_counting, timeout=120_000)


def test_preview_opens_the_augmentation_preview_of_the_chosen_dataset(make_panel, qtbot, shape_folder):
    panel = make_panel()
    panel.form.dataset_combo.setCurrentIndex(panel.form.dataset_combo.findData("folder"))
    panel.form.data_path_edit.setText(str(shape_folder))
    panel.form.preview_button.click()
    preview = panel.form.augmentation_preview
    assert preview is not None and preview.isVisible()
    assert preview.source["dataset"] == str(shape_folder)
    with qtbot.waitSignal(preview.examples_shown, timeout=RUN_TIMEOUT_MS):
        pass
    assert set(preview.examples["labels"]) <= {"circle", "square", "triangle"}
    assert preview.shutdown(RUN_TIMEOUT_MS)
    preview.close()


def test_the_picker_never_shows_a_count_made_for_another_datasets_input(make_panel, monkeypatch):
    panel = make_panel()
    form = panel.form
    form.dataset_combo.setCurrentIndex(form.dataset_combo.findData("mnist"))
    mnist_shape = form._count_key("mlp-digits")[1]  # 784 features; 64 for the 8x8 digits
    counter = form.parameter_counter
    monkeypatch.setattr(counter, "is_known", lambda key: key[1] == mnist_shape)  # counted for MNIST's input only
    monkeypatch.setattr(counter, "parameters", lambda key: 49_000 if key[1] == mnist_shape else None)
    form._on_parameters_counted("mlp-digits")
    mlp = form.preset_combo.findData("mlp-digits")
    assert form.preset_combo.itemText(mlp).endswith("49.0 k")
    form.dataset_combo.setCurrentIndex(form.dataset_combo.findData("sklearn-digits"))  # an 8x8 input
    assert "49.0 k" not in form.preset_combo.itemText(mlp)
    form.dataset_combo.setCurrentIndex(form.dataset_combo.findData("mnist"))
    assert form.preset_combo.itemText(mlp).endswith("49.0 k")


def test_choosing_a_dataset_switches_to_a_preset_that_suits_its_input(make_panel):
    from ml.models.presets import PRESETS

    form = make_panel().form
    form.dataset_combo.setCurrentIndex(form.dataset_combo.findData("mnist"))
    form.preset_combo.setCurrentIndex(form.preset_combo.findData("cnn3x3"))
    form.dataset_combo.setCurrentIndex(form.dataset_combo.findData("sklearn-digits"))
    chosen = form.preset_combo.currentData()
    assert PRESETS[chosen].dataset == "sklearn-digits"  # not a 28x28 CNN on 8x8 digits
    assert form.epochs_spin.value() == PRESETS[chosen].defaults["epochs"]  # with its own defaults
    form.dataset_combo.setCurrentIndex(form.dataset_combo.findData("fashion-mnist"))
    assert PRESETS[form.preset_combo.currentData()].dataset != "sklearn-digits"
    form.preset_combo.setCurrentIndex(form.preset_combo.findData("cnn3x3"))
    form.dataset_combo.setCurrentIndex(form.dataset_combo.findData("mnist"))
    assert form.preset_combo.currentData() == "cnn3x3"  # a 28x28 preset suits every 28x28 dataset: kept


def test_every_setting_has_a_mnemonic_that_focuses_its_field(make_panel, qtbot):
    from PySide6.QtWidgets import QLabel

    panel = make_panel()
    panel.show()
    qtbot.waitExposed(panel)
    labels = [label for label in panel.form.setup_tabs.widget(0).findChildren(QLabel) if "&" in label.text()]
    letters = [label.text()[label.text().index("&") + 1].lower() for label in labels]
    assert len(labels) == 9 and len(set(letters)) == 9  # one each, none repeated
    assert not set(letters) & {"f", "e", "m", "v", "h"}  # the menus' own Alt+letters
    assert all(label.buddy() is not None for label in labels)
    epochs = next(label for label in labels if label.text() == "E&pochs")
    panel.activateWindow()
    panel.form.dataset_combo.setFocus()
    qtbot.waitUntil(panel.form.dataset_combo.hasFocus)
    qtbot.keyClick(panel.form.dataset_combo, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(panel.form.epochs_spin.hasFocus)
    assert epochs.buddy() is panel.form.epochs_spin


def test_the_fashion_mnist_hint_says_whether_start_downloads_it(make_panel, tmp_path, monkeypatch):
    from app.train.setup_form import DATA_PATH_HINTS, FASHION_MNIST_NOT_HERE
    from ml.data.sources import IDX_FILE_NAMES

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    form = make_panel().form
    form.dataset_combo.setCurrentIndex(form.dataset_combo.findData("fashion-mnist"))
    assert form.data_path_edit.placeholderText() == FASHION_MNIST_NOT_HERE
    assert "Start downloads it" in form.data_path_edit.toolTip() and "Browse…" in form.data_path_edit.toolTip()
    folder = tmp_path / "keras" / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for name in IDX_FILE_NAMES.values():
        (folder / name).write_bytes(b"")
    form.set_locked(True)  # a run (which downloaded it) ends: the hint is fresh again
    form.set_locked(False)
    assert form.data_path_edit.placeholderText() == DATA_PATH_HINTS["fashion-mnist"]


def test_a_learning_rate_out_of_range_is_corrected_with_a_hint_under_the_field(make_panel, qtbot):
    """Typing 1000 and leaving the field went back to the preset's 0.004 without a word."""
    from PySide6.QtWidgets import QLabel

    panel = make_panel()
    panel.show()
    qtbot.waitExposed(panel)
    field = panel.form.learning_rate_spin

    def enter(text: str) -> None:
        field.setFocus()
        qtbot.waitUntil(field.hasFocus)
        field.selectAll()
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key.Key_Return)

    def shown_hints() -> list[QLabel]:
        labels = panel.form.findChildren(QLabel)
        return [label for label in labels if label.isVisible() and "learning rate" in label.text()]

    assert not shown_hints()
    enter("1000")
    hints = shown_hints()
    assert [hint.text() for hint in hints] == ["The learning rate goes up to 10: 1000 became 10."]
    assert panel.training_config().learning_rate == 10.0
    field_rect = QRect(field.mapTo(panel, QPoint(0, 0)), field.size())
    hint_rect = QRect(hints[0].mapTo(panel, QPoint(0, 0)), hints[0].size())
    assert 0 <= hint_rect.top() - field_rect.bottom() <= 12  # just under the field
    assert hint_rect.left() < field_rect.right() and field_rect.left() < hint_rect.right()

    enter("0.01")
    assert panel.training_config().learning_rate == 0.01 and not shown_hints()
    enter("-1")
    assert [hint.text() for hint in shown_hints()] == ["The learning rate goes down to 1e-07: -1 became 1e-07."]
    panel.form.preset_combo.setCurrentIndex(panel.form.preset_combo.findData("mlp"))  # its own learning rate
    assert field.value() == 0.01 and not shown_hints()
