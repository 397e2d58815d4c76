"""Connected components as number reading uses them."""

from __future__ import annotations

import numpy as np

from ml.preprocess.components import label_components, remove_specks


def test_label_components_numbers_8_connected_pieces():
    mask = np.zeros((6, 8), dtype=bool)
    mask[0:2, 0:2] = True
    mask[2, 2] = True  # touches the first piece diagonally: the same component
    mask[3:6, 5:8] = True
    mask[5, 0] = True
    labels, count = label_components(mask)
    assert count == 3
    assert labels[0, 0] == labels[2, 2] != 0
    assert len({labels[0, 0], labels[4, 6], labels[5, 0]}) == 3
    assert (labels > 0).sum() == mask.sum() and not labels[~mask].any()


def test_label_components_of_nothing():
    labels, count = label_components(np.zeros((4, 4), dtype=bool))
    assert count == 0 and not labels.any()


def test_a_faint_patch_of_shading_far_from_the_digit_is_dropped_and_a_second_stroke_is_kept():
    ink = np.zeros((200, 400), dtype=np.float32)
    ink[40:160, 50:60] = 1.0  # the digit's stem
    ink[40:50, 70:100] = 1.0  # a separate stroke of the same digit, a tenth of the stem's ink
    ink[150:175, 300:340] = 0.02  # a patch of shading left by the paper: 1,000 pixels, almost no ink
    kept, box = remove_specks(ink)
    assert box == (40, 160, 50, 100)  # the patch would widen the box to x = 340 and squash the digit
    assert not kept[150:175, 300:340].any() and kept[40:50, 70:100].all()


def test_on_the_canvas_a_tap_of_the_pen_over_or_under_a_stroke_is_kept_and_one_beside_it_is_not():
    ink = np.zeros((260, 300), dtype=np.float32)
    ink[20:200, 140:150] = 1.0  # the stem of a "!" or an "i", 1,800 pixels
    ink[220:229, 141:150] = 1.0  # the pen's tap under it: 81 pixels, under the 5 % speck floor
    ink[100:109, 260:269] = 1.0  # a tap beside the stroke, not over or under it
    dropped, _ = remove_specks(ink)
    assert not dropped[220:229, 141:150].any()  # an image's speck, as before
    kept, box = remove_specks(ink, taps=True)
    assert kept[220:229, 141:150].all() and box == (20, 229, 140, 150)
    assert not kept[100:109, 260:269].any()


def test_on_the_canvas_a_stroke_along_the_border_is_ink_beside_other_digits():
    ink = np.zeros((280, 840), dtype=np.float32)
    ink[40:220, 100:112] = 1.0  # a "1"
    ink[0:12, 220:340] = 1.0  # a "7" whose bar runs along the canvas's top edge
    ink[12:220, 300:312] = 1.0
    ink[40:220, 420:432] = 1.0  # another "1"
    dropped, _ = remove_specks(ink)
    assert not dropped[0:12, 220:340].any()  # in an image: a table edge or shadow along the border, dropped
    kept, box = remove_specks(ink, taps=True)
    assert kept[0:12, 220:340].all() and kept[12:220, 300:312].all()
    assert box == (0, 220, 100, 432)


def test_in_an_image_a_pens_dot_under_a_stroke_is_kept_and_dust_or_grain_is_not():
    def under_stem(*dots: tuple[int, int, int, float]) -> np.ndarray:
        ink = np.zeros((260, 300), dtype=np.float32)
        ink[20:200, 140:150] = 0.9  # a 10 px pen's stem, 1,800 pixels
        for top, left, side, level in dots:
            ink[top : top + side, left : left + side] = level
        return ink

    kept, box = remove_specks(under_stem((220, 141, 9, 0.9)), dots=True)  # a pen-wide dot: the "!"'s
    assert kept[220:229, 141:150].all() and box == (20, 229, 140, 150)
    assert not remove_specks(under_stem((220, 141, 9, 0.9)))[0][220:229].any()  # without dots: a speck, as before
    for dust in [(220, 143, 2, 0.9), (220, 141, 9, 0.3)]:  # a fifth of the pen; a faint grey one
        assert not remove_specks(under_stem(dust), dots=True)[0][220:229].any()
    grain = [(212 + 16 * i, 141, 7, 0.9) for i in range(3)]  # three pen-wide dots: the paper's grain, not a "!"
    assert not remove_specks(under_stem(*grain), dots=True)[0][205:].any()


def test_in_a_long_strip_a_glyph_spanning_half_its_height_is_ink_not_a_speck():
    strip = np.zeros((36, 568), np.float32)
    strip[8:28, 100:104] = 1.0  # a "1" 20 px tall: under 4 % of the strip's length, over half its height
    ink, box = remove_specks(strip)
    assert ink is not None and box == (8, 28, 100, 104)
    square = np.zeros((568, 568), np.float32)
    square[8:28, 100:104] = 1.0  # the same mark on a large square sheet is still a speck
    assert remove_specks(square) == (None, None)
