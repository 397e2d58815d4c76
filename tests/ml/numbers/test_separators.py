"""Points, commas, colons and dashes drawn between the digits on the canvas: found among the pen strokes, put back
into the number ("3.14", "1,5", "10:30", "12-34"); marks anywhere else (above the line, under one digit, outside the
number) are not."""

from __future__ import annotations

import numpy as np
import pytest

from ml.assets import bundled_model_path
from ml.numbers.reader import read_number
from ml.numbers.separators import Separator, find_separators, placed, with_separators
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


def test_a_tap_at_mid_height_alone_is_no_point():
    assert found("3.14", mark_height=0.5)[0] == ""


def test_the_marks_go_back_between_the_digits_they_stand_between():
    point = Separator(".", 35.0, (80, 30, 10, 10))
    colon = Separator(":", 75.0, (60, 70, 30, 10))
    assert with_separators("3145", placed([point, colon], [10.0, 50.0, 60.0, 90.0])) == "3.14:5"
    assert with_separators("7", placed([point], [10.0])) == "7"


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
