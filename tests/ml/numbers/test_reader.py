"""Reading whole numbers with the bundled model: touching digits, lengths, a lone digit as today, refusals, boxes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ml.assets import bundled_model_path
from ml.doubt.templates import LETTERS
from ml.numbers import reader as reader_module
from ml.numbers.reader import (
    JUDGE_INK_RANGE,
    NOT_A_NUMBER,
    NUMBER_PART_THRESHOLD,
    WHOLE_DIGITS_FLOOR,
    judge_view,
    read_number,
)
from ml.preprocess.components import label_components
from ml.preprocess.pipeline import find_ink, render_mnist_on_canvas, to_mnist
from tests.ml.numbers.pen import draw_in_box, draw_number

pytestmark = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")


@pytest.fixture(scope="module")
def predictor():
    from ml.inference.predictor import Predictor
    from ml.models.files import load_model

    return Predictor(load_model(bundled_model_path()))


@pytest.fixture(scope="module")
def judge():
    """The not-a-digit judge, which the window and the CLI read numbers with (it scores the candidate parts too)."""
    from ml.doubt.verdict import DoubtJudge
    from ml.models.files import load_model

    return DoubtJudge(load_model(bundled_model_path()))


def touching(digits: str, index: int) -> np.ndarray:
    """A number whose digits ``index`` and ``index + 1`` are drawn so close that their ink is one piece."""
    for gap in np.arange(0.0, -30.0, -1.0):
        gaps = [20.0] * (len(digits) - 1)
        gaps[index] = float(gap)
        image, _ = draw_number(digits, gaps)
        if label_components(find_ink(image).soft_ink > 0)[1] == len(digits) - 1:
            return image
    raise AssertionError("the digits never touched")


@pytest.mark.parametrize(
    ("digits", "index"),
    [("245", 0), ("803", 1), ("236", 0), ("9284", 1), ("362", 1)],
)  # 245 and 362 were misread before the learned part scorer (the 4 of 24 read as 1); 803 before the path cuts (a
# straight cut left enough of the 0 in the 3 it touches to read as 8)
def test_touching_digits_in_a_number_are_cut_apart_by_recognition(predictor, judge, digits, index):
    reading = read_number(touching(digits, index), predictor, judge=judge)  # from the pixels: one component
    assert reading.number == digits
    assert reading.split
    lefts = [digit.box[0] for digit in reading.digits]
    assert lefts == sorted(lefts)


@pytest.mark.parametrize(("digits", "index"), [("517", 0), ("916", 1), ("3121", 2)])
def test_a_touching_1_is_never_silently_dropped_from_a_number(predictor, judge, digits, index):
    # read "57", "96" and "312" before the part scorer learnt that a part holding most of a second digit is not one
    # whole digit (the 1 is a fifth of the pair's ink); unsplit, the pair now fails the check that parts are whole
    reading = read_number(touching(digits, index), predictor, judge=judge)
    assert reading.number in (digits, None)
    assert reading.number == digits or reading.not_a_number


@pytest.mark.parametrize("digits", ["4521", "2215", "5225"])
def test_digits_far_apart_are_never_joined_into_one(predictor, judge, digits):
    image, strokes = draw_number(digits, [40.0, 30.0, 45.0])  # a narrow "1" or two "2"s a gap apart stay digits
    assert read_number(image, predictor, strokes=strokes, judge=judge).number == digits
    assert read_number(image, predictor, judge=judge).number == digits


@pytest.mark.parametrize("digits", ["12", "705", "4444", "93518", "260416"])
def test_numbers_of_every_length_are_read_by_strokes_and_by_components(predictor, judge, digits):
    gaps = [float(g) for g in np.resize([4, 25, 10, 2, 16], len(digits) - 1)]
    image, strokes = draw_number(digits, gaps, tops=[40 + 12 * (i % 3) for i in range(len(digits))])
    assert read_number(image, predictor, strokes=strokes, judge=judge).number == digits
    assert read_number(image, predictor, judge=judge).number == digits


@pytest.mark.parametrize("tops", [[40, 2, 40], [2, 40, 40]])
def test_a_digit_reaching_the_canvas_edge_stays_in_the_number(predictor, judge, tops):
    """A "7" whose bar ran along the canvas's top edge was dropped as a paper edge: "171" read "11"."""
    image, strokes = draw_number("171", tops=tops)
    assert read_number(image, predictor, strokes=strokes, judge=judge).number == "171"


