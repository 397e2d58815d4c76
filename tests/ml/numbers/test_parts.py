"""The learned part scorer: its features of candidate parts, its forward pass, and the shipped weights' judgement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml.numbers.lattice import build_lattice, digit_height
from ml.numbers.parts import FAR, FEATURE_NAMES, PartScorer, log_whole_digit, part_features, shipped_part_scorer
from ml.numbers.segment import Region, stroke_regions
from ml.preprocess.pipeline import find_ink
from tests.ml.numbers.pen import draw_number
from tests.ml.numbers.test_lattice import ring, two_touching_rings


def sure_threes(images: np.ndarray) -> np.ndarray:
    """A classifier sure of "3" whatever it sees (no opinion on segmentation)."""
    return np.tile(np.eye(10)[3] * 0.999 + 0.0001, (len(images), 1))


def feature(rows: np.ndarray, name: str) -> np.ndarray:
    return rows[:, FEATURE_NAMES.index(name)]


def test_features_say_where_a_part_was_cut_how_many_pieces_it_joins_and_how_far_its_neighbours_are():
    regions = [two_touching_rings(), Region(0, 128, ring(60, 50))]  # a gap of 30 px (half a digit height) after
    lattice = build_lattice(regions, 60.0)
    rows = part_features(lattice, sure_threes(lattice.images), None)
    assert rows.shape == (len(lattice.candidates), len(FEATURE_NAMES)) and np.isfinite(rows).all()
    for row, candidate in zip(rows, lattice.candidates, strict=True):
        atoms = lattice.atoms[candidate.first : candidate.stop]
        assert row[FEATURE_NAMES.index("pieces")] == len({atom.region for atom in atoms})
        assert row[FEATURE_NAMES.index("cut_left")] == float(atoms[0].start > 0)
        assert row[FEATURE_NAMES.index("class_3")] == 1.0
    whole_ring = next(i for i, c in enumerate(lattice.candidates) if c.box == (0, 128, 60, 50))
    assert feature(rows, "gap_left")[whole_ring] == pytest.approx(30 / 60)
    assert feature(rows, "gap_right")[whole_ring] == FAR  # nothing to its right
    assert feature(rows, "width")[whole_ring] == pytest.approx(50 / 60)


def test_the_forward_pass_is_a_standardised_relu_network_with_a_logistic_output():
    size = len(FEATURE_NAMES)
    weights = {
        "mean": np.ones(size),
        "scale": np.full(size, 2.0),
        "layers": [(np.eye(size)[:, :2], np.array([0.0, -1.0])), (np.array([[1.0], [2.0]]), np.array([0.5]))],
    }
    scorer = PartScorer(weights)
    features = np.zeros((2, size))
    features[1, 0], features[1, 1] = 5.0, 9.0  # standardised: (2, 4) -> relu(2, 3) -> 2 + 6 + 0.5
    logits = scorer.logits(features)
    assert logits == pytest.approx([0.5, 8.5])
    assert scorer.log_whole(features) == pytest.approx([-math.log1p(math.exp(-0.5)), -math.log1p(math.exp(-8.5))])
    with pytest.raises(ValueError):
        PartScorer({**weights, "mean": np.ones(size - 1)})


def test_the_shipped_scorer_prefers_each_pen_digit_whole_to_two_digits_joined_across_their_gap():
    image, strokes = draw_number("7052", [20.0, 14.0, 24.0])
    regions = stroke_regions(find_ink(image).soft_ink, strokes)
    lattice = build_lattice(regions, digit_height(regions))
    wholes = log_whole_digit(lattice, sure_threes(lattice.images))
    assert wholes.shape == (len(lattice.candidates),) and (wholes <= 0).all()
    joined = [
        wholes[i]
        for i, c in enumerate(lattice.candidates)
        if len({atom.region for atom in lattice.atoms[c.first : c.stop]}) > 1
    ]
    for index, region in enumerate(regions):
        whole = next(
            i
            for i, c in enumerate(lattice.candidates)
            if c.box == (region.top, region.left, region.height, region.width)
        )
        assert wholes[whole] > max(joined), f"digit {index}"
        assert wholes[whole] > math.log(0.5)
    assert shipped_part_scorer() is shipped_part_scorer()  # read once
