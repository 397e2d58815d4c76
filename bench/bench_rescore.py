"""Training throughput with the drawing re-scored ("watch it learn your digit") vs without, measured in one run.

``ml.training.fit.fit`` with every reporting hook, with and without ``rescore=Rescore(...)`` (every 200 batches, the
default, and every 50), interleaved round by round in a rotating order so machine noise hits all alike; samples/s of
the second epoch (which includes the first epoch's end-of-epoch re-score and filter read-out), medians over rounds.
On a loaded machine the A/B ratio swings by tens of per cent between rounds, so the time spent inside the re-scoring
callback is also measured directly, as a share of the epoch: the throughput it costs.

``--alternate-epochs N`` instead trains once for N epochs, re-scoring only in every other epoch (an epoch's end
report is charged to the next epoch, whose time it lands in), so on and off epochs alternate every few seconds and share
the machine's load; medians of the epochs after the first.

    python bench/bench_rescore.py [--preset fast] [--samples 20000] [--rounds 3]
    python bench/bench_rescore.py --alternate-epochs 13 --every 50 [--preset fast] [--samples 12000]
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


def alternating_epochs(args: argparse.Namespace, dataset, drawing) -> None:
    """One run, re-scoring in even epochs only; print the median samples/s of on and off epochs and their ratio."""
    import time

    import ml.training.fit as fit_module
    from ml.training.config import PauseGate, TrainConfig
    from ml.training.fit import fit
    from ml.training.rescore import Rescore, make_rescore_callback

    def make_gated(*make_args, **make_kwargs):
        callback = make_rescore_callback(*make_args, **make_kwargs)
        report = callback.report

        def gated_report(batch: int, epoch_end: bool) -> None:
            if (callback.epoch + (1 if epoch_end else 0)) % 2 == 0:
                report(batch, epoch_end)

        callback.report = gated_report
        return callback

    fit_module.make_rescore_callback = make_gated
    epochs: list[dict] = []
    cpu: list[float] = []  # the process's CPU seconds (all threads) at each epoch's end: less swayed by other jobs
    reports: list[dict] = []

    def epoch_ended(report: dict) -> None:
        cpu.append(time.process_time())
        epochs.append(report)

    config = TrainConfig(
        preset=args.preset, epochs=args.alternate_epochs, batch_size=args.batch_size, schedule="constant", seed=0
    )
    fit(
        config,
        dataset=dataset,
        on_batch=lambda report: None,
        on_epoch=epoch_ended,
        should_stop=lambda: False,
        wait_while_paused=PauseGate(),
        rescore=Rescore(drawing, reports.append, every_batches=args.every),
    )
    elapsed = [report["elapsed"] for report in epochs]
    durations = {index: elapsed[index] - elapsed[index - 1] for index in range(1, len(elapsed))}
    rate = {
        parity: len(dataset.x_train) / statistics.median(d for i, d in durations.items() if i % 2 == parity)
        for parity in (0, 1)
    }
    steps = -(-len(dataset.x_train) // args.batch_size)
    print(
        f"alternating epochs, preset {args.preset}, {len(dataset.x_train)} images, batch {args.batch_size} ({steps} "
        f"batches per epoch), re-scoring every {args.every} batches and at each epoch's end, {len(durations)} epochs "
        f"after the first ({len(reports)} re-scorings):"
    )
    print(
        "  epoch seconds (on = with re-scoring): "
        + ", ".join(
            f"{index + 1} {'on' if index % 2 == 0 else 'off'} {seconds:.2f}" for index, seconds in durations.items()
        )
    )
    print(f"  epochs with re-scoring     {rate[0]:,.0f} samples/s (median)")
    print(f"  epochs without re-scoring  {rate[1]:,.0f} samples/s (median)")
    print(f"  ratio                      {rate[0] / rate[1]:.3f}")
    cpu_seconds = {index: cpu[index] - cpu[index - 1] for index in range(1, len(cpu))}
    median_cpu = {parity: statistics.median(d for i, d in cpu_seconds.items() if i % 2 == parity) for parity in (0, 1)}
    print(
        f"  CPU seconds per epoch: with {median_cpu[0]:.2f}, without {median_cpu[1]:.2f} (median); "
        f"throughput ratio by CPU work {median_cpu[1] / median_cpu[0]:.3f}"
    )


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
    parser.add_argument("--alternate-epochs", type=int, default=0, help="one run, re-scoring every other epoch")
    parser.add_argument("--every", type=int, default=200, help="with --alternate-epochs: re-score every N batches")
    args = parser.parse_args()

    from ml.data.datasets import load_mnist

    dataset = load_mnist(validation_size=2000).subset(args.samples, 2000)
    drawing = np.asarray(dataset.x_test[0], dtype=np.float32).reshape(28, 28)
    drawing = drawing / 255.0 if drawing.max() > 1 else drawing
    if args.alternate_epochs:
        alternating_epochs(args, dataset, drawing)
        return
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
