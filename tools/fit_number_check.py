"""Choose the number reader's check that its parts are whole digits (``ml.numbers.reader``'s
``WHOLE_DIGITS_FLOOR``): below this mean log P(one whole digit) of the parts, a reading of several parts is not a
number.

Without the check, a letter, a shape, a scribble or noise opened as an image (or drawn wide on the canvas) was cut
into pieces and read as a number ("14", "1111") though each drawing alone is refused as not a digit. Numbers are
composed as ``bench/bench_numbers.py`` composes them, from the second half of the bundled model's held-out validation
digits (``tune_number_segmentation.held_out_digits``; never the test set), and drawn with its simulated pen; the
non-digits are the not-a-digit fit's tuning families as whole canvases (``ml.doubt.material.tuning_drawers``; the
benchmark's held-out letters, shapes, fonts and seeds are never used). For each floor the script prints the share of
numbers it refuses (and of those read right) and the share of each family's drawings still read as a number; it picks
the highest floor that refuses at most ``--give`` (default 0.5 %) of the numbers.

    python tools/fit_number_check.py [--numbers 600] [--drawings 200] [--seed 21]
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

FLOORS = (-3.0, -2.0, -1.5, -1.0, -0.7, -0.5, -0.4, -0.3, -0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numbers", type=int, default=600, help="numbers of MNIST digits (and a third as many by pen)")
    parser.add_argument("--drawings", type=int, default=200, help="drawings of each non-digit family")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--give", type=float, default=0.005, help="numbers refused, at most this share")
    args = parser.parse_args()

    material = training_material()
    from ml.doubt.material import NOT_A_DIGIT, tuning_drawers
    from ml.numbers import reader

    reader.WHOLE_DIGITS_FLOOR = -np.inf  # every reading's wholeness, none refused

    def read(picture: np.ndarray, strokes=None):
        return reader.read_number(picture, material.predictor, strokes=strokes, judge=material.judge)

    bench, rng = material.bench, np.random.default_rng(args.seed)
    numbers: list[tuple[float, bool]] = []  # (wholeness, read right) of each number read in several parts
    for index in range(args.numbers + args.numbers // 3):
        truth = bench.random_labels(rng)
        if index < args.numbers:
            digits = [material.images[rng.choice(material.by_class[int(d)])] for d in truth]
            reading = read(bench.compose_number(digits, rng)[0])
        else:
            picture, strokes, _ = bench.pen_number(truth, rng)
            reading = read(picture, strokes)
        if len(reading.digits) > 1:
            numbers.append((reading.wholeness, reading.number == truth))
    wholeness = np.array([whole for whole, _ in numbers])
    right = np.array([was_right for _, was_right in numbers])
    print(f"{len(numbers)} numbers read in several parts, {right.mean():.1%} of them right")

    drawn: dict[str, np.ndarray] = {}  # per family: the wholeness of each drawing read as a number (nan: it is not)
    for offset, (name, kind, draw_one) in enumerate(tuning_drawers(material.images, material.labels)):
        if kind != NOT_A_DIGIT:
            continue
        family_rng, values = np.random.default_rng(args.seed + 1 + offset), []
        while len(values) < args.drawings:
            canvas, _ = draw_one(family_rng)
            if canvas is not None:
                reading = read(canvas)
                as_number = len(reading.digits) > 1 and reading.number is not None
                values.append(reading.wholeness if as_number else np.nan)
        drawn[name] = np.array(values)

    def still_numbers(floor: float) -> str:
        return ", ".join(f"{name} {np.mean(values >= floor):.1%}" for name, values in drawn.items())

    print(f"  no check: drawings read as a number: {still_numbers(-np.inf)}")
    chosen = -np.inf
    for floor in FLOORS:
        refused = wholeness < floor
        print(
            f"  {floor:5.2f}: numbers refused {refused.mean():.2%} (read right {np.mean(refused & right):.2%}); "
            f"drawings read as a number: {still_numbers(floor)}"
        )
        if refused.mean() <= args.give:
            chosen = floor
    print(f"WHOLE_DIGITS_FLOOR = {chosen} (refuses at most {args.give:.2%} of the numbers)")


if __name__ == "__main__":
    main()
