"""MapMosaic, ColorLegend and PixelView: layer outputs as crisp tiles, hover texts, clicks."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.inspect.colors import DIVERGING, SEQUENTIAL, ColorScale
from app.inspect.maps import ColorLegend, MapMosaic, as_maps, format_range, mosaic_columns


def test_any_layer_output_becomes_a_stack_of_maps():
    assert as_maps(np.zeros((26, 26, 32))).shape == (32, 26, 26)
    assert as_maps(np.zeros((8, 8))).shape == (1, 8, 8)
    assert as_maps(np.zeros(128)).shape == (128, 1, 1)
    maps = as_maps(np.arange(2 * 2 * 3).reshape(2, 2, 3))
    assert maps[1].tolist() == [[1, 4], [7, 10]]  # channel 1 of every pixel


def test_columns_keep_rows_short_for_maps_and_long_for_units():
    assert mosaic_columns(8, 26) == 8
    assert mosaic_columns(96, 7) == 32
    assert mosaic_columns(500, 1) == 64


def test_one_scale_per_layer_sequential_when_non_negative_and_symmetric_when_signed():
    relu = ColorScale.for_values(np.array([0.5, 2.0, 4.0]))
    assert (relu.low, relu.high, relu.cmap) == (0.5, 4.0, SEQUENTIAL)
    signed = ColorScale.for_values(np.array([-1.0, 3.0]))
    assert (signed.low, signed.high, signed.cmap) == (-3.0, 3.0, DIVERGING)
    colors = relu.colorize(np.array([0.5, 4.0]))
    assert colors.shape == (2, 4) and not np.array_equal(colors[0], colors[1])


@pytest.fixture
def mosaic(qtbot) -> MapMosaic:
    widget = MapMosaic(max_tile=40)
    qtbot.addWidget(widget)
    widget.resize(400, 100)
    widget.set_maps(
        as_maps(np.random.default_rng(0).random((6, 6, 4), dtype=np.float32)), ColorScale(0.0, 1.0, SEQUENTIAL)
    )
    widget.show()
    return widget


def test_maps_are_magnified_by_whole_pixels_without_smoothing(mosaic):
    rect = mosaic.tile_rect(0)
    assert rect.width() % 6 == 0 and rect.width() >= 12
    image = mosaic.grab().toImage()
    block = {
        image.pixel(rect.left() + dx, rect.top() + dy)
        for dx in range(rect.width() // 6)
        for dy in range(rect.height() // 6)
    }
    assert len(block) == 1  # one map pixel is one flat square: nearest neighbour


def test_new_values_recolour_without_a_new_layout(mosaic):
    height = mosaic.height()
    before = mosaic.color_image().copy()
    mosaic.set_maps(as_maps(np.random.default_rng(1).random((6, 6, 4), dtype=np.float32)), mosaic.scale)
    assert mosaic.height() == height
    assert mosaic.color_image() != before


def test_hover_names_the_map_and_a_click_picks_it(qtbot, mosaic):
    mosaic.describe = lambda index: f"map {index}"
    target = mosaic.tile_rect(2).center()
    assert mosaic.index_at(target) == 2
    assert mosaic.index_at(QPoint(mosaic.width() - 1, mosaic.height() - 1)) is None
    with qtbot.waitSignal(mosaic.map_clicked) as clicked:
        qtbot.mouseClick(mosaic, Qt.MouseButton.LeftButton, pos=target)
    assert clicked.args == [2]


def test_a_strip_of_units_has_nothing_to_enlarge(qtbot):
    strip = MapMosaic(max_tile=18)
    qtbot.addWidget(strip)
    strip.resize(400, 40)
    strip.set_maps(as_maps(np.arange(10, dtype=np.float32)), ColorScale(0.0, 9.0, SEQUENTIAL))
    strip.show()
    clicks: list[int] = []
    strip.map_clicked.connect(clicks.append)
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.tile_rect(3).center())
    assert clicks == [] and strip.cursor().shape() == Qt.CursorShape.ArrowCursor
    assert strip.index_at(strip.tile_rect(3).center()) == 3  # its hover text still names the unit


def test_a_layer_of_one_huge_value_is_coloured_without_dividing_by_zero():
    """A model with weights of 1e30 gives a dense layer of 8e31 everywhere: 8e31 + 1.0 == 8e31, a span of zero."""
    scale = ColorScale.for_values(np.full(10, 7.99e31))
    assert scale.high > scale.low
    rgba = scale.colorize(np.full(10, 7.99e31))
    assert rgba.shape == (10, 4)


def test_a_relus_negative_zero_is_written_0_not_minus_0(qtbot):
    """A ReLU layer's smallest output can be -0.0: its legend read "-0 … 0.682", as if the layer went negative."""
    relu = np.array([[-0.0, 0.25], [0.5, 0.682]], np.float32)
    legend = ColorLegend()
    qtbot.addWidget(legend)
    legend.set_scale(ColorScale.for_values(relu))
    assert format_range(-0.0, 0.682) == "0 … 0.682"  # the hover text
    assert legend.texts == ("0", "0.682")
    assert legend.scale.cmap == SEQUENTIAL  # still never negative
