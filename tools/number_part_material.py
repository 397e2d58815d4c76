"""Material for the not-a-digit detector cut from whole numbers: digits, and what is not one digit, as the number
reader shows its parts to its judge (``ml.numbers.reader.judge_view``).

A digit read as part of a number is not a digit drawn alone: the number is enlarged, so the part keeps soft grey
edges. The detector learnt only digits drawn alone and refused such parts (and with one refused part, the whole
number). Numbers are composed as ``bench/bench_numbers.py`` composes them, from MNIST *training* digits (the
detector's own; the reader is tuned on validation digits and benchmarked on test digits), and each number's lattice
is built as the reader builds it. A digit is a candidate part that holds at least 85 % of one digit's ink and
nothing else to speak of (at least 90 % of its ink that digit's). Not a digit: a part holding at least 85 % of a
non-digit drawing put in a digit's place (the detector's own non-digits, whatever else the part holds), or most of
two whole digits (a pair read as one).
"""

from __future__ import annotations

import numpy as np

NUMBER_DIGITS = "digits cut from numbers"
NUMBER_OTHERS = "non-digits in numbers"
NUMBER_PART_FAMILIES = (NUMBER_DIGITS, NUMBER_OTHERS)
WHOLE = 0.85
"""A part holds a digit or drawing whole when it holds this share of its ink."""
CLEAN = 0.9
"""A digit's part is clean when this share of the part's ink is that digit's."""


def part_holdings(
    bench, digits: list[np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The number of ``digits`` composed as the benchmark composes it: its candidate parts as the judge sees them
    (n, 28, 28), the ink of each digit each part holds (n, len(digits)) and each digit's ink (len(digits),)."""
    from fit_number_parts import composed_lattice, held_ink, owners_in_ink

    from ml.numbers.reader import judge_view

    ink, owners, lattice = composed_lattice(bench, digits, rng)
    held, totals = held_ink(lattice, owners_in_ink(owners, ink), ink.soft_ink, len(digits))
    if not lattice.candidates:
        return np.zeros((0, 28, 28), np.float32), held, totals
    return judge_view(lattice.images), held, totals


def number_part_families(digit_images: np.ndarray, digit_labels: np.ndarray, others) -> list:
    """The two families (digits; non-digits and pairs), numbers composed of ``digit_images`` (training digits);
    ``others(count, seed)`` gives (n, 28, 28) non-digit drawings to put in a digit's place."""
    from tune_number_segmentation import load_bench

    from ml.doubt.material import DIGIT, NOT_A_DIGIT, Family, Material

    by_class = {digit: np.flatnonzero(digit_labels == digit) for digit in range(10)}

    def make(count: int, seed: int, with_others: bool) -> Material:
        bench, rng = load_bench(), np.random.default_rng(seed)
        drawings = others(count, seed) if with_others else None
        images: list[np.ndarray] = []
        labels: list[int] = []
        attempts = 0
        while len(images) < count and attempts < count * 4:
            attempts += 1
            truth = bench.random_labels(rng)
            digits = [digit_images[rng.choice(by_class[int(d)])] for d in truth]
            position = int(rng.integers(len(truth)))
            inserted = drawings is not None and attempts % 2 == 0  # half with a drawing, half of digits alone
            if inserted:
                digits[position] = drawings[attempts % len(drawings)]
            views, held, totals = part_holdings(bench, digits, rng)
            whole = held / np.maximum(totals, 1e-9) >= WHOLE
            if drawings is None:
                shares = held.max(axis=1, initial=0) / np.maximum(held.sum(axis=1), 1e-9)
                keep = (whole.sum(axis=1) == 1) & (shares >= CLEAN)
                owner = np.argmax(held, axis=1)  # one part per digit, so that no digit is learnt several times
                chosen = [rng.choice(np.flatnonzero(keep & (owner == index))) for index in np.unique(owner[keep])]
                keep = np.isin(np.arange(len(keep)), chosen)
                labels.extend(int(truth[index]) for index in owner[keep])
            else:
                pairs = whole.sum(axis=1) >= 2
                keep = (whole[:, position] | pairs) if inserted else pairs
                labels.extend([-1] * int(keep.sum()))
            images.extend(views[keep])
        kind, name = (NOT_A_DIGIT, NUMBER_OTHERS) if with_others else (DIGIT, NUMBER_DIGITS)
        images, labels = images[:count], labels[:count]
        return Material(name, kind, np.asarray(images, dtype=np.float32), np.asarray(labels), 0)

    return [
        Family(NUMBER_DIGITS, DIGIT, lambda count, seed: make(count, seed, False)),
        Family(NUMBER_OTHERS, NOT_A_DIGIT, lambda count, seed: make(count, seed, True)),
    ]
