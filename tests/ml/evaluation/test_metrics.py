"""Accuracy and its Wilson interval, top-2, per-class figures, the confusion matrix, galleries' indices, --json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.evaluation.metrics import (
    cell_indices,
    class_figures,
    evaluate_probabilities,
    mistakes,
    top_k_accuracy,
    wilson_interval,
)
from ml.evaluation.run import evaluation_from_probabilities
from ml.evaluation.sets import EvaluationSet

JSON_KEYS = {"n", "accuracy", "accuracy_ci95", "top2_accuracy", "per_class", "confusion", "ece", "temperature",
             "ece_calibrated", "robustness"}  # fmt: skip


def test_wilson_interval_on_known_cases():
    low, high = wilson_interval(8, 10)  # the textbook case: 0.490 to 0.943
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    low, high = wilson_interval(81, 263)  # Newcombe (1998), table I: 0.2553 to 0.3662
    assert low == pytest.approx(0.2553, abs=1e-4) and high == pytest.approx(0.3662, abs=1e-4)
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(20, 20)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


def random_case(count=500, classes=10, seed=1):
    generator = np.random.default_rng(seed)
    logits = generator.normal(0, 2, (count, classes))
    labels = generator.integers(0, classes, count)
    logits[np.arange(count), labels] += 2.0  # mostly right, not always
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities, labels


def test_confusion_sums_to_n_and_its_diagonal_matches_the_accuracy():
    probabilities, labels = random_case()
    report = evaluate_probabilities(labels, probabilities, [str(i) for i in range(10)])
    assert report.confusion.sum() == report.n == 500
    assert np.trace(report.confusion) / report.n == pytest.approx(report.accuracy)
    assert report.accuracy == pytest.approx(np.mean(probabilities.argmax(axis=1) == labels))
    np.testing.assert_array_equal(report.confusion.sum(axis=1), np.bincount(labels, minlength=10))
    assert 0.2 < report.accuracy < 0.95 and report.top2_accuracy > report.accuracy
    low, high = report.accuracy_ci95
    assert low < report.accuracy < high


def test_per_class_precision_recall_f1_support_by_hand():
    confusion = np.asarray([[3, 1], [2, 4]])
    cat, dog = class_figures(confusion, ["cat", "dog"])
    assert (cat.precision, cat.recall, cat.support) == (pytest.approx(3 / 5), pytest.approx(3 / 4), 4)
    assert cat.f1 == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert (dog.precision, dog.recall, dog.support) == (pytest.approx(4 / 5), pytest.approx(4 / 6), 6)
    (empty,) = class_figures(np.zeros((1, 1), int), ["none"])
    assert (empty.precision, empty.recall, empty.f1, empty.support) == (0.0, 0.0, 0.0, 0)


def test_top2_accuracy():
    probabilities = np.asarray([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])
    assert top_k_accuracy(probabilities, np.asarray([0, 1, 2]), 2) == pytest.approx(2 / 3)
    assert top_k_accuracy(probabilities, np.asarray([0, 1, 2]), 1) == pytest.approx(1 / 3)


class Card:
    def __init__(self, temperature=None):
        self.temperature = temperature


class FakeLoaded:
    """Just what ``evaluation_from_probabilities`` reads from a loaded model."""

    def __init__(self, temperature=None):
        self.metadata = Card(temperature)
        self.display_name = "fake"


def evaluation_of(probabilities, labels, temperature=None):
    names = [str(i) for i in range(probabilities.shape[1])]
    eval_set = EvaluationSet("test", "a test", np.zeros((len(labels), 4, 4), np.float32), labels, names)
    return evaluation_from_probabilities(FakeLoaded(temperature), eval_set, probabilities)


def test_cell_and_mistake_indices_are_sorted_by_confidence():
    probabilities = np.asarray([[0.6, 0.4], [0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.45, 0.55]])
    labels = np.asarray([1, 1, 1, 0, 0])
    evaluation = evaluation_of(probabilities, labels)
    np.testing.assert_array_equal(cell_indices(evaluation, 1, 0), [1, 0])  # true 1 read as 0: 0.9 before 0.6
    np.testing.assert_array_equal(cell_indices(evaluation, 1, 1), [2])
    np.testing.assert_array_equal(mistakes(evaluation), [1, 0, 4])
    np.testing.assert_array_equal(mistakes(evaluation, true_class=0), [4])
    np.testing.assert_array_equal(mistakes(evaluation, predicted_class=0), [1, 0])
    assert len(mistakes(evaluation, true_class=0, predicted_class=0)) == 0


def test_a_stored_temperature_calibrates_the_shown_probabilities_not_the_predictions():
    probabilities, labels = random_case(300)
    plain = evaluation_of(probabilities, labels)
    warm = evaluation_of(probabilities, labels, temperature=2.0)
    np.testing.assert_array_equal(plain.predictions, warm.predictions)
    assert warm.confidence.mean() < plain.confidence.mean()
    np.testing.assert_allclose(warm.raw_probabilities, probabilities)
    assert warm.report.temperature == 2.0 and warm.report.ece_calibrated is not None
    assert plain.report.ece_calibrated is None and plain.report.reliability_calibrated is None


def test_as_dict_is_the_issue_json_format():
    probabilities, labels = random_case(100, classes=3)
    report = evaluation_of(probabilities, labels, temperature=1.5).report
    data = json.loads(json.dumps(report.as_dict(), allow_nan=False))
    assert set(data) == JSON_KEYS
    assert len(data["accuracy_ci95"]) == 2 and data["accuracy_ci95"][0] <= data["accuracy"] <= data["accuracy_ci95"][1]
    assert [set(row) for row in data["per_class"]] == [{"class", "precision", "recall", "f1", "support"}] * 3
    assert np.asarray(data["confusion"]).shape == (3, 3) and np.sum(data["confusion"]) == 100
    assert data["temperature"] == 1.5 and isinstance(data["ece_calibrated"], float)
    assert data["robustness"] == {}
