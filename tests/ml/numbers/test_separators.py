"""Points, commas, colons and dashes drawn between the digits on the canvas (found among the pen strokes) or in an
opened image (found among its pieces of ink): put back into the number ("3.14", "1,5", "10:30", "12-34"); marks
anywhere else (above the line, under one digit, outside the number), dust and faint specks are not."""

from __future__ import annotations

import numpy as np
import pytest

from ml.assets import bundled_model_path
from ml.numbers.reader import read_number
from ml.numbers.separators import Separator, find_image_separators, find_separators, placed, with_separators
from ml.preprocess.pipeline import find_ink
from tests.ml.numbers.pen import written


def found(text: str, **kwargs) -> tuple[str, int, int]:
    """The marks found in ``text`` as written, and how many strokes were drawn and left for the digits."""
    image, strokes = written(text, **kwargs)
    ink = (255.0 - image.astype(np.float32)) / 255.0
    separators, kept = find_separators(ink, strokes)
    return "".join(separator.mark for separator in separators), len(strokes), len(kept)


WRITTEN = [("3.14", "."), ("12.50", "."), ("1,5", ","), ("10:30", ":"), ("6.12.26", ".."), ("12-34", "-")]


@pytest.mark.parametrize("text, marks", WRITTEN)
def test_points_commas_and_colons_between_digits_are_found_and_taken_from_the_digits(text, marks):
    for pen in (8.0, 12.0, 20.0):
        got, drawn, kept = found(text, pen=pen)
        assert got == marks
        assert drawn - kept == len(marks) + marks.count(":")  # a colon is two taps


@pytest.mark.parametrize("text", ["2026", "3'14", "314.", ".314"])
def test_marks_that_stand_elsewhere_are_left_to_the_digits(text):
    got, drawn, kept = found(text)
    assert got == "" and kept == drawn


def found_in_image(image: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """The marks found in an opened image, its ink for the digits and its ink as the preprocessing left it."""
    ink = find_ink(image)
    separators, digits = find_image_separators(ink.soft_ink, ink.with_specks)
    return "".join(separator.mark for separator in separators), digits, ink.soft_ink


@pytest.mark.parametrize("text, marks", WRITTEN)
def test_marks_between_digits_are_found_in_an_opened_image_and_taken_from_the_digits(text, marks):
    for pen in (8.0, 12.0, 20.0):
        image, _ = written(text, pen=pen)
        got, digits, ink = found_in_image(image)
        assert got == marks, (text, pen)
        if marks in ("-",):  # a dash is no speck: the preprocessing kept it, and it is taken from the digits
            assert digits.sum() < ink.sum()


@pytest.mark.parametrize("text", ["2026", "3'14", "314.", ".314"])
def test_marks_that_stand_elsewhere_in_an_opened_image_are_left_to_the_digits(text):
    image, _ = written(text)
    got, digits, ink = found_in_image(image)
    assert got == "" and np.array_equal(digits, ink)


def dotted(image: np.ndarray, x: int, y: int, radius: int, gray: int) -> np.ndarray:
    """``image`` with a round dot of ``gray`` (0 black) at (x, y)."""
    rows, columns = np.ogrid[: image.shape[0], : image.shape[1]]
    return np.where((rows - y) ** 2 + (columns - x) ** 2 <= radius**2, np.uint8(gray), image)


def test_dust_and_faint_specks_between_digits_are_no_point():
    image, _ = written("314")  # pen 12: the "3"'s ink ends at x 75, the "1"'s starts at 103
    assert found_in_image(image)[0] == ""
    assert found_in_image(dotted(image, 89, 125, 6, 0))[0] == "."  # a dot as wide as the pen is a point
    assert found_in_image(dotted(image, 89, 125, 1, 0))[0] == ""  # dust: a fifth of the pen's width
    assert found_in_image(dotted(image, 89, 125, 6, 200))[0] == ""  # a faint grey speck on the paper


def test_a_page_of_dots_between_the_digits_is_no_punctuation():
    image, _ = written("3.14")
    assert found_in_image(image)[0] == "."
    for x in (84, 120, 134, 172, 188):  # dots as wide as the pen all along the line: a pattern, or the paper's
        image = dotted(image, x, 127, 6, 0)
    assert found_in_image(image)[0] == ""


def test_a_tap_at_mid_height_alone_is_no_point():
    assert found("3.14", mark_height=0.5)[0] == ""


def test_the_marks_go_back_between_the_digits_they_stand_between():
    point = Separator(".", 35.0, (80, 30, 10, 10))
    colon = Separator(":", 75.0, (60, 70, 30, 10))
    assert with_separators("3145", placed([point, colon], [10.0, 50.0, 60.0, 90.0])) == "3.14:5"
    assert with_separators("7", placed([point], [10.0])) == "7"
    assert placed([point], [50.0, 60.0]) == ()  # before the first digit read: no punctuation of the number
    assert placed([point, Separator(".", 40.0, (80, 38, 10, 10))], [10.0, 50.0]) == ()  # two in one gap: neither


@pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")
def test_a_number_written_with_a_point_a_comma_or_a_colon_reads_with_it():
    from ml.doubt.verdict import DoubtJudge
    from ml.inference.predictor import Predictor
    from ml.models.files import load_model

    loaded = load_model(bundled_model_path())
    predictor, judge = Predictor(loaded), DoubtJudge(loaded)
    for text in ("3.14", "10:30", "12-34", "2,5"):
        image, strokes = written(text)
        reading = read_number(image, predictor, strokes=strokes, judge=judge)
        assert reading.number == text, (text, reading.number, reading.reason)
        assert len(reading.digits) == sum(character.isdigit() for character in text)  # the marks are no digits
    record = reading.as_dict()  # "2,5": the comma's box lies between the two digits' boxes
    (comma,) = record["separators"]
    first, second = (digit["box"] for digit in record["digits"])
    assert comma["mark"] == "," and first[0] + first[2] <= comma["box"][0] < second[0]
    image, strokes = written("314")
    assert "separators" not in read_number(image, predictor, strokes=strokes, judge=judge).as_dict()


@pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")
def test_an_opened_image_of_a_number_with_marks_reads_with_them_and_their_boxes_in_its_pixels():
    from ml.doubt.verdict import DoubtJudge
    from ml.inference.predictor import Predictor
    from ml.models.files import load_model

    loaded = load_model(bundled_model_path())
    predictor, judge = Predictor(loaded), DoubtJudge(loaded)
    for text in ("3.14", "10:30", "12-34"):
        reading = read_number(written(text)[0], predictor, judge=judge)
        assert reading.number == text, (text, reading.number, reading.reason)
    image = np.kron(written("2,5")[0], np.ones((8, 8), dtype=np.uint8))  # 1,280 x 1,248: reduced for work
    record = read_number(image, predictor, judge=judge).as_dict()
    assert record["number"] == "2,5"
    (comma,) = record["separators"]
    first, second = (digit["box"] for digit in record["digits"])
    assert first[0] + first[2] <= comma["box"][0] < comma["box"][0] + comma["box"][2] <= second[0]
    assert 8 * 12 * 0.6 <= comma["box"][2] <= 8 * 40  # in the input's pixels: the pen's 12 px, eight times
