"""The confusion matrix heat map: counts or row rates, class names on the axes, hover text and a click per cell."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from app.evaluate.confusion_view import ConfusionMatrixView, cell_colour_values, row_rates

CONFUSION = np.array([[50, 2, 0], [1, 40, 9], [0, 0, 0]])
NAMES = ["cat", "dog", "owl"]


def test_row_rates_divide_each_true_class_by_its_size_and_leave_an_empty_class_at_zero():
    rates = row_rates(CONFUSION)
    assert np.allclose(rates.sum(axis=1), [1, 1, 0])
    assert rates[1, 2] == 9 / 50
    assert cell_colour_values(CONFUSION, normalized=False)[0, 1] == np.log1p(2)


def test_cells_show_counts_or_rates_and_hover_tells_the_count(qtbot):
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.set_confusion(CONFUSION, NAMES)
    assert view.plot.getAxis("left")._tickLevels[0][0] == (0.5, "cat")
    assert view.labels.texts()[:3] == ["50", "2", ""]
    view.normalized_box.setChecked(True)
    assert view.cell_text(1, 2) == "18.0" and view.labels.texts()[5] == "18.0"
    assert view.describe_cell(1, 2) == "true dog, predicted owl: 9 images (18.0 % of the 50 images of dog)"


def shown_view(qtbot) -> ConfusionMatrixView:
    """A 500x500 matrix of :data:`CONFUSION`, shown and laid out."""
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.resize(500, 500)
    view.show()
    qtbot.waitExposed(view)
    view.set_confusion(CONFUSION, NAMES)
    qtbot.wait(50)
    return view


def test_clicking_a_cell_emits_its_true_and_predicted_class(qtbot):
    view = shown_view(qtbot)
    with qtbot.waitSignal(view.cell_clicked) as clicked:
        qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.cell_center(1, 2))
    assert clicked.args == [1, 2]


def test_hovering_an_empty_cell_does_not_invite_a_click_to_see_its_images(qtbot):
    from PySide6.QtCore import QPointF

    view = shown_view(qtbot)
    view_box = view.plot.getViewBox()
    view._on_mouse_moved(view_box.mapViewToScene(QPointF(2.5, 0.5)))  # true cat, predicted owl: no image
    assert view.hover_label.text() == "True cat, predicted owl: 0 images (0.0 % of the 52 images of cat)."
    view._on_mouse_moved(view_box.mapViewToScene(QPointF(1.5, 0.5)))  # true cat, predicted dog: 2 images
    assert view.hover_label.text().endswith("of cat). Click to see them.")
