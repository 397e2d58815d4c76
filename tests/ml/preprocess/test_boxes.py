"""A form's printed boxes: the box round a digit, and a row of boxes round a number's digits, go; the writing stays,
and a digit or a drawing that only looks like a box is left alone."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

import ml.preprocess.pipeline as pipeline
from ml.assets import bundled_mnist_path
from ml.preprocess.boxes import remove_boxes
from ml.preprocess.components import label_components
from ml.preprocess.pipeline import find_ink, to_mnist


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    with np.load(bundled_mnist_path()) as archive:
        return archive["x_test"][:8].astype(np.float32) / 255.0


def written(digit: np.ndarray, page: np.ndarray, box: tuple[int, int, int]) -> None:
    """A 28x28 digit enlarged into a ``box`` (top, left, side) of ``page`` (ink, white on black)."""
    top, left, side = box
    grown = np.asarray(Image.fromarray(digit, mode="F").resize((side, side), Image.Resampling.BICUBIC)).clip(0, 1)
    np.maximum(page[top : top + side, left : left + side], grown, out=page[top : top + side, left : left + side])


def printed_box(page: np.ndarray, top: int, bottom: int, left: int, right: int, grey: float, width: int = 2) -> None:
    """A printed box's four lines (ink ``grey``, 0..1) on ``page``."""
    lines = Image.new("F", (page.shape[1], page.shape[0]), 0.0)
    ImageDraw.Draw(lines).rectangle((left, top, right + width - 1, bottom + width - 1), outline=grey, width=width)
    np.maximum(page, np.asarray(lines), out=page)


def photographed(ink: np.ndarray, turn: float = 0.0) -> np.ndarray:
    """Ink (0..1, white on black) as dark writing on light paper, turned ``turn`` degrees and softened."""
    photo = Image.fromarray(np.round(0.92 * (1.0 - 0.9 * ink) * 255).astype(np.uint8))
    if turn:
        photo = photo.rotate(turn, resample=Image.Resampling.BILINEAR, fillcolor=235)
    return np.asarray(photo.filter(ImageFilter.GaussianBlur(1.5)))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize(("margin", "turn", "grey"), [(30, 0.0, 0.5), (8, 5.0, 0.7), (0, -4.0, 0.9), (20, 8.0, 0.35)])
def test_a_digit_in_a_printed_box_reads_as_without_the_box(digits, margin, turn, grey) -> None:
    for digit in digits[:4]:
        ink = np.zeros((360, 400), np.float32)
        written(digit, ink, (90, 110, 180))
        plain = to_mnist(photographed(ink, turn)).image
        # the digit's ink lies about 25 px inside its 180 px square; no margin: the lines touch it
        printed_box(ink, 115 - margin, 245 + margin, 135 - margin, 265 + margin, grey)
        result = to_mnist(photographed(ink, turn))
        assert "boxes removed" in [stage.name for stage in result.stages]
        assert correlation(result.image, plain) > 0.9


def test_writing_that_runs_out_past_one_side_of_its_box(digits) -> None:
    seven = digits[0]  # MNIST test digit 0 is a "7"; its stem runs out through the box's bottom line
    ink = np.zeros((360, 400), np.float32)
    written(seven, ink, (90, 110, 180))
    plain = to_mnist(photographed(ink, -4.0)).image
    printed_box(ink, 121, 239, 141, 259, 0.9)
    result = to_mnist(photographed(ink, -4.0))
    assert "boxes removed" in [stage.name for stage in result.stages]
    assert correlation(result.image, plain) > 0.85  # the stem loses only where it crosses the line


def test_asked_not_to_the_pipeline_leaves_a_box_in_place(digits) -> None:
    ink = np.zeros((360, 400), np.float32)
    written(digits[1], ink, (90, 110, 180))
    printed_box(ink, 100, 260, 120, 280, 0.6)
    photo = photographed(ink)
    assert "boxes removed" in [stage.name for stage in to_mnist(photo).stages]
    assert "boxes removed" not in [stage.name for stage in to_mnist(photo, canvas=True).stages]