def test_a_long_row_of_small_digits_is_read_whole_not_cut_short_or_called_blank(predictor, judge):
    """16 MNIST test digits in a 456x36 strip: the first 12 were read and the rest dropped without a word; 20 in a
    568x36 strip were "blank" (each digit under 4 % of the strip's length counted as a speck)."""
    from ml.data.datasets import load_mnist

    mnist = load_mnist(validation_size=0)
    images, labels = mnist.x_test[:20], mnist.y_test[:20]
    strip = np.pad(np.concatenate(list(images.reshape(-1, 28, 28)), axis=1), 4).astype(np.float32)
    strip = strip / strip.max()
    assert strip.shape == (36, 568)
    reading = read_number(strip, predictor, judge=judge)
    assert reading.number == "".join(str(label) for label in labels)


def test_a_number_drawn_on_the_canvas_is_not_searched_for_printed_boxes(predictor, monkeypatch):
    import ml.preprocess.pipeline as pipeline

    searched = []
    real = pipeline.remove_boxes
    monkeypatch.setattr(pipeline, "remove_boxes", lambda ink: searched.append(1) or real(ink))
    image, strokes = draw_number("47", [12.0], tops=[40, 46])
    assert read_number(image, predictor, strokes=strokes).number == "47" and searched == []  # the pen's own strokes
    assert read_number(image, predictor).number == "47" and searched  # an opened image is


def test_a_lone_digit_reads_as_today(predictor):
    images = np.load(bundled_model_path().parents[1] / "data" / "mnist.npz")["x_test"][:40].astype(np.float32) / 255
    for image in images:
        canvas = render_mnist_on_canvas(image)
        reading = read_number(canvas, predictor)
        today = to_mnist(canvas)
        assert len(reading.digits) == 1
        assert np.allclose(reading.digits[0].image28, today.image, atol=1e-5)
        assert reading.digits[0].prediction == int(np.argmax(predictor.predict_one(today.image)))
        assert reading.number == str(reading.digits[0].prediction)


class RefusingJudge:
    """Refuses the part at ``index``."""

    def __init__(self, index: int) -> None:
        self.index = index

    def judge_batch(self, images28, probabilities, *, marks=True, dot_images=None):
        return [
            {
                "status": "not_a_digit" if i == self.index else "digit",
                "reason": "looks like a shape, not a digit",
                "score": 1.0 if i == self.index else 0.0,
                "threshold": 0.99,
                "calibrated": True,
            }
            for i in range(len(images28))
        ]


def test_a_part_that_is_not_a_digit_makes_the_number_unreadable_and_is_named(predictor):
    image, strokes = draw_number("705")
    reading = read_number(image, predictor, strokes=strokes, judge=RefusingJudge(1))
    assert reading.number is None
    assert reading.reason == "part 2 of 3 is not a digit (looks like a shape, not a digit)"
    assert [digit.is_digit for digit in reading.digits] == [True, False, True]
    record = reading.as_dict()
    assert record["number"] is None and record["reason"].startswith("part 2 of 3")
    assert record["digits"][1]["verdict"] == "not_a_digit" and record["digits"][1]["reason"]
    assert set(record["digits"][1]["doubt"]) == {"score", "threshold", "calibrated"}


class RecordingJudge:
    """Says "digit" to everything and keeps the images it was shown, call by call."""

    def __init__(self) -> None:
        self.calls: list[np.ndarray] = []
        self.marks: list[bool] = []

    def judge_batch(self, images28, probabilities, *, marks=True, dot_images=None):
        self.calls.append(np.array(images28))
        self.marks.append(marks)
        return [{"status": "digit", "score": 0.0} for _ in images28]


def test_the_parts_of_a_number_are_judged_with_their_grey_levels_stretched_and_a_lone_digit_as_it_is(predictor):
    low, high = JUDGE_INK_RANGE
    grey = np.array([[[0.0, low, (low + high) / 2, high, 1.0]]], dtype=np.float32)
    assert np.allclose(judge_view(grey), [[[0.0, 0.0, 0.5, 1.0, 1.0]]])
    image, strokes = draw_number("705")
    recording = RecordingJudge()
    reading = read_number(image, predictor, strokes=strokes, judge=recording)
    assert reading.number == "705"
    shown = recording.calls[-1]  # the chosen parts' verdicts
    assert np.allclose(shown, judge_view(np.stack([digit.image28 for digit in reading.digits])))
    assert not np.allclose(shown, np.stack([digit.image28 for digit in reading.digits]))
    assert not any(np.any(marks) for marks in recording.marks[:-1])  # the search's candidates: the dot rule is off
    assert list(recording.marks[-1]) == [True, True, True]  # the parts read, each whole pen strokes: on
    recording = RecordingJudge()
    assert read_number(image, predictor, judge=recording).number == "705"
    assert not np.any(recording.marks[-1])  # an image's parts: a scan's stray mark may lie over a digit
    lone, lone_strokes = draw_number("7")
    recording = RecordingJudge()
    reading = read_number(lone, predictor, strokes=lone_strokes, judge=recording)
    assert np.allclose(recording.calls[-1][0], reading.digits[0].image28)  # a lone digit is judged as today
    assert recording.marks[-1]


