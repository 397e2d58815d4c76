"""The confusion matrix heat map: counts or row rates, class names on the axes, hover text and a click per cell."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt

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
    view = shown_view(qtbot)
    view_box = view.plot.getViewBox()
    view._on_mouse_moved(view_box.mapViewToScene(QPointF(2.5, 0.5)))  # true cat, predicted owl: no image
    assert view.hover_label.text() == "True cat, predicted owl: 0 images (0.0 % of the 52 images of cat)."
    view._on_mouse_moved(view_box.mapViewToScene(QPointF(1.5, 0.5)))  # true cat, predicted dog: 2 images
    assert view.hover_label.text().endswith("of cat). Click it or press Enter to see them.")


def focused_view(qtbot) -> ConfusionMatrixView:
    """:func:`shown_view` with the keyboard focus in it."""
    view = shown_view(qtbot)
    view.activateWindow()
    view.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(view.hasFocus)
    return view


def test_arrows_move_a_framed_current_cell_from_the_top_left_and_stop_at_the_edges(qtbot):
    view = focused_view(qtbot)
    assert view.current == (0, 0) and view.focus_frame.isVisible()
    for key in (Qt.Key.Key_Up, Qt.Key.Key_Left):
        qtbot.keyClick(view, key)
    assert view.current == (0, 0)
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Right, Qt.Key.Key_Right, Qt.Key.Key_Right, Qt.Key.Key_Down):
        qtbot.keyClick(view, key)
    assert view.current == (2, 2)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.current == (2, 2)
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.current == (2, 0)
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.current == (2, 2)
    assert view.focus_frame.rect().center() == QPointF(2.5, 2.5)  # drawn over the current cell
    view.clearFocus()
    assert not view.focus_frame.isVisible()


def test_the_hover_label_describes_the_current_cell(qtbot):
    view = focused_view(qtbot)
    assert (
        view.hover_label.text()
        == "True cat, predicted cat: 50 images (96.2 % of the 52 images of cat). Click it or press Enter to see them."
    )
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.hover_label.text() == "True cat, predicted owl: 0 images (0.0 % of the 52 images of cat)."


def test_enter_return_and_space_open_the_current_cell_as_a_click_does(qtbot):
    view = focused_view(qtbot)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
        with qtbot.waitSignal(view.cell_clicked) as opened:
            qtbot.keyClick(view, key)
        assert opened.args == [1, 2]
    assert view.selection.isVisible() and view.selection.rect() == QRectF(2, 1, 1, 1)


def test_the_keyboard_goes_on_from_the_last_clicked_cell(qtbot):
    view = focused_view(qtbot)
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.cell_center(1, 1))
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.current == (1, 2)


def test_a_click_on_the_plot_gives_the_view_the_keyboard_focus(qtbot):
    view = shown_view(qtbot)
    view.activateWindow()
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.cell_center(2, 0))
    assert view.hasFocus() and view.current == (2, 0) and view.focus_frame.isVisible()


def test_a_new_matrix_does_not_keep_the_last_ones_cell_description(qtbot):
    """The label under the matrix still read "True 8, predicted 6: 0 images (… of the 974 images of 8)" from the
    bundled model on MNIST test after a 150-image folder's matrix replaced it."""
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.set_confusion(CONFUSION, NAMES)
    view.move_current(1, 2)
    assert "of the 50 images of dog" in view.hover_label.text()

    view.set_confusion(np.array([[3, 1], [0, 4]]), ["a", "b"])

    assert "dog" not in view.hover_label.text() and view.hover_label.text().startswith("Hover over a cell")


def test_the_colour_scale_hint_says_how_the_shares_are_drawn(qtbot):
    """Row-normalized cells are coloured by the square root of their share, yet the hint still said "log scale"."""
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.set_confusion(CONFUSION, NAMES)
    assert "log scale" in view.scale_hint.text()
    view.normalized_box.setChecked(True)
    assert "log" not in view.scale_hint.text() and "square-root" in view.scale_hint.text()
    view.normalized_box.setChecked(False)
    assert "log scale" in view.scale_hint.text()


def test_cell_numbers_shrink_to_fit_small_cells_and_go_when_they_cannot(qtbot):
    """In a small window the 10x10 matrix's shares ("46.7", "13.3", "20.0") spilled over their cells and into each
    other: the labels kept their size whatever the cells' size."""
    from PySide6.QtGui import QFont, QFontMetricsF

    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.set_confusion(np.array([[7, 2, 6], [1, 13, 1], [0, 3, 12]]), NAMES)
    view.normalized_box.setChecked(True)
    labels = view.labels
    assert "46.7" in labels.texts()

    assert labels.fitted_point_size(80.0) == labels.point_size
    small = labels.fitted_point_size(24.0)
    assert small is not None and small < labels.point_size
    font = QFont()
    font.setPointSizeF(small)
    assert max(QFontMetricsF(font).horizontalAdvance(text) for text in labels.texts()) <= 0.9 * 24.0 + 0.01
    assert labels.fitted_point_size(8.0) is None
