"""Finding the digits of a number: pen strokes and components grouped by x-overlap, fragments, cuts."""

from __future__ import annotations

import numpy as np
import pytest

from ml.numbers.segment import (
    component_regions,
    drop_slivers,
    group_by_x_overlap,
    split_touching,
    stroke_regions,
)
from ml.preprocess.components import label_components
from ml.preprocess.pipeline import find_ink
from tests.ml.numbers.pen import PenStroke, draw_number, render


def ink_of(image: np.ndarray) -> np.ndarray:
    ink = find_ink(image)
    assert ink.soft_ink is not None
    return ink.soft_ink


@pytest.mark.parametrize("digit", ["4", "5", "7"])
def test_a_digit_drawn_in_two_strokes_stays_one_region(digit):
    image, strokes = draw_number(digit)
    assert len(strokes) == 2  # the template really is two strokes
    soft_ink = ink_of(image)
    assert len(stroke_regions(soft_ink, strokes)) == 1
    assert len(component_regions(soft_ink)) == 1


def test_a_five_whose_bar_is_lifted_off_is_one_region_by_components_too():
    image, strokes = draw_number("5")
    body, bar = strokes
    lifted = PenStroke(tuple((x, y - 14) for x, y in bar.points), bar.width)  # the bar floats above the body
    image = render([body, lifted], image.shape)
    soft_ink = ink_of(image)
    assert label_components(soft_ink > 0)[1] == 2  # two pieces of ink
    assert len(component_regions(soft_ink)) == 1
    assert len(stroke_regions(soft_ink, [body, lifted])) == 1


@pytest.mark.parametrize("digits", ["12", "705", "4444", "93518", "260416"])
def test_numbers_of_every_length_give_one_region_per_digit_left_to_right(digits):
    image, strokes = draw_number(digits, [float(g) for g in np.resize([4, 25, 10, 2, 16], len(digits) - 1)])
    soft_ink = ink_of(image)
    for regions in (stroke_regions(soft_ink, strokes), component_regions(soft_ink)):
        assert len(regions) == len(digits)
        lefts = [region.left for region in regions]
        assert lefts == sorted(lefts)


def test_uneven_baselines_and_sizes_do_not_merge_or_split_digits():
    image, strokes = draw_number("3172", [6, 30, 3], tops=[30, 60, 45, 20])
    assert len(stroke_regions(ink_of(image), strokes)) == 4
    assert len(component_regions(ink_of(image))) == 4


def test_a_one_that_only_grazes_its_neighbour_stays_apart():
    # x-ranges: a "1" 12 px wide overlapping a "2" by 5 px; 5 / max(12, 90 / 3) is well under half
    assert group_by_x_overlap([(20, 32), (27, 80)], [90, 90]) == [[0], [1]]
    assert group_by_x_overlap([(20, 60), (25, 55)], [40, 90]) == [[0, 1]]  # a bar over its digit


def test_a_speck_far_from_the_digits_is_dropped_and_a_near_fragment_joins_its_digit():
    image, strokes = draw_number("23", [30])
    dot_far = PenStroke(((image.shape[1] - 8.0, 20.0),), 6)
    dot_near = PenStroke(((150.0, 140.0),), 5)
    soft_ink = ink_of(render([*strokes, dot_far, dot_near], image.shape))
    regions = stroke_regions(soft_ink, [*strokes, dot_far, dot_near])
    assert len(regions) == 2


def test_a_neighbours_slivers_inside_a_cut_are_dropped():
    ink = np.zeros((40, 60), dtype=np.float32)
    ink[5:35, 10:14] = 1.0  # a stroke
    ink[18:22, 27:30] = 1.0  # the tip of the next digit's curve, reaching into the cut
    kept = drop_slivers(ink[:, :29])
    assert kept[5:35, 10:14].all() and not kept[:, 27:].any()  # the tip (8 px against 120) is dropped
    ink[5:35, 20:24] = 1.0  # a second stroke as large as the first stays, the tip still goes
    kept = drop_slivers(ink[:, :29])
    assert kept[5:35, 20:24].all() and kept[5:35, 10:14].all() and not kept[:, 27:].any()


def test_a_faint_sliver_of_a_broken_stroke_joins_its_digit_however_tall_but_a_thin_one_stays_a_digit():
    image, _ = draw_number("23", [40])
    soft_ink = ink_of(image).copy()
    two_right = int(np.flatnonzero(soft_ink[:, :120].any(axis=0))[-1])
    sliver = soft_ink.copy()
    sliver[50:110, two_right + 6 : two_right + 8] = 0.3  # a faint hairline beside the 2, as tall as two thirds of it
    regions = component_regions(sliver)
    assert len(regions) == 2
    assert regions[0].left + regions[0].width == two_right + 8  # it joined the 2
    one = soft_ink.copy()
    one[40:130, two_right + 12 : two_right + 22] = 1.0  # a "1" as thin as a pen line stays a digit of its own
    assert len(component_regions(one)) == 3


def ring_at(ink: np.ndarray, left: int, width: int = 40, height: int = 60) -> None:
    """A ring (a "0") of full ink drawn into ``ink`` from column ``left``, rows 10-70."""
    rows, columns = np.mgrid[0 : ink.shape[0], 0 : ink.shape[1]]
    y, x = (rows - 40) / (height / 2), (columns - left - width / 2) / (width / 2)
    radius = np.sqrt(x * x + y * y)
    ink[(radius <= 1.0) & (radius >= 0.8)] = 1.0


def test_two_digits_whose_faint_edges_touch_are_parted_at_a_higher_ink_level():
    ink = np.zeros((80, 200), np.float32)
    ring_at(ink, 20)
    ring_at(ink, 66)  # 6 columns of paper between the rings ...
    ink[39:42, 60:66] = 0.3  # ... bridged by faint ink, as enlarged soft edges meet
    regions = component_regions(ink)
    assert len(regions) == 1  # one piece of ink at the reader's level
    parted = split_touching(regions, typical=60.0)
    assert len(parted) == 2
    assert parted[0].left < parted[1].left
    assert parted[0].ink.sum() + parted[1].ink.sum() == pytest.approx(regions[0].ink.sum())  # no ink lost
    assert all(40 <= region.width <= 44 for region in parted)  # each a ring and its half of the bridge


def test_one_digit_and_two_digits_whose_strokes_cross_are_not_parted():
    ink = np.zeros((80, 200), np.float32)
    ring_at(ink, 20)
    regions = component_regions(ink)
    assert split_touching(regions, typical=60.0) == regions  # narrow: one digit
    ring_at(ink, 50)  # strokes overlapping at full ink: left to the recognition's cuts
    regions = component_regions(ink)
    assert split_touching(regions, typical=60.0) == regions
