"""A dot set apart above or below the stroke ("!", "?", "i", "j", ";"): found on the tests' own drawings, not found in
digits (MNIST test, a dotted zero, broken strokes), and refused by the verdict of a digit model only."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ml.doubt.drawing import draw_strokes, read_as_window
from ml.doubt.marks import detached_dot
from ml.doubt.verdict import DIGIT, NOT_A_DIGIT, REASON_DOT, DoubtJudge
from ml.models.metadata import ModelMetadata
from ml.preprocess.pipeline import to_mnist


def dot(x: float, y: float) -> list[tuple[float, float]]:
    """A tap of the pen: a stroke a hair long."""
    return [(x, y), (x + 0.005, y + 0.005)]


# The tests' own drawings, in the unit square (x right, y down).
DOTTED = {
    "!": [[(0.5, 0.0), (0.5, 0.7)], dot(0.5, 0.97)],
    "?": [[(0.15, 0.2), (0.4, 0.0), (0.8, 0.05), (0.85, 0.3), (0.5, 0.5), (0.5, 0.68)], dot(0.5, 0.97)],
    "i": [[(0.5, 0.32), (0.5, 1.0)], dot(0.5, 0.03)],
    "j": [[(0.6, 0.32), (0.6, 0.85), (0.45, 1.0), (0.2, 0.95)], dot(0.6, 0.03)],
    ";": [dot(0.5, 0.1), [(0.52, 0.62), (0.42, 1.0)]],
}
DIGITS_IN_PIECES = {
    "zero with a dot inside": [
        [(0.5, 0.0), (0.1, 0.25), (0.1, 0.75), (0.5, 1.0), (0.9, 0.75), (0.9, 0.25), (0.5, 0.0)],
        dot(0.5, 0.5),
    ],
    "five, its bar apart": [
        [(0.2, 0.12), (0.15, 0.45), (0.6, 0.4), (0.9, 0.7), (0.6, 1.0), (0.1, 0.9)],
        [(0.4, 0.0), (0.95, 0.0)],
    ],
    "seven, its bar apart": [[(0.0, 0.0), (1.0, 0.0), (0.4, 1.0)], [(0.25, 0.55), (0.75, 0.55)]],
    "nine, its tail broken off": [
        [(0.85, 0.25), (0.5, 0.0), (0.12, 0.22), (0.45, 0.48), (0.85, 0.25), (0.83, 0.7)],
        [(0.82, 0.8), (0.8, 1.0)],
    ],
    "four in two strokes": [[(0.6, 0.0), (0.05, 0.65), (0.95, 0.65)], [(0.72, 0.3), (0.72, 1.0)]],
}


def drawn(strokes, width: float) -> np.ndarray:
    image = read_as_window(draw_strokes(strokes, width, box=(70, 30, 140, 220), smooth=False))
    assert image is not None
    return image


@pytest.mark.parametrize("width", [6, 10, 14, 18, 22, 30])  # under 18 px a "?"'s dot was dropped as a speck
@pytest.mark.parametrize("name", list(DOTTED))
def test_a_dot_apart_above_or_below_the_stroke_is_found(name, width):
    assert detached_dot(drawn(DOTTED[name], width))  # opened as an image


@pytest.mark.parametrize("width", [6, 10, 14])
@pytest.mark.parametrize("name", list(DOTTED))
def test_on_the_canvas_a_thin_pens_tap_is_no_speck_and_the_dot_is_found(name, width):
    canvas = draw_strokes(DOTTED[name], width, box=(70, 30, 140, 220), smooth=False)
    assert detached_dot(to_mnist(canvas, canvas=True).image)  # "?" read as a sure 7 at 6-14 px: its tap dropped


@pytest.mark.parametrize("name", list(DIGITS_IN_PIECES))
def test_digits_in_pieces_hold_no_such_dot(name):
    for width in (14, 22, 30, 40):
        assert not detached_dot(drawn(DIGITS_IN_PIECES[name], width))


def test_the_dot_must_lie_over_the_stroke_not_beside_it():
    full_stop = [[(0.2, 0.0), (0.2, 1.0)], dot(0.9, 0.97)]  # "1." : the dot sits on the line, beside the stroke
    assert not detached_dot(drawn(full_stop, 22))


def test_mnist_test_digits_hold_no_such_dot():
    from ml.data.datasets import load_mnist

    images = load_mnist().x_test[:2000].reshape(-1, 28, 28)
    assert not any(detached_dot(image) for image in images)


def test_a_digit_models_verdict_refuses_a_dotted_drawing_whatever_its_score():
    judge = DoubtJudge(SimpleNamespace(metadata=ModelMetadata()))
    sure_one = np.eye(10)[1]  # the model is sure it is a "1"
    verdict = judge.judge(drawn(DOTTED["!"], 22), sure_one)
    assert verdict.status == NOT_A_DIGIT and verdict.reason == REASON_DOT
    assert verdict.score == 1.0 >= verdict.threshold
    assert judge.judge(drawn([[(0.5, 0.0), (0.5, 1.0)]], 22), sure_one).status == DIGIT  # the same "1" without it


def test_the_dot_is_looked_for_in_the_dot_images_when_given():
    judge = DoubtJudge(SimpleNamespace(metadata=ModelMetadata()))
    sure_ones = np.stack([np.eye(10)[1]] * 2)
    dotted, stem = drawn(DOTTED["!"], 22), drawn([[(0.5, 0.0), (0.5, 1.0)]], 22)
    shown, looked_in = np.stack([stem, dotted]), np.stack([dotted, stem])  # a number's part: its view, its 28x28
    verdicts = judge.judge_batch(shown, sure_ones, dot_images=looked_in)
    assert [verdict.reason == REASON_DOT for verdict in verdicts] == [True, False]
    statuses = [verdict.status for verdict in judge.judge_batch(shown, sure_ones, marks=[False, True])]
    assert statuses == [DIGIT, NOT_A_DIGIT]  # without them, in the images judged


def test_a_model_of_other_classes_is_not_judged_by_the_rule():
    judge = DoubtJudge(SimpleNamespace(metadata=ModelMetadata(class_names=["shirt", "shoe", "bag"])))
    assert judge.judge(drawn(DOTTED["!"], 22), np.array([0.9, 0.05, 0.05])).status == DIGIT
