"""Fit the number reader's context network (``ml.numbers.context_network``): from a window round each candidate part
(``ml.numbers.context``), is the part one whole digit?

Numbers are composed as ``bench/bench_numbers.py`` composes them (2 to 6 digits, uneven gaps, sizes, baselines, some
pairs touching), from the bundled model's MNIST *training* split (never its validation digits, on which the part
scorer and the constants are fitted, nor the test set the benchmark reads); a share of them is slanted and drawn
thinner or bolder, so that the network learns shapes, not one writer's pen. Every candidate part of each number's
lattice is labelled as ``tools/fit_number_parts.py`` labels it. The windows need no classifier, so many numbers are
cheap. A seeded Keras network of the context network's layers learns the label; its arrays are written as an
``.npz`` beside the other shipped models.

    python tools/fit_number_context.py [--numbers 6000] [--seed 4] [--epochs 6] [--windows cache.npz]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from fit_number_parts import collected, composed_lattice, is_whole, owners_in_ink, whole_digit_labels  # noqa: E402 - a sibling script
from tune_number_segmentation import load_bench  # noqa: E402


def varied(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 digit slanted (half of them, up to +-0.35) and thinned or thickened (a third of them)."""
    picture = digit.astype(np.float32)
    if rng.random() < 0.5:
        shear = float(rng.uniform(-0.35, 0.35))
        image = Image.fromarray(picture, mode="F")
        picture = np.asarray(
            image.transform((28, 28), Image.AFFINE, (1, shear, -shear * 14, 0, 1, 0), Image.BILINEAR), np.float32
        )
    roll = rng.random()
    if roll < 1 / 6:  # bolder: the brighter of each pixel and its right and lower neighbours
        grown = picture.copy()
        grown[:, :-1] = np.maximum(grown[:, :-1], picture[:, 1:])
        grown[:-1] = np.maximum(grown[:-1], picture[1:])
        picture = grown
    elif roll < 1 / 3:  # thinner: faint edges dropped
        picture = np.clip((picture - 0.35) / 0.65, 0.0, 1.0)
    return np.clip(picture, 0.0, 1.0)


def collect(args) -> dict[str, np.ndarray]:
    """Windows, labels and each window's number, for ``args.numbers`` composed numbers."""
    from ml.data.datasets import load_mnist
    from ml.numbers.parts import lattice_windows

    mnist = load_mnist(seed=2)  # the bundled model's own split: its training digits only
    images, labels = mnist.x_train[..., 0].astype(np.float32), mnist.y_train
    by_class = {digit: np.flatnonzero(labels == digit) for digit in range(10)}
    bench = load_bench()
    rng = np.random.default_rng(args.seed)
    windows, targets, numbers = [], [], []
    started = time.perf_counter()
    for number in range(args.numbers):
        truth = bench.random_labels(rng)
        vary = rng.random() < 0.4
        digits = [images[rng.choice(by_class[int(d)])] for d in truth]
        digits = [varied(digit, rng) for digit in digits] if vary else digits
        ink, owners, lattice = composed_lattice(bench, digits, rng)
        if not lattice.candidates:
            continue
        whole = is_whole(whole_digit_labels(lattice, owners_in_ink(owners, ink), ink.soft_ink, len(truth)))
        windows.append(lattice_windows(lattice))
        targets.append(whole)
        numbers.append(np.full(len(whole), number))
        if (number + 1) % 500 == 0:
            print(
                f"  {number + 1} numbers, {sum(len(t) for t in targets)} parts, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    return {
        "windows": (np.concatenate(windows) * 255).round().astype(np.uint8),
        "labels": np.concatenate(targets).astype(np.int8),
        "numbers": np.concatenate(numbers),
    }


def fit(data: dict[str, np.ndarray], args):
    """The seeded Keras network; held-out figures on a tenth of the numbers."""
    import keras
    from sklearn.metrics import roc_auc_score

    from ml.numbers.context_network import build_keras_network

    keras.utils.set_random_seed(args.seed)
    windows = data["windows"].astype(np.float32) / 255.0
    labels, numbers = data["labels"].astype(np.float32), data["numbers"]
    held = numbers % 10 == 0
    model = build_keras_network()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
    )
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * 0.6**epoch)
    model.fit(
        windows[~held],
        labels[~held],
        batch_size=256,
        epochs=args.epochs,
        validation_data=(windows[held], labels[held]),
        callbacks=[schedule],
        verbose=2,
    )
    logits = model.predict(windows[held], batch_size=1024, verbose=0)[:, 0]
    auroc = float(roc_auc_score(labels[held], logits))
    print(
        f"held-out parts: {held.sum()} ({labels[held].mean():.1%} whole digits), AUROC {auroc:.5f}, "
        f"accuracy {np.mean((logits > 0) == labels[held]):.2%}"
    )
    return model, auroc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numbers", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--windows", type=Path, default=None, help="cache of the collected windows (npz)")
    parser.add_argument("--out", type=Path, default=None, help="where to write the arrays (default: the shipped file)")
    args = parser.parse_args()
    data = collected(args.windows, lambda: collect(args))
    print(f"{len(data['labels'])} parts, {data['labels'].mean():.1%} whole digits")
    from ml.numbers.context_network import context_network_path, write_context_network

    model, auroc = fit(data, args)
    out = args.out or context_network_path()
    write_context_network(model, out)
    print(f"wrote {out}")
    if args.out is None:
        from ml.data.sources import sha256_of

        digest = ROOT / "ml" / "numbers" / "context_digest.py"
        digest.write_text(
            '"""The SHA-256 of the shipped number context network, ``assets/models/digitlab-number-context.npz`` '
            "(written by\n``python tools/fit_number_context.py "
            f"--numbers {args.numbers} --seed {args.seed} --epochs {args.epochs}``; "
            f'held-out parts: AUROC {auroc:.4f})."""'
            f'\n\nCONTEXT_SHA256 = "{sha256_of(out)}"\n'
        )
        print(f"wrote {digest}")


if __name__ == "__main__":
    main()
