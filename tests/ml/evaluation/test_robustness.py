"""Robustness curves: the neutral level equals the plain accuracy; each transform does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from ml.evaluation.calibration import apply_temperature, expected_calibration_error
from ml.evaluation.robustness import (
    LEVELS,
    NEUTRAL,
    accuracy_curves,
    ece_curves,
    robustness_curves,
    robustness_sweep,
    transform,
)
from ml.evaluation.run import EvaluationStopped, evaluate, score_set
from ml.evaluation.sets import load_evaluation_set
from tests.ml.evaluation.tiny import tiny_digit_model


@pytest.fixture(scope="module")
def tiny():
    return tiny_digit_model()


@pytest.fixture(scope="module")
def mnist_sample(tiny):
    full = load_evaluation_set("mnist-test", tiny)
    return full.subset(np.arange(300))


def test_robustness_at_zero_equals_the_plain_accuracy(tiny, mnist_sample):
    plain = evaluate(tiny, mnist_sample).report.accuracy
    seen = []
    curves = robustness_curves(tiny, mnist_sample, progress=lambda done, total: seen.append((done, total)))
    assert set(curves) == set(LEVELS)
    for kind, points in curves.items():
        assert [level for level, _ in points] == list(LEVELS[kind])
        assert dict(points)[NEUTRAL[kind]] == plain
        assert all(0.0 <= accuracy <= 1.0 for _, accuracy in points)
    assert dict(curves["rotation"])[45.0] < plain - 0.1  # a 45° turn hurts a small CNN
    assert dict(curves["noise"])[0.5] < plain
    assert seen[-1][0] == seen[-1][1] and all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))


def test_the_sweep_measures_calibration_under_shift_too(tiny, mnist_sample):
    tiny.metadata.temperature = 1.7
    try:
        plain = evaluate(tiny, mnist_sample).report
        sweep = robustness_sweep(tiny, mnist_sample, kinds=("noise",))
        noisy = score_set(tiny, mnist_sample, pixels=transform(mnist_sample.pixels, "noise", 0.5))
    finally:
        tiny.metadata.temperature = None
    points = {point.level: point for point in sweep["noise"]}
    assert points[0.0].accuracy == plain.accuracy
    assert points[0.0].ece == pytest.approx(plain.ece_calibrated)  # the probabilities shown, with the temperature
    shown = apply_temperature(noisy, 1.7)
    assert points[0.5].ece == pytest.approx(expected_calibration_error(shown, mnist_sample.labels))
    assert points[0.5].ece != pytest.approx(expected_calibration_error(noisy, mnist_sample.labels))
    assert accuracy_curves(sweep)["noise"][0] == (0.0, plain.accuracy)
    assert ece_curves(sweep)["noise"][0] == (0.0, points[0.0].ece)


def test_a_sample_sweep_and_a_stop(tiny, mnist_sample):
    curves = robustness_curves(tiny, mnist_sample, kinds=("shift",), sample=50)
    assert list(curves) == ["shift"]
    with pytest.raises(EvaluationStopped):
        robustness_curves(tiny, mnist_sample, kinds=("rotation",), should_stop=lambda: True)
    with pytest.raises(ValueError):
        robustness_curves(tiny, mnist_sample, kinds=("blur",))


def bar(size=28):
    image = np.zeros((1, size, size, 1), np.float32)
    image[0, 8:20, 13:15, 0] = 1.0  # a vertical stroke, two pixels wide
    return image


def test_transforms_move_thicken_thin_and_noise_the_strokes():
    image = bar()
    columns = np.arange(28)
    centre = lambda pixels: float((pixels[0, ..., 0].sum(axis=0) * columns).sum() / pixels.sum())  # noqa: E731
    assert centre(transform(image, "shift", 4.0)) == pytest.approx(centre(image) + 4.0, abs=0.1)
    rotated = transform(image, "rotation", 90.0)
    assert rotated[0, ..., 0].sum(axis=1).max() > image[0, ..., 0].sum(axis=1).max()  # now a horizontal bar
    assert transform(image, "thickness", 1.0).sum() > image.sum() > transform(image, "thickness", -0.5).sum()
    assert transform(image, "thickness", 2.0).sum() > transform(image, "thickness", 1.0).sum()
    assert transform(image, "scale", 1.4).sum() > image.sum() > transform(image, "scale", 0.6).sum()
    noisy = transform(image, "noise", 0.3)
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0 and not np.array_equal(noisy, image)
    for kind, level in NEUTRAL.items():
        np.testing.assert_array_equal(transform(image, kind, level), image)
