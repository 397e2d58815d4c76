"""NetworkView: every layer in order, rows made once per model, fold, dropout, towers, hover and enlarge."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QToolTip

from app.inspect.network_view import DROPOUT_NOTE, LayerRow, NetworkView
from tests.app.inspect.layer_data import cnn_trace, layer, mlp_trace


@pytest.fixture
def view(qtbot) -> NetworkView:
    widget = NetworkView()
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.set_class_names([str(digit) for digit in range(10)])
    widget.show()
    return widget


def test_each_layer_gets_a_row_in_order_with_its_maps(view):
    trace = cnn_trace()
    view.show_layers(trace)
    assert [row.layer["name"] for row in view.rows] == [entry["name"] for entry in trace]
    conv = view.rows[1]
    assert conv.mosaic.count == 8 and conv.mosaic.maps.shape == (8, 26, 26)
    assert "26×26×8" in conv.title.text() and "folded" in conv.note.text()
    assert view.rows[-2].mosaic.count == 10 and view.rows[-1].kind == "softmax"  # logits, then the softmax


def test_a_new_drawing_recolours_the_same_rows(view):
    view.show_layers(cnn_trace(seed=0))
    rows = view.rows
    before = rows[1].mosaic.color_image().copy()
    view.show_layers(cnn_trace(seed=1))
    assert view.rows == rows  # no widget rebuilt
    assert rows[1].mosaic.color_image() != before


def test_sixty_four_layers_update_without_rebuilding(view):
    trace = [layer("image", "input", (28, 28, 1))] + [
        layer(f"conv{i}", "conv", (14, 14, 16), seed=i) for i in range(63)
    ]
    view.show_layers(trace)
    rows = view.rows
    assert len(rows) == 64
    view.show_layers([{**entry, "values": None if entry["values"] is None else entry["values"] * 2} for entry in trace])
    assert view.rows == rows


def test_dropout_is_shown_as_off_at_inference(view):
    view.show_layers(cnn_trace())
    dropout = next(row for row in view.rows if row.kind == "dropout")
    assert "off at inference" in dropout.note.text()
    assert dropout.mosaic.isHidden()
    assert "inference" in DROPOUT_NOTE


def test_the_fold_toggle_asks_again_and_unfolded_layers_get_their_own_rows(qtbot, view):
    view.show_layers(cnn_trace(fold=True))
    assert not any(row.kind in ("norm", "activation") for row in view.rows)
    with qtbot.waitSignal(view.fold_changed) as changed:
        view.fold_check.setChecked(False)
    assert changed.args == [False] and not view.folded
    view.show_layers(cnn_trace(fold=False))
    kinds = [row.kind for row in view.rows]
    assert kinds[1:4] == ["conv", "norm", "activation"]
    assert "folded" not in view.rows[1].note.text()


def test_hover_gives_the_layer_name_shape_and_value_range(view):
    trace = cnn_trace()
    view.show_layers(trace)
    conv = view.rows[1]
    text = conv.hover_text(3)
    values = trace[1]["values"]
    assert "conv" in text and "26×26×8" in text
    assert f"{values.min():.3g}" in text and f"{values.max():.3g}" in text
    assert f"map 3: {values[..., 3].min():.3g}" in text
    softmax = view.rows[-1]
    assert f"class 7: {trace[-1]['values'][7]:.4g}" in softmax.hover_text(7)  # units of the softmax by class name
    dense = next(row for row in view.rows if row.kind == "dense")
    assert f"unit 5: {trace[5]['values'][5]:.4g}" in dense.hover_text(5)


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # the tooltip, on the offscreen platform
def test_hovering_a_map_shows_its_layer_shape_and_range_in_a_tooltip(qtbot, view):
    view.show_layers(cnn_trace())
    pool = view.rows[2]
    QToolTip.hideText()
    position = QPointF(pool.mosaic.tile_rect(4).center())
    global_position = QPointF(pool.mosaic.mapToGlobal(position.toPoint()))
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        position,
        global_position,
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(pool.mosaic, move)
    qtbot.waitUntil(lambda: "pool" in QToolTip.text())
    assert "pool (pooling)" in QToolTip.text() and "13×13×8" in QToolTip.text() and "map 4" in QToolTip.text()


def test_clicking_a_map_enlarges_it_beside_the_input(qtbot, view):
    view.show_layers(cnn_trace())
    assert view.input_view.image is not None and view.input_view.image.width() == 28
    assert view.enlarged_view.image is None
    conv = view.rows[1]
    qtbot.mouseClick(conv.mosaic, Qt.MouseButton.LeftButton, pos=conv.mosaic.tile_rect(5).center())
    assert view.selected_map == (1, 5) and conv.mosaic.selected == 5  # framed in its row
    assert view.enlarged_view.image.width() == 26
    assert "conv, map 5" in view.enlarged_caption.text()
    view.show_layers(cnn_trace(seed=2))  # the enlarged map follows the drawing
    assert view.selected_map == (1, 5) and view.enlarged_view.image is not None


def test_towers_are_picked_one_at_a_time(view):
    view.show_layers(cnn_trace(towers=("tower 1", "tower 2")))
    assert view.tower_picker.isVisibleTo(view) and view.tower_picker.count() == 2
    shown = {row.layer.get("tower") for row in view.visible_rows}
    assert shown == {None, "tower 1"}
    tower_two_conv = next(row for row in view.rows if row.layer.get("tower") == "tower 2" and row.kind == "conv")
    assert tower_two_conv.mosaic.count == 0  # hidden: not coloured for each drawing
    view.tower_picker.setCurrentText("tower 2")
    assert {row.layer.get("tower") for row in view.visible_rows} == {None, "tower 2"}
    assert tower_two_conv.mosaic.count == 8  # coloured when its tower is picked
    assert len(view.rows) > len(view.visible_rows)


def test_an_mlp_shows_strips_only_and_a_single_tower_model_no_picker(view):
    view.show_layers(mlp_trace())
    assert not view.tower_picker.isVisibleTo(view)
    assert all(row.mosaic.maps.shape[1:] == (1, 1) for row in view.rows)
    assert view.rows[1].mosaic.count == 500
    assert view.input_view.image.width() == 8  # 64 features shown as the 8x8 they are


def test_clear_forgets_the_model_and_says_why(view):
    view.show_layers(cnn_trace())
    view.clear("Another model")
    assert view.rows == [] and view.message.text() == "Another model"
    assert view.visible_rows == []


def test_another_models_rows_vanish_at_once_even_before_the_event_loop_deletes_them(view):
    """Rows were only removed from the layout and left to deleteLater, which waits while a dialog's nested event
    loop runs: the previous model's rows stayed on screen over the new model's."""
    view.show_layers(cnn_trace())
    view.show_layers(mlp_trace())
    QApplication.processEvents()  # shows the new rows; deleteLater waits for the event loop
    shown = [row for row in view.rows_widget.findChildren(LayerRow) if row.isVisible()]
    assert set(shown) == set(view.visible_rows), f"{len(shown)} rows on screen for {len(view.visible_rows)} layers"
