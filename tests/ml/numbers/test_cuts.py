"""Where a piece of ink is cut: the candidate columns, and a cut's path between digits that overlap in x."""

from __future__ import annotations

import numpy as np

from ml.numbers.cuts import cut_columns, cut_path
from ml.numbers.segment import component_regions
from tests.ml.numbers.test_lattice import slanted_pair, two_touching_rings


def test_the_cut_candidates_include_the_neck_between_touching_digits():
    region = two_touching_rings()
    cuts = cut_columns(region, typical=60.0)
    assert 0 < len(cuts) <= 5
    assert any(46 <= cut <= 52 for cut in cuts)


def test_a_cut_path_separates_touching_digits_that_overlap_in_x():
    region, first, second = slanted_pair()
    assert len(component_regions(region.ink)) == 1  # one piece of ink
    middle = 37
    assert first[:, middle].any() and second[:, middle].any()  # no straight cut parts them
    path = cut_path(region.ink, middle, reach=18)
    columns = np.arange(region.width)[None, :]
    left_side = columns < path[:, None]
    assert (first * left_side).sum() >= 0.97 * first.sum()  # the first stroke left of the path ...
    assert (second * ~left_side).sum() >= 0.97 * second.sum()  # ... the second right of it
    straight = int(region.ink[:, middle].sum())
    crossed = int(region.ink[np.arange(region.height), path].sum())
    assert crossed <= 4 < straight  # it crosses the bridge only