@pytest.mark.parametrize("pen", [8, 14, 20])  # 8: the tap was a speck; 20: the judge's view joined dot and stem
def test_an_i_or_an_exclamation_mark_among_digits_on_the_canvas_makes_the_number_unreadable(predictor, judge, pen):
    from tests.ml.doubt.test_marks import DOTTED
    from tests.ml.numbers.pen import PenStroke, digit_strokes, render

    for glyph in ("!", "i"):  # each read as a sure "1" before ("12!" read "121", "2i5" "215")
        strokes = digit_strokes("2", 20, 40, 90, pen) + digit_strokes("5", 180, 40, 90, pen)
        strokes += [PenStroke(tuple((110 + 30 * u, 30 + 110 * v) for u, v in stroke), pen) for stroke in DOTTED[glyph]]
        image = render(strokes, (190, 270))
        reading = read_number(image, predictor, strokes=strokes, judge=judge)  # on the canvas
        assert reading.number is None
        assert reading.reason.startswith("part 2 of 3 is not a digit (a separate dot above or below the stroke")
    image, strokes = draw_number("215")
    assert read_number(image, predictor, strokes=strokes, judge=judge).number == "215"


class ScoringJudge:
    """A calibrated judge that refuses the part at ``index`` (its not-a-digit score ``score``, threshold 0.5)."""

    def __init__(self, index: int, score: float) -> None:
        self.index, self.score = index, score

    def judge_batch(self, images28, probabilities, *, marks=True, dot_images=None):
        verdicts = []
        for i in range(len(images28)):
            refused = i == self.index
            verdicts.append(
                {
                    "status": "not_a_digit" if refused else "digit",
                    "score": self.score if refused else 0.01,
                    "threshold": 0.5,
                    "calibrated": True,
                    "reason": "looks like a shape, not a digit" if refused else None,
                }
            )
        return verdicts


def test_a_part_of_a_number_is_refused_only_at_the_number_parts_operating_point(predictor):
    image, strokes = draw_number("705")
    between = (0.5 + NUMBER_PART_THRESHOLD) / 2
    kept = read_number(image, predictor, strokes=strokes, judge=ScoringJudge(1, between))
    assert kept.number == "705" and all(digit.is_digit for digit in kept.digits)
    assert kept.digits[1].verdict["status"] in ("digit", "unsure") and kept.digits[1].verdict["score"] == between
    alone = read_number(image, predictor, strokes=strokes, judge=ScoringJudge(1, between), part_threshold=None)
    assert alone.number is None  # the judge's own threshold
    refused = read_number(image, predictor, strokes=strokes, judge=ScoringJudge(1, 1.0))
    assert refused.number is None and refused.reason.startswith("part 2 of 3 is not a digit")


def test_a_letter_drawn_in_a_number_makes_it_unreadable_with_the_real_judge(predictor, judge):
    image, strokes = draw_number("1X2")
    for reading in (
        read_number(image, predictor, strokes=strokes, judge=judge),
        read_number(image, predictor, judge=judge),
    ):
        assert reading.number is None
        assert reading.reason.startswith("part 2 of 3 is not a digit")
        assert [digit.is_digit for digit in reading.digits] == [True, False, True]


@pytest.mark.parametrize(
    "drawing",
    ["M", "N", "A", "h", "k", "w", "U", "zigzag"],
)  # each read as a number before the check: "14", "14", "47", "47", "15", "1111", "11", "111111"; the "N" is now
# refused whole, as one drawing, by the detector's two networks
def test_a_letter_or_a_scribble_is_never_read_as_a_number_whole_or_cut_into_pieces(predictor, judge, drawing):
    zigzag = [[(i / 6, float(i % 2)) for i in range(7)]]
    image, strokes = draw_in_box(zigzag if drawing == "zigzag" else LETTERS[drawing])
    readings = (
        read_number(image, predictor, strokes=strokes, judge=judge),  # as the canvas reads it
        read_number(image, predictor, judge=judge),  # as an opened image
    )
    for reading in readings:
        assert reading.number is None
        if len(reading.digits) == 1:  # read whole, as one drawing: the judge refuses it
            assert not reading.digits[0].is_digit and reading.reason.startswith("part 1 of 1 is not a digit")
            continue
        assert reading.not_a_number and reading.reason == NOT_A_NUMBER
        assert reading.wholeness < WHOLE_DIGITS_FLOOR
        assert reading.as_dict()["reason"] == NOT_A_NUMBER and len(reading.as_dict()["digits"]) >= 2


