"""Fit the number reader's part scorer (``ml.numbers.parts``) on numbers composed of MNIST digits the model never
learnt from.

Numbers are composed as ``bench/bench_numbers.py`` composes them (2 to 6 digits, uneven gaps, sizes, baselines, some
pairs touching), from the first half of the bundled model's 5,000 held-out validation digits
(``tune_number_segmentation.held_out_digits``; the segmentation's other constants are tuned on the second half; the
benchmark reads test digits). Every candidate part of each number's
lattice is labelled by the digit each pixel came from: "one whole digit" when at least 75 % of its ink is one digit's,
it holds at least 85 % of that digit's ink (a cut between touching digits leaves some of one in the other), and it
holds under half of any other digit's ink (a "1" touching a 6 is a fifth of the pair's ink, and the pair is two).
Drawings of the not-a-digit fit's tuning families (letters, symbols, shapes, scribbles, noise, digit fragments; never
the benchmark's held-out ones) opened as images add their candidate parts, none of them a whole digit: without them the
reader's check that a reading's parts are whole digits (``fit_number_check.py``) could not refuse a letter cut into
pieces without refusing real numbers too. A seeded scikit-learn MLP learns the label from the part's features; its
numbers are written to ``ml/numbers/part_weights.py``.

    python tools/fit_number_parts.py [--numbers 3000] [--seed 3] [--others 150] [--features cache.npz]
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

HIDDEN = (24, 12)
WHOLE_SHARE, WHOLE_COVER = 0.75, 0.85
"""A part is "one whole digit" when at least this share of its ink is one digit's and it holds at least this share of
that digit's ink (a part short of 15 % of its digit, a 4 without its stem, is a fragment)."""
WHOLE_INTRUSION = 0.5
"""A part holding this share of another digit's ink or more is not one whole digit, however little ink that digit has
(a touching "1" read with its neighbour as a 6, an 8 or a 9)."""
OTHERS_SEED = 100
"""The not-a-digit drawings' seeds start here (``tools/fit_number_check.py`` draws the same families from its own)."""


def owners_in_ink(owners: np.ndarray, ink) -> np.ndarray:
    """The composer's per-pixel digit index, sampled at each pixel of the ink map (which may be scaled or offset)."""
    height, width = ink.soft_ink.shape
    rows = np.clip(((np.arange(height) + ink.offset[0]) * ink.scale).astype(int), 0, owners.shape[0] - 1)
    columns = np.clip(((np.arange(width) + ink.offset[1]) * ink.scale).astype(int), 0, owners.shape[1] - 1)
    return owners[np.ix_(rows, columns)]


