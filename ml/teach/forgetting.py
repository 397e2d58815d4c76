"""Whether a teach made the model clearly worse at the digits it read before (the window then warns)."""

from __future__ import annotations

from dataclasses import dataclass

TEST_DROP_WARNING = 0.01
"""A taught version that reads the original test set more than this much worse (1 point of accuracy) is harmful.

The default teach forgets 0.1–0.3 points on the benchmark (README: "MNIST test after the slant teach", drops of
−0.01 to 0.32 points over every run), and the same draws taught twice differ by 0.07 points: a drop over 1 point is
three times the worst a sound teach cost there, so it is never noise. On the 10,000 MNIST test digits it is 100 more
misread ones, for the bundled model (99.7 %, 30 misread) more than four times as many mistakes: a change a user must
hear about. A clear 7 taught as a "1" drops 6.6 points (99.7 → 93.1 %)."""


@dataclass(frozen=True)
class Forgetting:
    """How much worse a taught version reads the original test set than the version it was taught from."""

    before: float
    after: float
    images: int

    @property
    def points(self) -> float:
        """The drop in points of accuracy (6.6 for 99.7 % → 93.1 %)."""
        return 100 * (self.before - self.after)

    @property
    def more_misread(self) -> int:
        """How many more of the test set's images the taught version misreads."""
        return round((self.before - self.after) * self.images)


def harmful_test_drop(record: dict) -> Forgetting | None:
    """The drop on the original test set of a teach's ``record`` when it exceeds :data:`TEST_DROP_WARNING`; None when
    it does not, or when no test set was measured (a model that does not read the 10 digit classes)."""
    before, after, images = record.get("test_before"), record.get("test_after"), record.get("test_images") or 0
    if before is None or after is None or images <= 0:
        return None
    drop = Forgetting(float(before), float(after), int(images))
    return drop if round(drop.before - drop.after, 6) > TEST_DROP_WARNING else None  # 99.7 → 98.7 % is not over
