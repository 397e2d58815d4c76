"""The model thread's number reading: the cheap check that keeps a lone digit's path as it was, and plain data."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from app.models.number_reading import NumberReader, may_hold_several_digits
from tests.ml.numbers.pen import PenStroke, draw_number, written


def test_one_digit_drawn_in_one_or_two_strokes_is_not_read_as_a_number():
    for digit in ("1", "4", "5", "7", "8"):
        _, strokes = draw_number(digit)
        assert not may_hold_several_digits(strokes), digit


def test_digits_side_by_side_or_a_wide_scrawl_may_be_a_number():
    _, strokes = draw_number("12")
    assert may_hold_several_digits(strokes)
    wide = [PenStroke(((20.0, 100.0), (120.0, 60.0), (230.0, 110.0)), 12.0)]  # one stroke, far wider than tall
    assert may_hold_several_digits(wide)
    assert may_hold_several_digits(None)  # an opened image: only its pixels tell
    assert not may_hold_several_digits([PenStroke(((10.0, 10.0), (200.0, 10.0)), 20.0, erases=True)])


def test_the_check_costs_next_to_nothing_for_a_lone_digit():
    _, strokes = draw_number("8")
    start = time.perf_counter()
    for _ in range(200):
        may_hold_several_digits(strokes)
    assert (time.perf_counter() - start) / 200 < 0.002  # well under the 1 ms single-digit path's noise


class UniformScorer:
    """0.9 for a "1" when the 28x28's ink is narrow, for a "2" otherwise (no model needed)."""

    class_names = [str(i) for i in range(10)]

    def predict_one(self, image28):
        return self.predict_batch(np.asarray(image28)[np.newaxis])[0]

    def predict_batch(self, images28, batch_size=256, calibrated=True):
        rows = np.full((len(images28), 10), 0.1 / 9)
        for row, image in zip(rows, images28, strict=True):
            columns = np.flatnonzero(image.max(axis=0) > 0.2)
            row[1 if columns[-1] - columns[0] < 9 else 2] = 0.9
        return rows


class Slot:
    predictor = UniformScorer()
    loaded = object()  # no not-a-digit judge can be built for it: numbers are read without refusals


def test_a_number_comes_back_as_plain_data_and_a_lone_digit_as_none():
    reader = NumberReader()
    image, strokes = draw_number("12", [30])
    number = reader.read(Slot(), image.astype(np.float32) / 255, strokes)
    assert number is not None and len(number["digits"]) == 2
    for digit in number["digits"]:
        assert isinstance(digit["box"], tuple) and len(digit["box"]) == 4
        assert digit["image"].shape == (28, 28)
        assert digit["probabilities"].shape == (10,)
        assert isinstance(digit["label"], str) and isinstance(digit["confidence"], float)
        assert all(isinstance(name, str) and isinstance(stage, np.ndarray) for name, stage in digit["stages"])
    assert number["digits"][0]["box"][0] < number["digits"][1]["box"][0]
    image, strokes = draw_number("7")
    assert reader.read(Slot(), image.astype(np.float32) / 255, strokes) is None
    assert reader.read(None, image.astype(np.float32) / 255, strokes) is None


def test_a_drawing_whose_parts_are_not_whole_digits_is_left_to_its_own_verdict(monkeypatch):
    import ml.numbers.reader as number_reader

    image, strokes = draw_number("12", [30])
    read = number_reader.read_number

    def not_a_number(*args, **kwargs):
        reading = read(*args, **kwargs)
        return replace(reading, number=None, reason=number_reader.NOT_A_NUMBER, not_a_number=True)

    monkeypatch.setattr(number_reader, "read_number", not_a_number)
    assert NumberReader().read(Slot(), image.astype(np.float32) / 255, strokes) is None
    monkeypatch.setattr(number_reader, "read_number", read)
    assert NumberReader().read(Slot(), image.astype(np.float32) / 255, strokes) is not None


def test_a_point_between_the_digits_comes_back_with_how_many_digits_stand_before_it():
    image, strokes = written("3.14")
    number = NumberReader().read(Slot(), image.astype(np.float32) / 255, strokes)
    assert number is not None and len(number["digits"]) == 3
    assert number["separators"] == [{"mark": ".", "after": 1}]
    assert number["number"][1] == "." and len(number["number"]) == 4
    image, strokes = written("314")
    assert NumberReader().read(Slot(), image.astype(np.float32) / 255, strokes)["separators"] == []
