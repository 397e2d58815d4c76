"""The recognition-driven segmentation with made-up classifiers: cuts, candidates and the dynamic program."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ml.numbers.lattice import (
    DEFAULT_WEIGHTS,
    build_lattice,
    digit_height,
    segment,
)
from ml.numbers.segment import Region, component_regions, stroke_regions
from ml.preprocess.pipeline import find_ink
from tests.ml.numbers.pen import draw_number

BY_CLASSIFIER = replace(
    DEFAULT_WEIGHTS, class_weight=1.0, digit_bonus=0.5, aspect_weight=1.0, cut_cost=0.5, merge_cost=3.0
)
"""The program driven by the classifier's log-probabilities and the shape priors (no learned part scorer is given
to these made-up classifiers' numbers, so joining two pieces keeps a cost of its own)."""


def ring(height: int, width: int, thickness: int = 4) -> np.ndarray:
    """A "0"-like ring of ink (white on black)."""
    rows, columns = np.mgrid[0:height, 0:width]
    centre_row, centre_column = (height - 1) / 2, (width - 1) / 2
    outer = ((rows - centre_row) / (height / 2)) ** 2 + ((columns - centre_column) / (width / 2)) ** 2 <= 1
    inner_height, inner_width = height / 2 - thickness, width / 2 - thickness
    inner = ((rows - centre_row) / inner_height) ** 2 + ((columns - centre_column) / inner_width) ** 2 <= 1
    return (outer & ~inner).astype(np.float32)


def by_width(images: np.ndarray, narrower_than: int, wide: int) -> np.ndarray:
    """A sure "1" for a 28x28 whose ink is narrower than ``narrower_than`` columns, a sure ``wide`` for any other: a
    classifier with no opinion on segmentation."""
    widths = [np.ptp(np.flatnonzero(image.max(axis=0) > 0.2)) + 1 for image in images]
    return np.array([np.eye(10)[1 if width < narrower_than else wide] * 0.99 + 0.001 for width in widths])


def two_touching_rings() -> Region:
    """Two rings side by side whose ink meets in a thin neck: one piece of ink holding two digits."""
    ink = np.zeros((60, 98), dtype=np.float32)
    ink[:, :50] = np.maximum(ink[:, :50], ring(60, 50))
    ink[:, 48:] = np.maximum(ink[:, 48:], ring(60, 50))
    return Region(0, 0, ink)


def ring_classifier(images: np.ndarray) -> np.ndarray:
    """Confident "0" for an image with one hole-like ring, unsure otherwise: the width of the ink in the 28x28
    tells a single ring (about 2/3 of its height) from two side by side (wider than tall)."""
    rows = []
    for image in images:
        columns = np.flatnonzero(image.max(axis=0) > 0.2)
        lines = np.flatnonzero(image.max(axis=1) > 0.2)
        aspect = (columns[-1] - columns[0] + 1) / (lines[-1] - lines[0] + 1)
        row = np.full(10, 0.01)
        if 0.5 <= aspect <= 0.9:
            row[0] = 0.99  # one ring
        else:
            row[8] = 0.55  # two rings read as an unsure "8"
            row[0] = 0.36
        rows.append(row / row.sum())
    return np.array(rows)


def test_touching_digits_are_cut_where_the_classifier_is_surest_and_read_whole_when_it_is_surer_whole():
    region = two_touching_rings()
    neighbour = Region(0, 120, ring(60, 50))  # a number: a lone piece of ink must win by a margin to be cut
    parts, images, probabilities = segment([region, neighbour], ring_classifier, BY_CLASSIFIER)
    assert len(parts) == 3 and images.shape == (3, 28, 28)
    assert [int(np.argmax(row)) for row in probabilities] == [0, 0, 0]
    left, right = parts[0].box, parts[1].box
    assert left[1] + left[3] <= right[1] + 4 and 44 <= left[3] <= 54  # the cut is at the neck

    def sure_whole(images: np.ndarray) -> np.ndarray:
        rows = ring_classifier(images)
        return np.where(rows.max(axis=1, keepdims=True) < 0.6, np.eye(10)[0] * 0.999 + 0.0001, rows)

    no_shape = replace(BY_CLASSIFIER, aspect_weight=0.0)  # the classifier's opinion alone
    whole, _, probabilities = segment([region, neighbour], sure_whole, no_shape)
    assert len(whole) == 2 and int(np.argmax(probabilities[0])) == 0  # the scores decide, not the shape alone


