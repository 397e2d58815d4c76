"""FiltersView: kernels as small images on a scale symmetric around zero; a plain message for models without conv."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QApplication

from app.inspect.colors import DIVERGING
from app.inspect.filters_view import FilterRow, FiltersView, kernel_scale


def bank(layer: str, count: int, seed: int = 0, note: str = "") -> dict:
    kernels = np.random.default_rng(seed).normal(size=(count, 3, 3)).astype(np.float32)
    return {"layer": layer, "tower": None, "kernels": kernels, "note": note}


def test_kernels_use_a_diverging_scale_around_zero():
    scale = kernel_scale(np.array([[-0.2, 0.5]], np.float32))
    assert (scale.low, scale.high, scale.cmap) == (-0.5, 0.5, DIVERGING)


def test_each_conv_layer_shows_its_kernels_and_refreshes_in_place(qtbot):
    view = FiltersView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show_filters([bank("conv", 32), bank("conv_1", 48, note="mean over 32 input channels")], "digitlab-best")
    rows = view.rows
    assert [row.mosaic.count for row in rows] == [32, 48]
    assert "mean over 32 input channels" in rows[1].title.text()
    before = rows[0].mosaic.color_image().copy()
    view.show_filters([bank("conv", 32, seed=1), bank("conv_1", 48, seed=1)], "epoch 2")
    assert view.rows == rows and rows[0].mosaic.color_image() != before
    assert view.caption.text() == "epoch 2"


def test_a_model_without_conv_layers_says_so(qtbot):
    view = FiltersView()
    qtbot.addWidget(view)
    view.show_filters([], "mlp-digits")
    assert "no convolution layers" in view.message.text() and not view.message.isHidden()


def test_the_previous_models_rows_vanish_at_once_even_while_a_dialog_runs_its_own_event_loop(qtbot):
    """At a run's end the keep-or-use question runs a nested event loop, in which deleteLater waits: the run's rows
    stayed on screen under the active model's, their titles and legends drawn over each other."""
    view = FiltersView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    view.show_filters([bank("conv2d", 24), bank("conv2d_1", 48)], "The model being trained, after epoch 1")
    view.show_filters([], "")  # the run ended: the active model's filters are asked for
    view.show_filters([bank("conv2d", 32), bank("conv2d_1", 64)], "cnn: the active model's kernels")
    QApplication.processEvents()  # shows the new rows; deleteLater waits for the event loop
    shown = [row for row in view.rows_widget.findChildren(FilterRow) if row.isVisible()]
    assert set(shown) == set(view.rows), f"{len(shown)} rows on screen for {len(view.rows)} layers"
