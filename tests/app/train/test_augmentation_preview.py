"""The augmentation preview: real MNIST training digits and augmentations of them, made in a worker thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.train.augmentation_preview import PREVIEW_COLUMNS, PREVIEW_ROWS, AugmentationPreviewDialog

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_MS = 120_000


@pytest.fixture
def make_dialog(qtbot):
    """Open previews and wait for their first examples; their worker threads are joined afterwards."""
    dialogs: list[AugmentationPreviewDialog] = []

    def make(source: dict | None = None) -> AugmentationPreviewDialog:
        dialog = AugmentationPreviewDialog(source)
        qtbot.addWidget(dialog)
        dialogs.append(dialog)
        with qtbot.waitSignal(dialog.examples_shown, timeout=TIMEOUT_MS):
            dialog.show()
        qtbot.waitUntil(lambda: not dialog.is_busy)
        return dialog

    yield make
    for dialog in dialogs:
        assert dialog.shutdown(TIMEOUT_MS)


def test_the_preview_shows_mnist_training_digits_and_augmentations_that_differ_from_them(make_dialog):
    dialog = make_dialog()
    examples = dialog.examples
    originals, augmented = examples["originals"], examples["augmented"]
    assert originals.shape == (PREVIEW_COLUMNS, 28, 28, 1)
    assert augmented.shape == (PREVIEW_ROWS, PREVIEW_COLUMNS, 28, 28, 1)
    with np.load(ROOT / "assets" / "data" / "mnist.npz") as archive:
        training = archive["x_train"].astype(np.float32) / 255.0
    for original in originals[:3]:  # really MNIST training images
        assert np.min(np.abs(training - original[..., 0]).reshape(len(training), -1).max(axis=1)) < 1e-6
    differences = np.abs(augmented - originals[None]).mean(axis=(2, 3, 4))
    assert (differences > 0.01).all()  # every augmented image differs from its original
    assert not np.allclose(augmented[0], augmented[1])  # and the rows are different augmentations
    assert examples["labels"] == [label for label in examples["labels"] if label in "0123456789"]
    assert len(dialog.grid.originals) == PREVIEW_COLUMNS
    assert sum(len(row) for row in dialog.grid.augmented) == PREVIEW_ROWS * PREVIEW_COLUMNS
    rotation = f"rotation ±{examples['settings']['rotation_degrees']:g}°"
    assert rotation in dialog.caption.text() and "MNIST" in dialog.caption.text()


def test_images_are_magnified_by_whole_pixels(make_dialog):
    dialog = make_dialog()
    dialog.resize(900, 700)
    grid = dialog.grid
    scale = grid.scale()
    assert scale >= 3
    rect = grid.tile_rect(1, 0)
    assert rect.width() == rect.height() == 28 * scale
    picture = grid.grab().toImage()
    image = dialog.examples["augmented"][0, 0, ..., 0]
    ratio = picture.devicePixelRatio()
    row, column = np.unravel_index(np.argmax(image), image.shape)  # the brightest pixel: a full square of it
    for dy in (0, scale - 1):
        for dx in (0, scale - 1):
            x, y = rect.left() + column * scale + dx, rect.top() + row * scale + dy
            assert picture.pixelColor(round(x * ratio), round(y * ratio)).red() == round(image[row, column] * 255)


def test_shuffle_shows_other_digits(make_dialog, qtbot):
    dialog = make_dialog()
    first = dialog.examples["originals"].copy()
    with qtbot.waitSignal(dialog.examples_shown, timeout=TIMEOUT_MS):
        dialog.shuffle_button.click()
        assert not dialog.shuffle_button.isEnabled() and dialog.is_busy  # one worker at a time
    assert not np.array_equal(dialog.examples["originals"], first)
    qtbot.waitUntil(lambda: dialog.shuffle_button.isEnabled())


def test_a_folder_dataset_is_previewed_with_its_class_names(make_dialog, tmp_path):
    rng = np.random.default_rng(0)
    for name in ("circle", "square"):
        (tmp_path / name).mkdir()
        for index in range(6):
            pixels = (rng.random((20, 20, 3)) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{index}.png")
    dialog = make_dialog({"dataset": str(tmp_path), "image_size": 16, "color_mode": "rgb"})
    assert dialog.examples["originals"].shape[1:] == (16, 16, 3)
    assert set(dialog.examples["labels"]) <= {"circle", "square"}
    assert tmp_path.name in dialog.caption.text()


def test_a_dataset_that_cannot_be_read_is_explained(qtbot, tmp_path):
    dialog = AugmentationPreviewDialog({"dataset": str(tmp_path / "missing")})
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_busy, timeout=TIMEOUT_MS)
    assert dialog.caption.text().startswith("Cannot preview augmentation")
    assert dialog.examples is None and dialog.shuffle_button.isEnabled()


def test_closing_while_examples_are_prepared_waits_for_the_worker(qtbot):
    dialog = AugmentationPreviewDialog()
    qtbot.addWidget(dialog)
    assert dialog.is_busy  # the worker starts at once
    dialog.reject()  # Close
    assert not dialog.is_busy


def test_a_folder_is_previewed_from_a_sample_of_its_files_skipping_unreadable_ones(make_dialog, tmp_path):
    for name, shade in (("dark", 40), ("light", 220)):
        (tmp_path / name).mkdir()
        for index in range(5):
            Image.new("L", (18, 18), shade).save(tmp_path / name / f"{index}.png")
    (tmp_path / "dark" / "notes.png").write_text("not an image")  # read whole, the folder would be refused
    dialog = make_dialog({"dataset": str(tmp_path), "image_size": 16})
    assert dialog.examples["originals"].shape[1:] == (16, 16, 1)
    assert set(dialog.examples["labels"]) <= {"dark", "light"}
