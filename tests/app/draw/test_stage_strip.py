"""StageStrip: the preprocessing stages as thumbnails rendered into pixmaps (no Python runs when they repaint)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QLabel

from app.common.images import array_to_qimage
from app.draw.stage_strip import THUMBNAIL_SIDE, StageStrip, render_thumbnail


@pytest.fixture
def strip(qtbot) -> StageStrip:
    widget = StageStrip()
    qtbot.addWidget(widget)
    widget.resize(600, 120)
    widget.show()
    return widget


def bar_stage(side: int = 280) -> np.ndarray:
    stage = np.zeros((side, side), dtype=np.float32)
    stage[side // 7 : side - side // 7, side * 3 // 7 : side * 4 // 7] = 1.0
    return stage


def test_columns_are_kept_and_recaptioned_when_the_stage_names_change(strip):
    strip.set_stages([("input", bar_stage()), ("centred", bar_stage(28))])
    first = strip.thumbnails
    strip.set_stages([("input", bar_stage()), ("centred", bar_stage(28))])
    assert strip.thumbnails == first and strip.stage_names == ["input", "centred"]
    strip.set_stages([("cropped", bar_stage())])
    assert strip.thumbnails == first[:1] and strip.stage_names == ["cropped"]  # reused, not made anew
    assert not first[1].isVisibleTo(strip)  # the column not needed is hidden
    captions = [label.text() for label in strip.findChildren(QLabel) if label.isVisibleTo(strip) and label.text()]
    assert captions == ["cropped"]
    strip.set_stages([("input", bar_stage()), ("centred", bar_stage(28)), ("thinned", bar_stage(28))])
    assert strip.thumbnails[:2] == first and first[1].isVisibleTo(strip) and len(strip.thumbnails) == 3


def test_the_strip_keeps_its_height_and_never_narrows_once_stages_were_shown(strip):
    strip.set_stages([(f"a stage named at length {index}", bar_stage(28)) for index in range(6)])
    height, widest = strip.minimumHeight(), strip.minimumWidth()
    strip.set_stages([("input", bar_stage())])
    strip.set_stages([])
    assert strip.minimumHeight() == height > THUMBNAIL_SIDE and strip.minimumWidth() == widest > 6 * THUMBNAIL_SIDE


def test_a_large_stage_is_area_averaged_for_its_thumbnail_and_keeps_its_pixels(strip):
    stage = bar_stage()
    strip.set_stages([("input", stage)])
    thumbnail = strip.thumbnails[0]
    assert np.array_equal(thumbnail.pixels, stage)  # the stage as the model thread made it
    assert thumbnail.image.width() == THUMBNAIL_SIDE  # 280 px averaged by 5: drawn one to one, no smooth scaling
    shown = thumbnail.pixmap().toImage()
    assert shown.pixelColor(THUMBNAIL_SIDE // 2, THUMBNAIL_SIDE // 2).value() > 200  # the white bar
    assert shown.pixelColor(THUMBNAIL_SIDE // 2, 3).value() < 60  # black above it


def test_a_small_stage_is_magnified_by_a_whole_factor_with_crisp_pixels():
    stage = np.zeros((28, 28), dtype=np.float32)
    stage[10, 10] = 1.0
    shown = render_thumbnail(array_to_qimage(stage), THUMBNAIL_SIDE, QPen(QColor("gray"), 1))
    block = [[shown.pixelColor(20 + dx, 20 + dy).value() for dx in (0, 1)] for dy in (0, 1)]
    assert block == [[255, 255], [255, 255]]  # one pixel becomes a sharp 2x2 block
    assert shown.pixelColor(22, 20).value() == 0 and shown.pixelColor(19, 20).value() == 0


def test_a_thin_stage_keeps_its_aspect_on_black_and_nothing_clears_it(strip):
    strip.set_stages([("cropped", np.ones((160, 20), dtype=np.float32))])
    shown = strip.thumbnails[0].pixmap().toImage()
    assert shown.pixelColor(THUMBNAIL_SIDE // 2, THUMBNAIL_SIDE // 2).value() > 200
    assert shown.pixelColor(3, THUMBNAIL_SIDE // 2).alpha() == 0  # beside the thin image: transparent paper
    strip.thumbnails[0].set_image(None)
    assert strip.thumbnails[0].pixels is None and strip.thumbnails[0].image is None


def test_a_strip_beside_the_wide_canvas_already_holds_a_drawings_six_stages(qtbot):
    """Their width is kept from the start there (the first reading widened the panel, and the wide canvas lost 100
    px), and given back beside the square canvas (the window must fit an 800 px screen)."""
    strip = StageStrip()
    qtbot.addWidget(strip)
    strip.reserve_drawing_stages(True)
    reserved = strip.minimumWidth()
    names = ["input (grayscale)", "background removed", "cropped", "stroke width normalised", "scaled to 20 px",
             "centred 28x28"]  # fmt: skip
    strip.set_stages([(name, bar_stage(28)) for name in names])
    assert reserved > 0 and strip.minimumWidth() == reserved
    strip.reserve_drawing_stages(False)
    assert strip.minimumWidth() == 0
