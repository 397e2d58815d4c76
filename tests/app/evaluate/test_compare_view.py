"""The comparison's words: McNemar's verdict in plain language."""

from __future__ import annotations

from app.evaluate.compare_view import mcnemar_words


def test_a_p_value_that_underflowed_is_not_shown_as_zero():
    words = mcnemar_words(0.0, 9, 1971, "trained fast", "digitlab-best")
    assert "p = 0;" not in words and "p < 0.0001" in words
    assert "digitlab-best is better" in words


def test_a_usual_p_value_is_shown_to_two_figures():
    assert "p = 0.018;" in mcnemar_words(0.017961, 25, 10, "a", "b")
