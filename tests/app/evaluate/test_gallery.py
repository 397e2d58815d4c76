"""The image gallery: captions, lazily drawn thumbnails, and a click that names the image's index in the set."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from app.evaluate.gallery import ImageGallery, confidence_text, example_captions


def test_captions_name_the_true_and_predicted_class_and_never_round_up_to_100_percent():
    labels = np.array([4, 7, 1])
    predictions = np.array([9, 7, 1])
    confidence = np.array([0.981, 0.99999, 0.996])
    captions, tooltips = example_captions(
        np.array([0, 1, 2]), labels, predictions, confidence, [str(d) for d in range(10)]
    )
    assert captions == ["4 → 9\n98 %", "7 ✓\n>99.9 %", "1 ✓\n99.6 %"]
    assert tooltips[0].startswith("Image #0: true 4, predicted 9 with 98.1 % confidence")
    assert confidence_text(99.96) == ">99.9 %" and confidence_text(42.4) == "42 %"


def test_clicking_a_thumbnail_emits_its_index_in_the_set(qtbot):
    gallery = ImageGallery()
    qtbot.addWidget(gallery)
    gallery.resize(500, 400)
    gallery.show()
    images = np.random.default_rng(0).random((50, 28, 28)).astype(np.float32)
    indices = np.array([42, 7, 13])
    gallery.show_images("three images", images, indices, ["a", "b", "c"])
    assert gallery.count() == 3 and gallery.dataset_indices() == [42, 7, 13]
    model_index = gallery.model.index(1)
    assert gallery.model.data(model_index, Qt.ItemDataRole.DecorationRole).width() == 56
    rect = gallery.view.visualRect(model_index)
    with qtbot.waitSignal(gallery.image_chosen) as chosen:
        qtbot.mouseClick(gallery.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert chosen.args == [7]


def test_an_empty_gallery_says_so(qtbot):
    gallery = ImageGallery("No mistakes here.")
    qtbot.addWidget(gallery)
    gallery.show_images("every 0 mistakes", np.zeros((1, 8, 8)), np.zeros(0, dtype=np.int64), [])
    assert gallery.count() == 0 and "No mistakes here." in gallery.title.text()


def test_before_any_comparison_the_compare_tab_does_not_say_the_models_agree(qtbot):
    from app.evaluate.compare_view import CompareView

    view = CompareView()
    qtbot.addWidget(view)
    assert "agree" not in view.gallery.title.text()
    view.gallery.show_images("The 0 images where they predict differently.", None, np.zeros(0, dtype=np.int64), [])
    assert "agree on every image" in view.gallery.title.text()  # said once they were compared
    view.clear()
    assert "agree" not in view.gallery.title.text()
