"""Ruled and squared paper: the printed lines go, the writing stays."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

import ml.preprocess.pipeline as pipeline
from ml.assets import bundled_mnist_path
from ml.preprocess.components import label_components
from ml.preprocess.pipeline import RULED_PAPER_ONLY, find_ink, to_mnist
from ml.preprocess.ruling import remove_ruled_lines


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    with np.load(bundled_mnist_path()) as archive:
        return archive["x_test"][:8].astype(np.float32) / 255.0


def notebook(ink: np.ndarray, paper: str, spacing: int, turn: float = 0.0, line_grey: float = 0.5) -> np.ndarray:
    """``ink`` (0..1, white on black) written in dark pen on light paper ruled with grey lines, photographed turned
    ``turn`` degrees."""
    height, width = ink.shape
    page = np.full((height, width), 0.92, dtype=np.float32)
    start = spacing // 3
    for row in range(start, height, spacing) if paper != "plain" else ():
        page[row : row + 2] = line_grey
    if paper == "squared":
        for column in range(start, width, spacing):
            page[:, column : column + 2] = line_grey
    photo = Image.fromarray(np.round(page * (1.0 - 0.9 * ink) * 255).astype(np.uint8))
    if turn:
        photo = photo.rotate(turn, resample=Image.Resampling.BILINEAR, fillcolor=235)
    return np.asarray(photo.filter(ImageFilter.GaussianBlur(1.5)))  # a photo's softness


def written(digit: np.ndarray, size: tuple[int, int], box: tuple[int, int, int]) -> np.ndarray:
    """A 28x28 digit enlarged to a ``box`` (top, left, side) of an empty page."""
    top, left, side = box
    page = np.zeros(size, dtype=np.float32)
    page[top : top + side, left : left + side] = np.asarray(
        Image.fromarray(digit, mode="F").resize((side, side), Image.Resampling.BICUBIC)
    ).clip(0, 1)
    return page


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize(
    ("paper", "spacing", "turn", "line_grey"),
    [("lined", 45, 0.0, 0.5), ("lined", 60, 4.0, 0.5), ("squared", 75, -3.0, 0.5), ("squared", 60, 6.0, 0.4)],
)
def test_a_digit_on_ruled_paper_reads_as_on_plain_paper(digits, paper, spacing, turn, line_grey) -> None:
    for digit in digits[:4]:
        ink = written(digit, (360, 480), (90, 160, 180))
        plain = to_mnist(notebook(ink, "plain", spacing, turn)).image
        result = to_mnist(notebook(ink, paper, spacing, turn, line_grey))
        assert "ruled lines removed" in [stage.name for stage in result.stages]
        assert correlation(result.image, plain) > 0.9


def test_without_the_step_the_lines_spoil_the_digit(digits, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "remove_ruled_lines", lambda soft_ink, frame=None: (soft_ink, 0))
    spoiled = 0
    for digit in digits[:4]:
        ink = written(digit, (360, 480), (90, 160, 180))
        plain = to_mnist(notebook(ink, "plain", 45)).image
        result = to_mnist(notebook(ink, "lined", 45))
        spoiled += result.image is None or correlation(result.image, plain) < 0.8
    assert spoiled >= 3  # the lines and the digit are one piece of ink as wide as the page


def test_the_digits_of_a_number_on_lined_paper_stay_apart(digits) -> None:
    ink = np.maximum(written(digits[0], (300, 600), (60, 100, 170)), written(digits[1], (300, 600), (60, 320, 170)))
    found = find_ink(notebook(ink, "lined", 50, turn=2.0))
    labels, count = label_components(found.soft_ink > 0.3)
    sizes = np.bincount(labels.ravel())[1:]
    assert (sizes > 500).sum() == 2  # two digits, not one piece of ink as wide as the page


def test_a_stroke_crossing_a_line_is_kept_whole() -> None:
    ink = np.zeros((300, 400), dtype=np.float32)
    ink[0::50], ink[1::50] = 0.3, 0.3  # six faint printed lines, 2 px thick
    ink[40:260, 190:202] = 1.0  # a pen's stroke crossing four of them
    cleaned, lines = remove_ruled_lines(ink)
    assert lines == 6
    assert (cleaned[40:260, 190:202] > 0.5).all()  # no gap where the lines were
    assert not cleaned[:, :180].any() and not cleaned[:, 215:].any()


@pytest.mark.parametrize(("paper", "line_grey"), [("lined", 0.5), ("lined", 0.3), ("squared", 0.3)])
def test_blank_ruled_paper_is_blank_and_says_why(paper, line_grey) -> None:
    result = to_mnist(notebook(np.zeros((320, 420), dtype=np.float32), paper, 48, 3.0, line_grey))
    assert result.blank and result.reason == RULED_PAPER_ONLY


def test_a_faint_squared_grid_is_paper() -> None:
    result = to_mnist(notebook(np.zeros((320, 420), dtype=np.float32), "squared", 48, 3.0, 0.5))
    assert result.blank  # its lines are within the paper's texture; where they cross are specks


def test_a_thin_pens_tightly_cropped_seven_keeps_its_bar() -> None:
    crop = Image.new("F", (160, 220), 0.0)
    pen = ImageDraw.Draw(crop)
    pen.line([(0, 2), (159, 2)], fill=1.0, width=3)  # the bar, from side to side, as dark as the stem
    pen.line([(159, 2), (60, 219)], fill=1.0, width=3)
    ink = np.asarray(crop, dtype=np.float32)
    cleaned, lines = remove_ruled_lines(ink)
    assert lines == 0 and np.array_equal(cleaned, ink)


def test_one_faint_line_across_a_photo_goes_and_one_dark_stroke_stays() -> None:
    ink = np.zeros((300, 400), dtype=np.float32)
    ink[60:240, 180:194] = 1.0  # a "1"
    ink[150:152, :] = 0.35  # a printed line, fainter than the writing
    cleaned, lines = remove_ruled_lines(ink)
    assert lines == 1 and not cleaned[150:152, :170].any() and (cleaned[150:152, 180:194] > 0.5).all()
    ink[150:152, :] = 1.0  # as dark as the writing: a stroke (a long dash), not a printed line
    cleaned, lines = remove_ruled_lines(ink)
    assert lines == 0 and np.array_equal(cleaned, ink)


def test_canvases_and_small_images_are_left_alone(digits) -> None:
    canvas = written(digits[2], (280, 280), (30, 30, 220))
    assert remove_ruled_lines(canvas)[1] == 0
    assert remove_ruled_lines(digits[3])[1] == 0
    bars = np.zeros((28, 28), dtype=np.float32)
    bars[8:10], bars[18:20] = 1.0, 1.0  # "=" from side to side, but 28x28
    assert remove_ruled_lines(bars)[1] == 0


def squares(size: tuple[int, int], spacing: int, grid_to: float = 1.0) -> np.ndarray:
    """A blank squared page photographed: grey lines ``spacing`` apart, the grid covering the top ``grid_to`` of the
    page (a margin below it)."""
    height, width = size
    page = np.full(size, 0.92, dtype=np.float32)
    bottom = round(grid_to * height)
    for first in (spacing // 3, spacing // 3 + 1):
        page[first:bottom:spacing] = 0.3
        page[:bottom, first::spacing] = 0.3
    photo = Image.fromarray(np.round(page * 255).astype(np.uint8)).rotate(2.0, fillcolor=235)
    return np.asarray(photo.filter(ImageFilter.GaussianBlur(1.5)))


def test_a_wide_page_of_small_squares_is_blank() -> None:
    result = to_mnist(squares((300, 900), 40))  # its columns as close as its rows: under 3 widths of 2.5 % apart
    assert result.blank


def test_squared_columns_that_stop_short_of_an_edge_go_with_the_rows() -> None:
    result = to_mnist(squares((320, 480), 48, grid_to=0.75))
    assert result.blank and result.reason == RULED_PAPER_ONLY


def test_strokes_at_a_squared_spacing_without_rows_stay() -> None:
    page = np.zeros((320, 480), dtype=np.float32)
    for left in range(80, 400, 60):  # a row of tall "1"s written from the top, none reaching the bottom
        page[5:250, left : left + 6] = 1.0
    ink, lines = remove_ruled_lines(page)
    assert lines == 0 and np.array_equal(ink, page)