def test_a_not_a_digit_score_can_overrule_a_confident_classifier():
    region = two_touching_rings()
    neighbour = Region(0, 120, ring(60, 50))

    def always_sure(images: np.ndarray) -> np.ndarray:
        return np.tile(np.eye(10)[0] * 0.999 + 0.0001, (len(images), 1))

    def doubt(images: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        rows = ring_classifier(images)
        return np.where(rows.max(axis=1) < 0.6, 0.95, 0.01)  # two rings in one part: surely not one digit

    no_shape = replace(BY_CLASSIFIER, aspect_weight=0.0)
    assert len(segment([region, neighbour], always_sure, no_shape)[0]) == 2
    assert len(segment([region, neighbour], always_sure, no_shape, doubt=doubt)[0]) == 3


def test_a_cut_inside_a_piece_hardly_wider_than_tall_costs_more_than_one_in_a_piece_as_wide_as_two():
    narrow = Region(0, 0, np.maximum(np.pad(ring(60, 30), ((0, 0), (0, 28))), np.pad(ring(60, 30), ((0, 0), (28, 0)))))
    neighbour = Region(0, 120, ring(60, 30))  # a number of several pieces (rings as narrow as a "0")
    assert narrow.width / narrow.height < 1.0
    free = replace(BY_CLASSIFIER, squat_cut_weight=0.0, aspect_weight=0.0, digit_bonus=1.5)
    assert len(segment([narrow, neighbour], ring_classifier, free)[0]) == 3  # cut: two rings are surer than one
    costly = replace(free, squat_cut_weight=5.0, squat_cut_from=1.1)
    assert len(segment([narrow, neighbour], ring_classifier, costly)[0]) == 2  # read whole
    wide = Region(0, 0, two_touching_rings().ink)  # 98 x 60: as wide as two digits, no cost
    assert len(segment([wide, Region(0, 120, ring(60, 50))], ring_classifier, costly)[0]) >= 3  # still cut


def test_a_lone_piece_of_ink_is_cut_only_by_a_clear_margin():
    region = two_touching_rings()
    assert len(segment([region], ring_classifier, replace(BY_CLASSIFIER, lone_margin=0.0))[0]) == 2
    assert len(segment([region], ring_classifier, replace(BY_CLASSIFIER, lone_margin=50.0))[0]) == 1


def test_two_stroke_digits_and_numbers_of_every_length_keep_one_candidate_per_digit_whole():
    for digits in ["45", "705", "4545", "93518", "260416"]:
        image, strokes = draw_number(digits, [18.0] * (len(digits) - 1))
        ink = find_ink(image)
        for regions in (stroke_regions(ink.soft_ink, strokes), component_regions(ink.soft_ink)):
            assert len(regions) == len(digits)  # the 4's and the 5's two strokes are one digit each
            lattice = build_lattice(regions, digit_height(regions))
            for index, region in enumerate(regions):
                atoms = [i for i, atom in enumerate(lattice.atoms) if atom.region == index]
                whole = [c for c in lattice.candidates if c.first == atoms[0] and c.stop == atoms[-1] + 1]
                assert len(whole) == 1 and whole[0].box == (region.top, region.left, region.height, region.width)
            assert len(lattice.images) == len(lattice.candidates)


def test_the_program_reads_every_digit_of_a_number_once_left_to_right():
    image, strokes = draw_number("260416", [30, 12, 25, 8, 20])
    regions = stroke_regions(find_ink(image).soft_ink, strokes)

    parts, _, _ = segment(regions, lambda images: by_width(images, narrower_than=9, wide=3), BY_CLASSIFIER)
    assert len(parts) == 6  # no part joins two pen-drawn digits apart, none is cut
    lefts = [part.box[1] for part in parts]
    assert lefts == sorted(lefts)


def test_the_part_scorer_can_overrule_a_classifier_sure_of_every_part():
    region = two_touching_rings()
    neighbour = Region(0, 120, ring(60, 50))

    def always_sure(images: np.ndarray) -> np.ndarray:
        return np.tile(np.eye(10)[0] * 0.999 + 0.0001, (len(images), 1))

    def whole(lattice, probabilities: np.ndarray) -> np.ndarray:
        """log P(one whole digit): high for a part as wide as one ring, low for two rings or half a ring."""
        widths = np.array([candidate.box[3] for candidate in lattice.candidates])
        return np.where(np.abs(widths - 50) <= 6, np.log(0.95), np.log(0.05))

    no_shape = replace(BY_CLASSIFIER, aspect_weight=0.0)
    assert len(segment([region, neighbour], always_sure, no_shape)[0]) == 2  # the classifier alone: two digits
    parts, _, _ = segment([region, neighbour], always_sure, whole=whole)
    assert len(parts) == 3 and all(44 <= part.box[3] <= 56 for part in parts)  # each ring one digit
    assert np.allclose([part.whole for part in parts], np.log(0.95))  # what the reader checks them by
    assert all(part.whole is None for part in segment([region, neighbour], always_sure, no_shape)[0])


def test_two_fragments_do_not_outscore_the_whole_digit_they_come_from_by_the_bonus_per_digit_alone():
    lone, neighbour = Region(0, 0, ring(60, 50)), Region(0, 120, ring(60, 50))

    def always_sure(images: np.ndarray) -> np.ndarray:
        return np.tile(np.eye(10)[0] * 0.999 + 0.0001, (len(images), 1))

    def whole(lattice, probabilities: np.ndarray) -> np.ndarray:
        """A whole ring is more likely whole than not (0.6); a piece of one less (0.3), as a 6's stem and loop."""
        widths = np.array([candidate.box[3] for candidate in lattice.candidates])
        return np.log(np.where(widths > 100, 0.01, np.where(widths >= 44, 0.6, 0.3)))

    no_shape = replace(DEFAULT_WEIGHTS, aspect_weight=0.0)
    log_probabilities = replace(no_shape, digit_bonus=3.5, odds_weight=0.0)  # the weights before the log-odds
    assert len(segment([lone, neighbour], always_sure, log_probabilities, whole=whole)[0]) > 2  # the ring cut
    parts, _, _ = segment([lone, neighbour], always_sure, no_shape, whole=whole)
    assert len(parts) == 2 and [part.box[3] for part in parts] == [50, 50]


def slanted_pair() -> tuple[Region, np.ndarray, np.ndarray]:
    """Two slanted strokes that overlap in x (each leans over the other's columns), joined by a small bridge: one
    piece of ink, and each stroke's own ink."""
    height, width = 60, 70
    rows, columns = np.mgrid[0:height, 0:width]
    lean = 0.6 * (height - rows)  # the strokes lean right going up
    first = ((columns >= 8 + lean) & (columns < 16 + lean)).astype(np.float32)
    second = ((columns >= 22 + lean) & (columns < 30 + lean)).astype(np.float32)
    ink = np.maximum(first, second)
    bridge_row = height // 2
    ink[bridge_row : bridge_row + 2, :] = np.where(
        (columns[bridge_row : bridge_row + 2] >= 15 + lean[bridge_row : bridge_row + 2])
        & (columns[bridge_row : bridge_row + 2] < 23 + lean[bridge_row : bridge_row + 2]),
        1.0,
        ink[bridge_row : bridge_row + 2],
    )
    return Region(0, 0, ink), first, second


def test_parts_come_in_the_order_of_their_centres_when_a_wide_digit_starts_left_of_a_narrow_one():
    slanted_one = np.zeros((60, 16), dtype=np.float32)
    for row in range(60):  # a slanted "1"
        column = int(round(2 + row * 0.2))
        slanted_one[row, column : column + 3] = 1.0
    wide = Region(2, 6, ring(56, 50))  # its ink starts at column 6, before the "1"'s at 10 ...
    one = Region(0, 8, slanted_one)  # ... but its centre (31) is well right of the "1"'s (about 17)
    regions = sorted([one, wide], key=lambda region: region.left)  # as the pieces of ink come, by their left edge
    assert regions[0] is wide

    parts, _, probabilities = segment(regions, lambda images: by_width(images, narrower_than=12, wide=0), BY_CLASSIFIER)
    assert "".join(str(int(np.argmax(row))) for row in probabilities) == "10"
    assert [part.box[1] for part in parts] == [10, 6]  # the "1"'s ink starts at 10: left edges out of order
