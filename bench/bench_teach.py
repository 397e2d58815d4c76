"""Teach it your handwriting: a style the bundled model reads poorly, 5 samples per digit, before and after.

The style is ``ml.teach.styles.outline_digits`` (``--style outline``): MNIST digits drawn as hollow outlines, which the
bundled model reads at about 68 %; or ``slanted_digits`` (``--style slant``), a strong slant read at about 72 %. The
teach's settings were tuned on other samples and other digits (MNIST's validation split), never on these held-back
digits. The "user's" samples are 5 outline digits per class from MNIST's validation split (never its test
set); the held-back samples of the style are ``--held-back`` other outline digits from the MNIST test set. The teach
is ``ml.teach.teaching.teach`` with its default settings (what the window and ``digitlab teach`` use): a clone of the
model, MNIST replay, augmentation, batch-norm frozen.

Printed per run and as medians over ``--runs`` runs (each with its own samples and seed):
- style accuracy before / after on the held-back outline digits;
- MNIST test accuracy before / after on the full test set (10,000 digits), and the drop in points;
- wall time of the teach (the fine-tuning itself) and of the whole call (reading MNIST and the four measurements),
  with the whole call's CPU time (both cores: a figure the other jobs on a loaded machine do not inflate much).

With ``--previous``, each run also teaches the same samples with the defaults before this round
(``PREVIOUS_SETTINGS``), so the two are compared on the same draws and the same machine load. With ``--shares``,
the default teach's result is also measured with other shares of its change kept (the weight-space blend with the
original, moved along the same line: no second teach), one line per share.

    python bench/bench_teach.py [--runs 3] [--style outline|slant] [--held-back 2000] [--per-class 5] [--epochs N]
        [--previous] [--shares 0.7,1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The teach's defaults before this round: the settings changed since, at their old values.
PREVIOUS_SETTINGS = {
    "epochs": 10,
    "sample_repeats": 8,
    "replay_per_sample": 2,
    "replay_in_user_slant": 0.7,
    "replay_slant_spread": 0.0,
    "taught_share_in_user_slant": None,
}


def medians_and_drop(measured: list[tuple]) -> tuple[list[float], float]:
    """The median of each column of the runs' rows, and the median MNIST test drop (columns 2 and 3: before, after)."""
    median = [statistics.median(column) for column in zip(*measured, strict=True)]
    return median, statistics.median(row[2] - row[3] for row in measured)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--style", choices=("outline", "slant"), default="outline")
    parser.add_argument("--held-back", type=int, default=2000)
    parser.add_argument("--per-class", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None, help="default: TeachSettings' default")
    parser.add_argument("--previous", action="store_true", help="also teach with the previous defaults")
    parser.add_argument("--shares", default="", help="also measure the default teach at these kept shares, e.g. 0.7,1")
    args = parser.parse_args()

    from ml.assets import bundled_model_path
    from ml.data.datasets import load_mnist
    from ml.models.files import load_model
    from ml.teach.styles import outline_digits, slanted_digits
    from ml.teach.teaching import TeachSettings, teach

    style = outline_digits if args.style == "outline" else slanted_digits
    mnist = load_mnist()
    held_images = style(mnist.x_test[: args.held_back, ..., 0])
    held_labels = mnist.y_test[: args.held_back].astype(np.int64)
    variants = {"defaults": {}, **({"previous defaults": PREVIOUS_SETTINGS} if args.previous else {})}
    rows: dict[str, list[tuple]] = {name: [] for name in variants}
    shares = [float(text) for text in filter(None, args.shares.split(","))]
    blends: dict[float, list[tuple]] = {share: [] for share in shares}
    for run in range(args.runs):
        rng = np.random.default_rng(run)
        chosen = np.concatenate(
            [rng.choice(np.flatnonzero(mnist.y_val == digit), args.per_class, replace=False) for digit in range(10)]
        )
        samples = style(mnist.x_val[chosen, ..., 0])
        for name, overrides in variants.items():
            loaded = load_model(bundled_model_path())
            epochs = {} if args.epochs is None else {"epochs": args.epochs}
            settings = TeachSettings(seed=run, **{**epochs, **overrides})
            started, cpu_started = time.perf_counter(), time.process_time()
            result = teach(
                loaded, samples, mnist.y_val[chosen].astype(np.int64), settings, held_back=(held_images, held_labels)
            )
            whole, whole_cpu = time.perf_counter() - started, time.process_time() - cpu_started
            record = result.record
            row = (
                record["samples_before"],
                record["samples_after"],
                record["test_before"],
                record["test_after"],
                record["teach_seconds"],
                whole,
                whole_cpu,
            )
            rows[name].append(row)
            print(
                f"run {run}, {name}: style {100 * row[0]:.1f} % -> {100 * row[1]:.1f} %, MNIST test "
                f"{100 * row[2]:.2f} % -> {100 * row[3]:.2f} % ({100 * (row[3] - row[2]):+.2f} points), teach "
                f"{row[4]:.0f} s, whole call {row[5]:.0f} s ({row[6]:.0f} CPU s), replay sheared "
                f"{record['user_slant']:+.2f} px/row, {100 * record['taught_share']:.0f} % of the change kept, "
                f"load average "
                f"{os.getloadavg()[0]:.1f}",
                flush=True,
            )
            if name == "defaults":
                held = (held_images, held_labels)
                for share in shares:
                    style_after, test_after = _blend_measured(result, loaded, record, share, held, mnist)
                    blends[share].append((record["samples_before"], style_after, record["test_before"], test_after))
                    print(
                        f"run {run}, defaults with {100 * share:.0f} % of the change kept: style "
                        f"{100 * style_after:.1f} %, MNIST test {100 * test_after:.2f} % "
                        f"({100 * (test_after - record['test_before']):+.2f} points)",
                        flush=True,
                    )
    for share, measured in blends.items():
        median, drop = medians_and_drop(measured)
        print(
            f"defaults with {100 * share:.0f} % of the change kept, median of {args.runs}: style "
            f"{100 * median[0]:.1f} % -> {100 * median[1]:.1f} %; MNIST test {100 * median[2]:.2f} % -> "
            f"{100 * median[3]:.2f} % (drop {100 * drop:.2f} points)"
        )
    for name, measured in rows.items():
        median, drop = medians_and_drop(measured)
        print(
            f"{name}, median of {args.runs}: style {100 * median[0]:.1f} % -> {100 * median[1]:.1f} % "
            f"({args.held_back} held-back {args.style} digits, {args.per_class} samples per digit); MNIST test "
            f"{100 * median[2]:.2f} % -> {100 * median[3]:.2f} % (drop {100 * drop:.2f} points); teach "
            f"{median[4]:.0f} s, whole call {median[5]:.0f} s ({median[6]:.0f} CPU s; {os.cpu_count()} CPUs)"
        )
    return 0


def _blend_measured(result, loaded, record: dict, share: float, held: tuple, mnist) -> tuple[float, float]:
    """Style and MNIST test accuracy of the taught model with ``share`` of the teach's change kept: the result kept
    ``record["taught_share"]`` of it, so the blend moves along the same line; the model is put back afterwards."""
    from ml.teach.teaching import accuracy

    kept = record["taught_share"]
    shipped, original = result.model.get_weights(), loaded.model.get_weights()
    scale = share / kept
    result.model.set_weights([scale * r + (1 - scale) * o for r, o in zip(shipped, original, strict=True)])
    style_after = accuracy(loaded, *held, result.model)
    test_after = accuracy(loaded, mnist.x_test[..., 0], mnist.y_test.astype(np.int64), result.model)
    result.model.set_weights(shipped)
    return style_after, test_after


if __name__ == "__main__":
    raise SystemExit(main())
