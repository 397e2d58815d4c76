"""Choose the not-a-digit judge's operating point for the parts of a number (``ml.numbers.reader``'s
``NUMBER_PART_THRESHOLD``) on numbers composed of MNIST digits held out of the model's training.

Numbers are composed as ``bench/bench_numbers.py`` composes them, from the second half of the bundled model's 5,000
held-out validation digits (``tune_number_segmentation.held_out_digits``; never the test set), and read as the window
reads them. The same numbers are then composed again with one digit replaced by
a generated non-digit of the detector's procedural families (stroke programs, shapes and doodles, printed letters of
scripts that cannot pass for digits), which must make the number unreadable and name that part. For each threshold
the script prints the share of digit numbers read right that a refusal would spoil, and the share of the inserted
non-digits refused; it picks the highest threshold that refuses at most ``--give`` (default 3 points) fewer of the
inserted non-digits than the judge's own threshold does.

    python tools/fit_number_judge.py [--numbers 600] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tune_number_segmentation import training_material  # noqa: E402 - a sibling script

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999)
NON_DIGIT_FAMILIES = ("stroke programs", "shapes and doodles", "glyphs printed")


def inserted_part_score(reading, owners: np.ndarray, position: int) -> float | None:
    """The not-a-digit score of the part holding most of the inserted drawing's ink (None when no part holds it)."""
    best, score = 0, None
    for digit in reading.digits:
        x, y, w, h = digit.box
        held = int(np.sum(owners[y : y + h, x : x + w] == position))
        if held > best and digit.verdict:
            best, score = held, float(digit.verdict["score"])
    return score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numbers", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--give", type=float, default=0.03, help="inserted non-digits refused, at most this fewer")
    args = parser.parse_args()

    material = training_material()
    from ml.doubt.procedural import procedural_families
    from ml.numbers.reader import read_number

    bench, images, labels, by_class = material.bench, material.images, material.labels, material.by_class
    predictor, judge = material.predictor, material.judge
    families = [
        family for family in procedural_families(images[:2000], labels[:2000]) if family.name in NON_DIGIT_FAMILIES
    ]
    drawings = np.concatenate(
        [family.make(args.numbers, args.seed + index).images for index, family in enumerate(families)]
    )
    alone = np.array([verdict.refused for verdict in judge.judge_batch(drawings, predictor.predict_batch(drawings))])
    print(f"{len(drawings)} generated non-digits; the judge refuses {alone.mean():.2%} of them alone")

    rng = np.random.default_rng(args.seed)
    digit_scores, inserted_scores, unread = [], [], 0
    for _ in range(args.numbers):
        truth = bench.random_labels(rng)
        digits = [images[rng.choice(by_class[int(d)])] for d in truth]
        state = rng.bit_generator.state
        picture, _ = bench.compose_number(digits, rng)
        reading = read_number(picture, predictor, judge=judge, part_threshold=None)
        spelled = "".join(digit.label for digit in reading.digits)
        if spelled == truth:  # the judge's scores of the parts of a number read right
            digit_scores.append(max(float(digit.verdict["score"]) for digit in reading.digits))
        position = int(rng.integers(len(truth)))
        digits[position] = drawings[rng.integers(len(drawings))]
        rng.bit_generator.state = state  # the same gaps, sizes and baselines
        picture, _, owners = bench.compose_number_with_owners(digits, rng)
        reading = read_number(picture, predictor, judge=judge, part_threshold=None)
        score = inserted_part_score(reading, owners, position)
        if score is None:
            unread += 1
        inserted_scores.append(1.0 if score is None else score)
    digit_scores, inserted_scores = np.array(digit_scores), np.array(inserted_scores)
    print(f"{args.numbers} numbers of held-out digits, {len(digit_scores)} read right; {unread} inserted drawings lost")
    own = judge.settings.threshold if judge.settings else 0.5
    keep = float(np.mean(inserted_scores >= own)) - args.give
    print(
        f"  the judge's own threshold {own:.4f}: numbers read right spoiled {np.mean(digit_scores >= own):.2%}, "
        f"inserted non-digits refused {np.mean(inserted_scores >= own):.2%}"
    )
    chosen = own
    for threshold in THRESHOLDS:
        spoiled = float(np.mean(digit_scores >= threshold))
        refused = float(np.mean(inserted_scores >= threshold))
        print(f"  {threshold:.3f}: numbers read right spoiled {spoiled:.2%}, inserted non-digits refused {refused:.2%}")
        if refused >= keep and threshold > chosen:
            chosen = threshold
    print(f"NUMBER_PART_THRESHOLD = {chosen} (keeps at least {keep:.2%} of the inserted non-digits refused)")


if __name__ == "__main__":
    main()