def held_ink(lattice, owners: np.ndarray, soft_ink: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ink of each of ``count`` digits that each candidate holds (candidates, count), and each digit's ink."""
    totals = np.bincount(owners[owners >= 0].ravel(), weights=soft_ink[owners >= 0].ravel(), minlength=count)
    held = np.zeros((len(lattice.candidates), count))
    for index, candidate in enumerate(lattice.candidates):
        top, left, height, width = candidate.box
        mine = owners[top : top + height, left : left + width]
        owned = (candidate.crop > 0) & (mine >= 0)
        held[index] = np.bincount(mine[owned], weights=candidate.crop[owned], minlength=count)
    return held, totals


def whole_digit_labels(lattice, owners: np.ndarray, soft_ink: np.ndarray, count: int) -> dict[str, np.ndarray]:
    """Per candidate: the digit it holds most ink of (``digits``), that digit's share of its ink (``shares``), the
    share of that digit's ink it holds (``covers``) and the largest share of another digit's ink it holds
    (``intrusions``)."""
    held, totals = held_ink(lattice, owners, soft_ink, count)
    rows = np.arange(len(held))
    digits = np.argmax(held, axis=1)
    most = held[rows, digits]
    held_shares = held / np.maximum(totals, 1e-9)
    held_shares[rows, digits] = 0.0
    return {
        "digits": digits,
        "shares": most / np.maximum(held.sum(axis=1), 1e-9),
        "covers": most / np.maximum(totals[digits], 1e-9),
        "intrusions": held_shares.max(axis=1, initial=0.0),
    }


def is_whole(labels: dict[str, np.ndarray]) -> np.ndarray:
    """1 where a part is one whole digit (:func:`whole_digit_labels`): most of its ink one digit's, most of that
    digit's ink, and under :data:`WHOLE_INTRUSION` of any other's."""
    whole = (labels["shares"] >= WHOLE_SHARE) & (labels["covers"] >= WHOLE_COVER)
    return (whole & (labels["intrusions"] < WHOLE_INTRUSION)).astype(int)


def collect(args) -> dict[str, np.ndarray]:
    """Features, labels and each part's number: ``args.numbers`` composed numbers, then ``args.others`` drawings of each
    not-a-digit tuning family opened as an image (every part of them "not one whole digit")."""
    material = training_material("fit")
    from ml.doubt.detector import shipped_detector

    numbers = number_parts(args, material, shipped_detector())
    drawings = drawing_parts(args, material, shipped_detector(), first=args.numbers)
    return {name: np.concatenate([numbers[name], drawings[name]]) for name in numbers}


def number_parts(args, material, detector) -> dict[str, np.ndarray]:
    """The parts of ``args.numbers`` numbers composed of ``material``'s digits (:func:`collect`'s arrays)."""
    from ml.numbers.parts import context_scores, part_features

    bench, images, by_class, predictor = material.bench, material.images, material.by_class, material.predictor
    rng = np.random.default_rng(args.seed)
    features, targets, numbers, reachable = [], [], [], 0
    for number in range(args.numbers):
        truth = bench.random_labels(rng)
        digits = [images[rng.choice(by_class[int(d)])] for d in truth]
        ink, owners, lattice = composed_lattice(bench, digits, rng)
        if not lattice.candidates:
            continue
        probabilities = predictor.predict_batch(lattice.images)
        labels = whole_digit_labels(lattice, owners_in_ink(owners, ink), ink.soft_ink, len(truth))
        reachable += _has_whole_path(lattice, is_whole(labels))
        features.append(part_features(lattice, probabilities, detector.scores(lattice.images), context_scores(lattice)))
        targets.append(np.stack([labels["shares"], labels["covers"], labels["intrusions"]], axis=1))
        numbers.append(np.full(len(labels["shares"]), number))
        if (number + 1) % 250 == 0:
            print(f"  {number + 1} numbers, {sum(len(t) for t in targets)} parts", flush=True)
    print(f"numbers whose lattice holds a path of whole digits: {reachable / args.numbers:.2%}")
    return _arrays(features, targets, numbers)


def drawing_parts(args, material, detector, first: int) -> dict[str, np.ndarray]:
    """The parts of ``args.others`` drawings of each not-a-digit tuning family (``ml.doubt.material``; never the
    benchmark's held-out families) opened as an image, numbered from ``first``: no part of one is a whole digit."""
    from ml.doubt.material import NOT_A_DIGIT, tuning_drawers
    from ml.numbers.parts import context_scores, part_features

    features, targets, numbers = [], [], []
    for offset, (name, kind, draw_one) in enumerate(tuning_drawers(material.images, material.labels)):
        if kind != NOT_A_DIGIT:
            continue
        rng, drawn = np.random.default_rng(args.seed + OTHERS_SEED + offset), 0
        while drawn < args.others:
            canvas, _ = draw_one(rng)
            if canvas is None:
                continue
            drawn += 1
            _, lattice = reader_lattice(canvas)
            if lattice is None or not lattice.candidates:
                continue
            probabilities = material.predictor.predict_batch(lattice.images)
            features.append(
                part_features(lattice, probabilities, detector.scores(lattice.images), context_scores(lattice))
            )
            targets.append(np.zeros((len(lattice.candidates), 3)))
            numbers.append(np.full(len(lattice.candidates), first + len(numbers)))
        print(f"  {name}: {args.others} drawings, {sum(len(t) for t in targets)} parts", flush=True)
    return _arrays(features, targets, numbers)


def _arrays(features: list, targets: list, numbers: list) -> dict[str, np.ndarray]:
    shares, covers, intrusions = np.concatenate(targets).T
    return {
        "features": np.concatenate(features),
        "shares": shares,
        "covers": covers,
        "intrusions": intrusions,
        "numbers": np.concatenate(numbers),
    }


def composed_lattice(bench, digits: list[np.ndarray], rng: np.random.Generator):
    """A number composed of ``digits`` as the benchmark composes it, read as the reader reads it: its ink, the digit
    owning each of the composer's pixels, and its lattice."""
    picture, _, owners = bench.compose_number_with_owners(digits, rng)
    ink, lattice = reader_lattice(picture)
    return ink, owners, lattice


def reader_lattice(picture: np.ndarray):
    """A picture's ink map and lattice, as the reader builds them (the lattice None when the picture holds no ink)."""
    from ml.numbers.lattice import build_lattice
    from ml.numbers.reader import number_regions
    from ml.preprocess.pipeline import find_ink

    ink = find_ink(picture)
    if ink.soft_ink is None:
        return ink, None
    regions, typical = number_regions(ink)
    return ink, build_lattice(regions, typical)


def collected(cache: Path | None, make) -> dict[str, np.ndarray]:
    """``make()``'s arrays, read from ``cache`` when it exists (and written there when it is named)."""
    if cache is not None and cache.exists():
        with np.load(cache) as archive:
            return {name: archive[name] for name in archive.files}
    data = make()
    if cache is not None:
        np.savez_compressed(cache, **data)
    return data


def _has_whole_path(lattice, whole: np.ndarray) -> bool:
    reach = {0}
    for stop in range(1, len(lattice.atoms) + 1):
        if any(c.stop == stop and c.first in reach and whole[i] for i, c in enumerate(lattice.candidates)):
            reach.add(stop)
    return len(lattice.atoms) in reach


def fit(data: dict[str, np.ndarray], seed: int):
    """A seeded MLP on standardised features; held-out figures on a fifth of the numbers."""
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.neural_network import MLPClassifier

    features, labels, numbers = data["features"], is_whole(data), data["numbers"]
    held = numbers % 5 == 0
    mean, scale = features[~held].mean(axis=0), features[~held].std(axis=0) + 1e-6
    model = MLPClassifier(HIDDEN, alpha=1e-3, max_iter=400, random_state=seed, early_stopping=True, tol=1e-5)
    model.fit((features[~held] - mean) / scale, labels[~held])
    predicted = model.predict_proba((features[held] - mean) / scale)[:, 1]
    print(
        f"held-out parts: {held.sum()} ({labels[held].mean():.1%} whole digits), log-loss "
        f"{log_loss(labels[held], predicted):.4f}, AUROC {roc_auc_score(labels[held], predicted):.5f}, "
        f"accuracy {np.mean((predicted > 0.5) == labels[held]):.2%}"
    )
    model.fit((features - mean) / scale, labels)  # the shipped one sees every number
    return mean, scale, model


def write_weights(path: Path, mean: np.ndarray, scale: np.ndarray, model, args) -> None:
    """The fitted numbers as a Python module (plain lists, 6 significant digits)."""

    def numbers(values: np.ndarray) -> str:
        text = ", ".join(f"{float(value):.6g}" for value in np.ravel(values))
        lines, line = [], "    "
        for item in text.split(", "):
            if len(line) + len(item) + 2 > 116:
                lines.append(line.rstrip())
                line = "    "
            line += item + ", "
        lines.append(line.rstrip())
        return "\n".join(lines)

    parts = [
        '"""The number reader\'s part scorer (:mod:`ml.numbers.parts`), written by\n'
        f"``python tools/fit_number_parts.py --numbers {args.numbers} --seed {args.seed} --others {args.others}``; do\n"
        'not edit."""\n',
        "\n",
        "import numpy as np\n",
        "\n",
        "# fmt: off\n",
        f"_MEAN = [\n{numbers(mean)}\n]\n",
        f"_SCALE = [\n{numbers(scale)}\n]\n",
    ]
    layers = []
    for index, (kernel, bias) in enumerate(zip(model.coefs_, model.intercepts_, strict=True)):
        parts.append(f"_KERNEL_{index} = [\n{numbers(kernel)}\n]\n")
        parts.append(f"_BIAS_{index} = [\n{numbers(bias)}\n]\n")
        layers.append(f"        (np.reshape(_KERNEL_{index}, {tuple(kernel.shape)}), _BIAS_{index}),\n")
    parts.append('\nPART_SCORER_WEIGHTS = {\n    "mean": _MEAN,\n    "scale": _SCALE,\n    "layers": [\n')
    parts.append("".join(layers) + "    ],\n}\n# fmt: on\n")
    path.write_text("".join(parts))
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numbers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--others", type=int, default=150, help="drawings of each not-a-digit tuning family")
    parser.add_argument("--features", type=Path, default=None, help="cache of the collected features (npz)")
    parser.add_argument("--out", type=Path, default=ROOT / "ml" / "numbers" / "part_weights.py")
    args = parser.parse_args()
    data = collected(args.features, lambda: collect(args))
    mean, scale, model = fit(data, args.seed)
    write_weights(args.out, mean, scale, model, args)


if __name__ == "__main__":
    main()
