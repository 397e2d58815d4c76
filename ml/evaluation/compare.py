"""Two models on the same set: each one's accuracy, where they disagree, and McNemar's test of the difference.

McNemar's test looks only at the images exactly one model gets right (b: A right and B wrong, c: A wrong and B
right). Under "equally accurate", b ~ Binomial(b + c, 1/2). With fewer than ``EXACT_BELOW`` such images the exact
two-sided binomial p-value is used, otherwise the chi-squared statistic with continuity correction,
(|b - c| - 1)² / (b + c), on one degree of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.plurals import plural

EXACT_BELOW = 25  # b + c below this: the exact binomial test (the chi-squared approximation is poor)
SMALLEST_P_SHOWN = 1e-4  # smaller p-values read "p < 0.0001": a p-value that underflowed to 0 is not "p = 0"


def p_value_text(p_value: float) -> str:
    """``p = 0.018``, or ``p < 0.0001`` for a p-value too small to show (never ``p = 0``)."""
    if p_value < SMALLEST_P_SHOWN:
        return f"p < {SMALLEST_P_SHOWN:.4f}"
    return f"p = {p_value:.2g}"


@dataclass(frozen=True)
class McNemar:
    """McNemar's test on the discordant counts."""

    only_a_right: int  # b
    only_b_right: int  # c
    statistic: float  # chi-squared with continuity correction, or min(b, c) for the exact test
    p_value: float
    method: str  # "exact binomial" or "chi-squared, continuity-corrected"


def mcnemar(only_a_right: int, only_b_right: int) -> McNemar:
    """McNemar's test of two classifiers' accuracies from the discordant counts b and c."""
    from scipy.stats import binom, chi2

    b, c = int(only_a_right), int(only_b_right)
    discordant = b + c
    if discordant == 0:
        return McNemar(b, c, 0.0, 1.0, "exact binomial")
    if discordant < EXACT_BELOW:
        p_value = min(1.0, 2.0 * float(binom.cdf(min(b, c), discordant, 0.5)))
        return McNemar(b, c, float(min(b, c)), p_value, "exact binomial")
    statistic = (abs(b - c) - 1.0) ** 2 / discordant
    return McNemar(b, c, float(statistic), float(chi2.sf(statistic, 1)), "chi-squared, continuity-corrected")


@dataclass(frozen=True)
class Comparison:
    """Models A and B judged on the same images."""

    model_a: str
    model_b: str
    n: int
    accuracy_a: float
    accuracy_b: float
    disagreements: np.ndarray  # indices where the two predict different classes, most confident disagreement first
    test: McNemar

    @property
    def b01(self) -> int:
        """Images A gets right and B wrong."""
        return self.test.only_a_right

    @property
    def b10(self) -> int:
        """Images B gets right and A wrong."""
        return self.test.only_b_right

    def as_text(self) -> str:
        """A short verdict for the window and the CLI."""
        verdict = "a significant difference" if self.test.p_value < 0.05 else "no significant difference"
        return (
            f"{self.model_a}: {100 * self.accuracy_a:.2f} %, {self.model_b}: {100 * self.accuracy_b:.2f} % on "
            f"{plural(self.n, 'image')}; they disagree on {len(self.disagreements):,}. "
            f"Only {self.model_a} right: {self.b01}, only {self.model_b} right: {self.b10}; "
            f"McNemar ({self.test.method}) {p_value_text(self.test.p_value)}: {verdict} at 5 %."
        )


def compare(eval_a, eval_b) -> Comparison:
    """Compare two :class:`~ml.evaluation.run.Evaluation` results of the same set (same images, same labels)."""
    if len(eval_a.labels) != len(eval_b.labels) or not np.array_equal(eval_a.labels, eval_b.labels):
        raise ValueError("Both evaluations must be of the same set (the same images in the same order).")
    right_a, right_b = eval_a.correct, eval_b.correct
    differ = np.flatnonzero(eval_a.predictions != eval_b.predictions)
    strength = np.maximum(eval_a.confidence[differ], eval_b.confidence[differ])
    n = len(eval_a.labels)
    return Comparison(
        model_a=eval_a.model_name,
        model_b=eval_b.model_name,
        n=n,
        accuracy_a=float(right_a.mean()) if n else 0.0,
        accuracy_b=float(right_b.mean()) if n else 0.0,
        disagreements=differ[np.argsort(-strength, kind="stable")].astype(np.int64),
        test=mcnemar(int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))),
    )
