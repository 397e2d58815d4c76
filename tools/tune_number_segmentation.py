"""Tune the number segmentation's constants (``ml.numbers.lattice.SegmentationWeights``) on MNIST digits held out
of the model's training.

Numbers are composed as ``bench/bench_numbers.py`` composes them, but from digits the bundled model never learnt from
and the benchmark never reads: the second half of its 5,000 held-out MNIST validation digits (never the test set).
Each number's lattice and its one classifier call are made once; then every setting of the grid is scored by the
dynamic program alone. Prints the best settings found (coordinate ascent on numbers read
exactly, a part the judge refuses counting as wrong). ``--parts`` tries a part scorer's weights
(``tools/fit_number_parts.py --out``).

    python tools/tune_number_segmentation.py [--numbers 600] [--doubt] [--parts weights.py]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GRID = {
    "digit_bonus": [0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0],
    "aspect_weight": [0.0, 0.25, 0.5, 1.0, 2.0],
    "aspect_free": [0.5, 1.0, 1.5, 2.0],
    "height_weight": [0.0, 5.0, 20.0, 50.0],
    "short_part": [0.5, 0.6, 0.7, 0.8],
    "cut_cost": [0.0, 0.5, 1.0, 2.0, 4.0],
    "crossing_cost": [0.0, 1.0, 2.0, 4.0, 8.0],
    "merge_cost": [1.0, 3.0, 6.0, 20.0],
    "squat_cut_weight": [0.0, 0.25, 0.5, 1.0, 2.0],
    "squat_cut_from": [1.0, 1.1, 1.2, 1.3],
    "cut_from": [0.75, 0.9, 1.0, 1.1],
    "wider_weight": [0.0, 0.3, 1.0, 3.0],
    "wider_free": [1.2, 1.3, 1.4, 1.5, 1.6],
    "narrow_not_one": [0.0, 1.0, 3.0],
    "lone_margin": [0.0, 2.0, 4.0],
    "doubt_weight": [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0],
    "doubt_floor": [1e-6, 1e-3, 0.01, 0.05, 0.2],
    "part_weight": [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0],
    "odds_weight": [0.0, 0.5, 1.0, 2.0],
    "class_weight": [0.0, 0.25, 0.5, 1.0, 1.5],
}


def load_bench():
    """``bench/bench_numbers.py`` as a module (its number composer)."""
    spec = importlib.util.spec_from_file_location("bench_numbers", ROOT / "bench" / "bench_numbers.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def held_out_digits(half: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits the bundled model never learnt from: its 5,000 validation digits (held out of training with seed 2,
    as it was trained), the first half for ``half="fit"`` (the part scorer), the second for ``"tune"`` (the
    constants and the judge's operating point). Digits it trained on read surer than any new digit, so material drawn
    from them tunes the reader for easier numbers than it meets. Images (n, 28, 28) in [0, 1] and labels."""
    from ml.data.datasets import load_mnist

    mnist = load_mnist(seed=2)
    images, labels = mnist.x_val[..., 0], mnist.y_val
    middle = len(images) // 2
    chosen = slice(0, middle) if half == "fit" else slice(middle, None)
    return images[chosen].astype(np.float32), labels[chosen]


