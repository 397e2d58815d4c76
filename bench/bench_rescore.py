"""Training throughput with the drawing re-scored ("watch it learn your digit") vs without, measured in one run.

``ml.training.fit.fit`` with every reporting hook, with and without ``rescore=Rescore(...)`` (every 200 batches, the
default, and every 50), interleaved round by round in a rotating order so machine noise hits all alike; samples/s of
the second epoch (which includes the first epoch's end-of-epoch re-score and filter read-out), medians over rounds.
On a loaded machine the A/B ratio swings by tens of per cent between rounds, so the time spent inside the re-scoring
callback is also measured directly, as a share of the epoch: the throughput it costs.

    python bench/bench_rescore.py [--preset fast] [--samples 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timing_rescore_callbacks(spent: list[float]) -> None:
    """Make ``fit``'s re-scoring callbacks add the seconds each report takes to ``spent``."""
    import time

    import ml.training.fit as fit_module
    from ml.training.rescore import make_rescore_callback

    def make_timed(*args, **kwargs):
        callback = make_rescore_callback(*args, **kwargs)
        report = callback.report

        def timed_report(*report_args, **report_kwargs):
            begun = time.perf_counter()
            report(*report_args, **report_kwargs)
            spent.append(time.perf_counter() - begun)

        callback.report = timed_report
        return callback

    fit_module.make_rescore_callback = make_timed


def second_epoch_seconds(preset: str, dataset, batch_size: int, seed: int, every: int | None, drawing) -> float:
    """Seconds of the second epoch of ``fit``, re-scoring ``drawing`` every ``every`` batches (None: not at all)."""
    from ml.training.config import PauseGate, TrainConfig
    from ml.training.fit import fit
    from ml.training.rescore import Rescore

    epochs: list[dict] = []
    reports: list[dict] = []
    config = TrainConfig(
        preset=preset, epochs=2, batch_size=batch_size, learning_rate=1e-3, schedule="constant", seed=seed
    )
    rescore = None if every is None else Rescore(drawing, reports.append, every_batches=every)
    fit(
        config,
        dataset=dataset,
        on_batch=lambda report: None,
        on_epoch=epochs.append,
        should_stop=lambda: False,
        wait_while_paused=PauseGate(),
        rescore=rescore,
    )
    if every is not None and not reports:
        raise SystemExit("the drawing was never re-scored")
    return epochs[1]["elapsed"] - epochs[0]["elapsed"]


def main() -> None:
    """Interleave the variants and print samples/s medians and their ratios to training without re-scoring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from ml.data.datasets import load_mnist

    dataset = load_mnist(validation_size=2000).subset(args.samples, 2000)
    drawing = np.asarray(dataset.x_test[0], dtype=np.float32).reshape(28, 28)
    drawing = drawing / 255.0 if drawing.max() > 1 else drawing
    variants = {"off": None, "every 200 batches (default)": 200, "every 50 batches": 50}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    shares: dict[str, list[float]] = {name: [] for name in variants}
    spent: list[float] = []
    timing_rescore_callbacks(spent)
    names = list(variants)
    for round_index in range(args.rounds):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            spent.clear()
            seconds[name].append(
                second_epoch_seconds(args.preset, dataset, args.batch_size, round_index, variants[name], drawing)
            )
            shares[name].append(sum(spent) / 2 / seconds[name][-1])  # two epochs' re-scoring, per epoch's time
        rates = ", ".join(f"{name} {len(dataset.x_train) / seconds[name][-1]:,.0f}" for name in names)
        print(f"  round {round_index + 1}: samples/s: {rates}", flush=True)
    steps = -(-len(dataset.x_train) // args.batch_size)
    print(
        f"training throughput with the drawing re-scored, preset {args.preset}, {len(dataset.x_train)} images, "
        f"batch {args.batch_size} ({steps} batches per epoch), median of {args.rounds} (epoch 2, incl. validation):"
    )
    off = len(dataset.x_train) / statistics.median(seconds["off"])
    for name in names:
        rate = len(dataset.x_train) / statistics.median(seconds[name])
        share = statistics.median(shares[name])
        print(
            f"  re-scoring {name:<28} {rate:,.0f} samples/s   ratio to off {rate / off:.3f}   "
            f"time inside re-scoring {share:.2%} of an epoch (throughput ratio {1 - share:.3f})"
        )


if __name__ == "__main__":
    main()
