"""McNemar's test on known tables, and comparing two evaluations of the same set."""

from __future__ import annotations

import numpy as np
import pytest

from ml.evaluation.compare import compare, mcnemar
from tests.ml.evaluation.test_metrics import evaluation_of


def test_mcnemar_exact_binomial_for_few_discordant_pairs():
    test = mcnemar(10, 2)  # 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * 79 / 4096
    assert test.method == "exact binomial"
    assert test.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert mcnemar(5, 5).p_value == 1.0
    assert mcnemar(0, 0).p_value == 1.0


def test_mcnemar_chi_squared_with_continuity_correction():
    test = mcnemar(25, 10)  # (|25 - 10| - 1)^2 / 35 = 5.6, p = 0.01796 on one degree of freedom
    assert test.method.startswith("chi-squared")
    assert test.statistic == pytest.approx(5.6)
    assert test.p_value == pytest.approx(0.017961, abs=1e-5)
    assert mcnemar(10, 25).p_value == pytest.approx(test.p_value)


def test_compare_counts_the_discordant_images_and_lists_the_disagreements():
    labels = np.asarray([0, 0, 1, 1, 0])
    a = evaluation_of(np.asarray([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.8, 0.2], [0.7, 0.3]]), labels)
    b = evaluation_of(np.asarray([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.1, 0.9], [0.4, 0.6]]), labels)
    comparison = compare(a, b)
    assert comparison.accuracy_a == pytest.approx(4 / 5) and comparison.accuracy_b == pytest.approx(3 / 5)
    assert (comparison.b01, comparison.b10) == (2, 1)  # A alone right on images 1 and 4; B alone on 3
    np.testing.assert_array_equal(comparison.disagreements, [3, 1, 4])  # the strongest disagreement first
    assert "McNemar" in comparison.as_text()
    with pytest.raises(ValueError):
        compare(a, evaluation_of(np.asarray([[0.9, 0.1]]), np.asarray([0])))


def test_a_p_value_too_small_to_show_is_never_written_as_zero():
    labels = np.zeros(4000, dtype=np.int64)
    right = np.tile([[0.9, 0.1]], (4000, 1))
    half_wrong = np.concatenate([np.tile([[0.1, 0.9]], (2000, 1)), right[:2000]])
    comparison = compare(evaluation_of(right, labels), evaluation_of(half_wrong, labels))
    assert comparison.test.p_value == 0.0  # underflowed: 2,000 images only the first model gets right
    assert "p = 0:" not in comparison.as_text() and "p < 0.0001" in comparison.as_text()