def test_an_x_drawn_wide_on_the_canvas_is_not_a_number_its_crossing_strokes_cut_apart(predictor, judge, monkeypatch):
    x = [  # a held-out hand's "x", 400x198 px on the wide canvas
        [(0.13, 0.322), (0.368, 0.52), (0.598, 0.724), (0.823, 0.929)],
        [(0.914, 0.292), (0.651, 0.537), (0.407, 0.785), (0.145, 1.038)],
    ]
    image, strokes = draw_in_box(x, (42, 60, 400, 198), pen=18.7, shape=(280, 840))
    reading = read_number(image, predictor, strokes=strokes, judge=judge)  # cut, it fails the check; read whole again,
    assert len(reading.digits) == 1 and not reading.digits[0].is_digit  # the judge names it as not a digit
    assert reading.number is None and reading.reason.startswith("part 1 of 1 is not a digit")
    monkeypatch.setattr(reader_module, "_names_a_refused_part", lambda reading: False)  # the cut reading itself:
    reading = read_number(image, predictor, strokes=strokes, judge=judge)
    assert [digit.label for digit in reading.digits] == ["7", "5"]
    assert reading.wholeness < WHOLE_DIGITS_FLOOR  # the part scorer, which learnt drawings' pieces, sees the halves
    assert reading.not_a_number and reading.number is None and reading.reason == NOT_A_NUMBER
    monkeypatch.setattr(reader_module, "WHOLE_DIGITS_FLOOR", -np.inf)  # the crossing strokes alone say so too
    reading = read_number(image, predictor, strokes=strokes, judge=judge)
    assert reading.not_a_number and reading.number is None and reading.reason == NOT_A_NUMBER
    image, pen = draw_number("75", [20])  # a 7 and a 5 written side by side share no stroke
    assert read_number(image, predictor, strokes=pen, judge=judge).number == "75"


def test_reading_again_uncut_names_a_refused_part_but_never_makes_a_number(predictor, judge, monkeypatch):
    image = touching("245", 0)  # read "245" with the 2 and the 4 cut apart (a test above)
    monkeypatch.setattr(reader_module, "WHOLE_DIGITS_FLOOR", np.inf)  # every reading of several parts fails the check
    reading = read_number(image, predictor, judge=judge)
    assert reading.number is None
    assert reading.not_a_number or any(not digit.is_digit for digit in reading.digits)
    uncut = []
    monkeypatch.setattr(reader_module, "_names_a_refused_part", lambda reading: uncut.append(reading))
    assert read_number(image, predictor, judge=judge).not_a_number  # what the second reading finds is not taken
    assert len(uncut) == 1 and not uncut[0].split  # read again once, the 2 and the 4 one piece, uncut


def test_numbers_drawn_or_touching_pass_the_check_that_their_parts_are_whole_digits(predictor, judge):
    image, strokes = draw_number("2026", [30, 12, 20])
    for reading in (
        read_number(image, predictor, strokes=strokes, judge=judge),
        read_number(touching("9284", 1), predictor, judge=judge),
    ):
        assert not reading.not_a_number and reading.number in ("2026", "9284")
        assert WHOLE_DIGITS_FLOOR < reading.wholeness <= 0.0


def test_blank_paper_has_no_number(predictor):
    reading = read_number(np.full((120, 300), 240, dtype=np.uint8), predictor)
    assert reading.blank and reading.number is None and reading.digits == ()


def test_boxes_are_in_the_input_images_pixels_even_when_it_is_reduced_for_work(predictor):
    image, strokes = draw_number("38", [30])
    small = read_number(image, predictor)
    big_image = np.asarray(Image.fromarray(image).resize((image.shape[1] * 4, image.shape[0] * 4)))
    assert max(big_image.shape) > 1024  # worked on at a quarter of its size or so
    big = read_number(big_image, predictor)
    assert small.number == big.number == "38"
    for small_digit, big_digit in zip(small.digits, big.digits, strict=True):
        assert np.allclose(np.array(big_digit.box) / 4, small_digit.box, atol=3)
    xs = [x for stroke in strokes[:1] for x, _ in stroke.points]
    x, _, width, _ = small.digits[0].box
    assert x <= min(xs) and x + width >= max(xs)  # the 3's box holds its stroke


def test_a_model_whose_classes_are_not_digits_reads_no_number(predictor):
    class Named:
        class_names = [f"class {i}" for i in range(10)]

        def predict_one(self, image28):
            return predictor.predict_one(image28)

        def predict_batch(self, images28, batch_size=256, calibrated=True):
            return predictor.predict_batch(images28)

    image, strokes = draw_number("12")
    reading = read_number(image, Named(), strokes=strokes)
    assert reading.number is None and reading.reason == "this model's classes are not digits"
    assert [digit.label for digit in reading.digits] == ["class 1", "class 2"]