def test_without_the_step_the_box_spoils_the_digit(digits, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "remove_boxes", lambda soft_ink: (soft_ink, 0))
    monkeypatch.setattr(pipeline, "remove_marks", lambda soft_ink: (soft_ink, 0))  # it takes out a box round it too
    spoiled = 0
    for digit in digits[:4]:
        ink = np.zeros((360, 400), np.float32)
        written(digit, ink, (90, 110, 180))
        plain = to_mnist(photographed(ink)).image
        printed_box(ink, 100, 260, 120, 280, 0.6)
        result = to_mnist(photographed(ink))
        spoiled += result.image is None or correlation(result.image, plain) < 0.8
    assert spoiled >= 3  # the 28x28 is the box, the digit small inside it


@pytest.mark.parametrize("turn", [0.0, 6.0])
def test_a_row_of_boxes_leaves_each_digit_apart_and_no_wall(digits, turn) -> None:
    cell, cells = 120, 4
    ink = np.zeros((260, 120 + cell * cells), np.float32)
    for index in range(cells):
        written(digits[index], ink, (65, 60 + index * cell + 10, 100))
        printed_box(ink, 60, 60 + cell, 60 + index * cell, 60 + (index + 1) * cell, 0.5)
    found = find_ink(photographed(ink, turn))
    assert "boxes removed" in [stage.name for stage in found.stages]
    labels, count = label_components(found.soft_ink > 0.3)
    sizes = np.bincount(labels.ravel())[1:]
    assert np.count_nonzero(sizes > 300) == cells  # four digits, no box joining them
    tall_and_thin = 0
    for label in np.flatnonzero(sizes > 300) + 1:
        rows, columns = np.nonzero(labels == label)
        tall_and_thin += np.ptp(rows) > 110 and np.ptp(columns) < 12  # a wall left standing
    assert tall_and_thin == 0


def test_a_one_written_in_a_box_stays(digits) -> None:
    one = digits[2]  # MNIST test digit 2 is a "1"
    ink = np.zeros((360, 400), np.float32)
    written(one, ink, (90, 110, 180))
    plain = to_mnist(photographed(ink)).image
    printed_box(ink, 80, 290, 95, 305, 0.5)  # the 1 in the middle of the box, not reaching its lines
    result = to_mnist(photographed(ink))
    assert correlation(result.image, plain) > 0.9


def test_an_empty_box_and_a_rectangle_drawn_alone_stay() -> None:
    ink = np.zeros((300, 300), np.float32)
    printed_box(ink, 60, 240, 60, 240, 0.6)
    soft = find_ink(photographed(ink)).soft_ink
    assert remove_boxes(soft)[1] == 0  # nothing inside: nothing taken out (it reads as a shape, not as a digit)


def test_a_square_drawn_round_with_a_canvas_pen_is_no_box() -> None:
    from ml.doubt.drawing import draw_strokes, read_as_window

    square = [[(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9), (0.1, 0.1)]]
    canvas = draw_strokes(square + [[(0.5, 0.3), (0.5, 0.7)], [(0.3, 0.5), (0.7, 0.5)]], 20.0, box=(30, 30, 220, 220))
    ink = find_ink(canvas).soft_ink
    assert remove_boxes(ink)[1] == 0  # its lines are as thick as the cross inside: the user's own drawing
    assert read_as_window(canvas) is not None


def test_round_digits_drawn_on_the_canvas_are_no_boxes(digits) -> None:
    from ml.doubt.drawing import digit_on_canvas

    rng = np.random.default_rng(0)
    for digit in digits:
        soft = find_ink(digit_on_canvas(digit, rng)).soft_ink
        cleaned, count = remove_boxes(soft)
        assert count == 0 and cleaned is soft