def training_material(half: str = "tune") -> SimpleNamespace:
    """What the number-tuning scripts start from: ``bench`` (bench_numbers.py as a module), half of the bundled model's
    held-out validation digits (:func:`held_out_digits`: ``images`` in [0, 1], ``labels``, ``by_class`` indices;
    never the test set), and the bundled model's ``predictor`` and not-a-digit ``judge``."""
    from ml.assets import bundled_model_path
    from ml.cli.progress import quiet_tensorflow

    quiet_tensorflow()
    from ml.doubt.verdict import DoubtJudge
    from ml.inference.predictor import Predictor
    from ml.models.files import load_model

    images, labels = held_out_digits(half)
    loaded = load_model(bundled_model_path())
    return SimpleNamespace(
        bench=load_bench(),
        images=images,
        labels=labels,
        by_class={digit: np.flatnonzero(labels == digit) for digit in range(10)},
        predictor=Predictor(loaded),
        judge=DoubtJudge(loaded),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numbers", type=int, default=600)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--start", default=None, help="JSON of weights to start from")
    parser.add_argument("--doubt", action="store_true", help="score parts with the not-a-digit judge too")
    parser.add_argument("--parts", type=Path, default=None, help="a part scorer's weights module (default: shipped)")
    parser.add_argument(
        "--apart-weight", type=float, default=1.0, help="weight of the numbers with no touching gap in the objective"
    )
    args = parser.parse_args()

    material = training_material()
    from ml.numbers.lattice import DEFAULT_WEIGHTS, best_segmentation, build_lattice
    from ml.numbers.parts import PartScorer, log_whole_digit
    from ml.numbers.reader import judge_parts, number_regions, refused_as_part
    from ml.preprocess.pipeline import find_ink

    bench, images, by_class = material.bench, material.images, material.by_class
    predictor, judge = material.predictor, material.judge
    scorer = None
    if args.parts is not None:
        spec = importlib.util.spec_from_file_location("part_weights", args.parts)
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        spec.loader.exec_module(module)
        scorer = PartScorer(module.PART_SCORER_WEIGHTS)
    rng = np.random.default_rng(args.seed)
    cases = []
    for _ in range(args.numbers):
        truth = bench.random_labels(rng)
        picture, kinds = bench.compose_number([images[rng.choice(by_class[int(d)])] for d in truth], rng)
        ink = find_ink(picture)
        regions, typical = number_regions(ink)
        lattice = build_lattice(regions, typical, cut_from=min(GRID["cut_from"]))  # as the reader's
        probabilities = predictor.predict_batch(lattice.images)
        verdicts = judge_parts(judge, lattice.images, probabilities)  # as the reader judges parts
        doubts = np.array([verdict.score for verdict in verdicts])
        refused = np.array([refused_as_part(verdict.as_dict()) for verdict in verdicts])  # as the reader refuses
        wholes = log_whole_digit(lattice, probabilities, scorer)
        apart = "touching" not in kinds
        cases.append((truth, lattice, probabilities, doubts if args.doubt else None, wholes, refused, apart))
    print(
        f"{len(cases)} numbers of held-out MNIST digits; candidates per number: "
        f"median {np.median([len(c[1].candidates) for c in cases]):.0f}"
    )

    apart_count = max(sum(case[-1] for case in cases), 1)

    def exact(weights, report: bool = False) -> float:
        """Numbers read exactly, plus ``--apart-weight`` times those of the numbers with no touching gap."""
        right = right_apart = 0
        for truth, lattice, probabilities, doubts, wholes, refused, apart in cases:
            path = best_segmentation(lattice, probabilities, weights, doubts, wholes)
            read = "".join(str(int(np.argmax(probabilities[index]))) for index in path)
            good = read == truth and not refused[path].any()  # a refused part leaves the number unread
            right += good
            right_apart += good and apart
        if report:
            print(f"  read exactly {right / len(cases):.2%}, no gap touching {right_apart / apart_count:.2%}")
        return right / len(cases) + args.apart_weight * right_apart / apart_count

    print("defaults:")
    exact(DEFAULT_WEIGHTS, report=True)
    best = replace(DEFAULT_WEIGHTS, **json.loads(args.start)) if args.start else DEFAULT_WEIGHTS
    if args.start:
        print("start:")
    best_share = exact(best, report=bool(args.start))
    for round_index in range(args.rounds):  # coordinate ascent: one constant at a time over its grid
        for name, values in GRID.items():
            for value in values:
                weights = replace(best, **{name: value})
                share = exact(weights)
                if share > best_share:
                    best, best_share = weights, share
        print(f"round {round_index + 1}: objective {best_share:.4f} {best}")
        exact(best, report=True)


if __name__ == "__main__":
    main()
