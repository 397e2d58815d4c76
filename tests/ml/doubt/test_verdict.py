"""The not-a-digit verdict: shapes, scribbles and letters refused and MNIST test accepted by the bundled model's
fitted decision; "unsure" between two close classes; the default for a model without a fitted decision."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ml.assets import bundled_model_path
from ml.doubt.drawing import draw_strokes, read_as_window
from ml.doubt.verdict import DIGIT, NOT_A_DIGIT, UNSURE, DoubtJudge, Verdict
from ml.models.metadata import ModelMetadata

needs_bundled = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")

# The tests' own drawings (unit-square strokes, drawn 24 px wide on the 280 px canvas as the window's pen does).
SQUARE = [[(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9), (0.1, 0.1)]]
STAR = [[(0.5, 0.0), (0.62, 0.38), (1.0, 0.38), (0.69, 0.6), (0.8, 1.0), (0.5, 0.75), (0.2, 1.0), (0.31, 0.6),
         (0.0, 0.38), (0.38, 0.38), (0.5, 0.0)]]  # fmt: skip
TRIANGLE_IN_BOX = [[(0.5, 0.05), (0.95, 0.95), (0.05, 0.95), (0.5, 0.05)], [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]]
SCRIBBLE = [[(0.1, 0.5), (0.3, 0.1), (0.45, 0.9), (0.6, 0.15), (0.75, 0.85), (0.9, 0.2), (0.2, 0.3), (0.85, 0.7)]]
LOOPS = [[(0.0, 0.6), (0.15, 0.2), (0.25, 0.6), (0.1, 0.5), (0.4, 0.6), (0.55, 0.2), (0.65, 0.6), (0.5, 0.5),
          (0.8, 0.6), (0.95, 0.2), (1.0, 0.6)]]  # fmt: skip
LETTER_A = [[(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)], [(0.2, 0.6), (0.8, 0.6)]]
LETTER_H = [[(0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (1.0, 1.0)], [(0.0, 0.5), (1.0, 0.5)]]
LETTER_M = [[(0.0, 1.0), (0.0, 0.0), (0.5, 0.6), (1.0, 0.0), (1.0, 1.0)]]
NON_DIGITS = {
    "square": SQUARE,
    "star": STAR,
    "triangle in a box": TRIANGLE_IN_BOX,
    "scribble": SCRIBBLE,
    "loops": LOOPS,
    "A": LETTER_A,
    "H": LETTER_H,
    "M": LETTER_M,
}


def drawn(strokes, width: float = 22.0) -> np.ndarray:
    image = read_as_window(draw_strokes(strokes, width, box=(50, 40, 180, 200), smooth=False))
    assert image is not None
    return image


@pytest.fixture(scope="module")
def bundled():
    from ml.inference.predictor import Predictor
    from ml.models.files import load_model

    loaded = load_model(bundled_model_path())
    return loaded, Predictor(loaded), DoubtJudge(loaded)


@needs_bundled
def test_the_bundled_model_carries_a_fitted_decision(bundled):
    loaded, _, judge = bundled
    assert judge.calibrated
    assert judge.settings.uses_probabilities and judge.settings.uses_detector
    assert "fitted for this model" in judge.description and "detector" in judge.description
    assert loaded.metadata.doubt["rates"]["validation digits"] <= 0.005


@needs_bundled
def test_shapes_scribbles_and_letters_are_refused_with_a_reason(bundled):
    _, predictor, judge = bundled
    images = np.stack([drawn(strokes) for strokes in NON_DIGITS.values()])
    verdicts = judge.judge_batch(images, predictor.predict_batch(images))
    refused = [name for name, verdict in zip(NON_DIGITS, verdicts, strict=True) if verdict.status == NOT_A_DIGIT]
    assert len(refused) >= 6, f"only {refused} refused"
    for verdict in verdicts:
        if verdict.refused:
            assert verdict.reason and verdict.score >= verdict.threshold
            assert 0 <= verdict.prediction <= 9  # the top guess is still there, to show greyed out


@needs_bundled
def test_mnist_test_digits_are_accepted_and_those_accepted_are_right(bundled):
    from ml.data.datasets import load_mnist

    _, predictor, judge = bundled
    mnist = load_mnist()
    images = mnist.x_test[:2000].reshape(-1, 28, 28)
    labels = mnist.y_test[:2000]
    probabilities = predictor.predict_batch(images)
    verdicts = judge.judge_batch(images, probabilities)
    refused = np.array([verdict.refused for verdict in verdicts])
    assert refused.mean() <= 0.01
    right = probabilities.argmax(axis=1) == labels
    assert right[~refused].mean() >= 0.994
    assert right[~refused].mean() >= right.mean() - 0.001  # refusing odd digits costs at most 0.1 point


def noise_in_a_digits_box(count: int = 20) -> np.ndarray:
    """Noise in the 20x20 box a digit fills, black round it, as a model's own 28x28 (an evaluation set can hold it):
    the detector alone accepts about half of such frames."""
    rng = np.random.default_rng(11)
    inside = np.zeros((28, 28))
    inside[4:24, 4:24] = 1.0
    kinds = [
        lambda: rng.random((28, 28)),
        lambda: (rng.random((28, 28)) < 0.3).astype(float),
        lambda: np.clip(rng.normal(0.5, 0.3, (28, 28)), 0, 1),
        lambda: np.kron(rng.random((10, 10)), np.ones((3, 3)))[:28, :28],
    ]
    return np.stack([kinds[index % len(kinds)]() * inside for index in range(count)]).astype(np.float32)


@needs_bundled
def test_noise_in_a_digits_box_is_refused(bundled):
    _, predictor, judge = bundled
    frames = noise_in_a_digits_box()
    verdicts = judge.judge_batch(frames, predictor.predict_batch(frames))
    assert np.mean([verdict.refused for verdict in verdicts]) >= 0.95


def bars_and_strokes_of_one() -> np.ndarray:
    """A "1" as a plain bar (a bold font's), from thin to squat, and drawn with a pen of every width."""
    from ml.preprocess.pipeline import to_mnist

    images = []
    for width in (6, 16, 26, 34, 44):
        for height in (120, 200):
            canvas = np.ones((280, 280), np.float32)
            canvas[140 - height // 2 : 140 + height // 2, 140 - width // 2 : 140 + width // 2] = 0.0
            images.append(to_mnist(canvas).image)
    for width in (8, 22, 40):
        images += [drawn([[(0.5, 0.0), (0.5, 1.0)]], width), drawn([[(0.3, 0.2), (0.55, 0.0), (0.55, 1.0)]], width)]
    return np.stack(images)


@needs_bundled
def test_a_one_as_a_plain_bar_or_a_stroke_of_any_width_is_a_digit(bundled):
    """Noise cut to a box can look like a bold bar: the decisions that learnt noise must still take a "1"."""
    _, predictor, judge = bundled
    images = bars_and_strokes_of_one()
    probabilities = predictor.predict_batch(images)
    assert (probabilities.argmax(axis=1) == 1).all()
    for decision in (judge, DoubtJudge(digit_card())):
        assert not any(verdict.refused for verdict in decision.judge_batch(images, probabilities))


def digit_card() -> SimpleNamespace:
    return SimpleNamespace(metadata=ModelMetadata())


def test_close_classes_are_unsure_and_name_both():
    judge = DoubtJudge(digit_card())
    image = drawn([[(0.6, 0.0), (0.1, 0.65), (0.9, 0.65)], [(0.65, 0.3), (0.65, 1.0)]])  # a 4
    probabilities = np.full(10, 0.05 / 8)
    probabilities[4], probabilities[9] = 0.55, 0.40
    verdict = judge.judge(image, probabilities)
    assert verdict.status == UNSURE and (verdict.prediction, verdict.runner_up) == (4, 9)
    assert verdict.headline() == "unsure: 4 or 9"
    probabilities[4], probabilities[9] = 0.93, 0.02
    assert judge.judge(image, probabilities).status == DIGIT


def test_a_model_without_a_fitted_decision_gets_the_default_and_says_uncalibrated():
    judge = DoubtJudge(digit_card())
    assert not judge.calibrated and judge.settings.uses_detector  # the detector suits any digit model
    assert "uncalibrated" in judge.description
    noise = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    confident = np.eye(10)[0] * 0.98 + 0.002
    verdict = judge.judge(noise, confident)
    assert verdict.status == NOT_A_DIGIT and not verdict.calibrated
    assert "noise" in verdict.reason
    undecided = np.full(10, 0.1)
    assert judge.judge(drawn(LETTER_A), undecided).reason is not None
    frames = noise_in_a_digits_box()
    verdicts = judge.judge_batch(frames, np.eye(10)[[0] * len(frames)] * 0.98 + 0.002)
    assert np.mean([verdict.refused for verdict in verdicts]) >= 0.95


def test_the_default_with_the_detector_refuses_shapes_for_any_digit_model_and_accepts_mnist_test():
    from ml.data.datasets import load_mnist

    judge = DoubtJudge(digit_card())  # a tutorial's model: no fitted decision, and sure of everything
    images = np.stack([drawn(strokes) for strokes in NON_DIGITS.values()])
    sure = np.eye(10)[[3] * len(images)] * 0.98 + 0.002
    refused = [
        name for name, verdict in zip(NON_DIGITS, judge.judge_batch(images, sure), strict=True) if verdict.refused
    ]
    assert len(refused) >= 7, f"only {refused} refused"
    mnist = load_mnist()
    digits = mnist.x_test[:1000].reshape(-1, 28, 28)
    verdicts = judge.judge_batch(digits, np.eye(10)[mnist.y_test[:1000]] * 0.98 + 0.002)
    assert np.mean([verdict.refused for verdict in verdicts]) <= 0.01


def test_a_model_of_other_classes_gets_only_the_confidence_floor():
    card = SimpleNamespace(metadata=ModelMetadata(class_names=["shirt", "shoe", "bag"]))
    judge = DoubtJudge(card)
    assert judge.settings is None and not judge.calibrated
    image = np.zeros((28, 28), np.float32)
    assert judge.judge(image, np.array([0.4, 0.35, 0.25])).status == NOT_A_DIGIT
    assert judge.judge(image, np.array([0.9, 0.05, 0.05])).status == DIGIT


def test_a_damaged_doubt_entry_falls_back_to_the_default():
    card = SimpleNamespace(metadata=ModelMetadata(doubt={"version": 1, "features": ["nonsense"], "threshold": 0.5}))
    judge = DoubtJudge(card)
    assert not judge.calibrated and judge.settings is not None


def test_verdicts_are_plain_data():
    judge = DoubtJudge(digit_card())
    verdict = judge.judge(drawn(SQUARE), np.eye(10)[3])
    data = verdict.as_dict()
    assert set(data) == {
        "status",
        "prediction",
        "runner_up",
        "confidence",
        "score",
        "threshold",
        "reason",
        "calibrated",
    }
    assert Verdict(**data) == verdict
    with pytest.raises(ValueError):
        judge.judge_batch(np.zeros((2, 28, 28)), np.zeros((3, 10)))


def test_an_uncalibrated_models_undecided_guess_at_a_clean_digit_says_the_model_cannot_tell():
    """The input checks accept MNIST's first test digit (a 7 with soft grey edges); only the model's own doubt
    (top guess 26 %) refuses it, so the reason is that, not "noise or scattered specks"."""
    from ml.data.sources import read_mnist_arrays
    from ml.doubt.verdict import REASON_UNDECIDED
    from ml.preprocess.pipeline import to_mnist

    seven = to_mnist(read_mnist_arrays()["x_test"][0].astype(np.float32) / 255.0).image
    undecided = np.full(10, 0.082)
    undecided[7] = 0.262
    verdict = DoubtJudge(digit_card()).judge(seven, undecided / undecided.sum())
    assert verdict.status == NOT_A_DIGIT and verdict.reason == REASON_UNDECIDED
