"""Training benchmarks, each measured in one run.

1. Throughput of Digit Lab's training loop (``ml.training.fit.fit`` with its per-batch reporting, stop checks and
   pause gate) vs a plain ``model.fit`` of the same model on the same pipeline, interleaved A/B/A/B… so machine
   noise hits both; medians of the steady-state (second) epoch.
2. Wall time from start to ≥ 99.0 % MNIST test accuracy for the fastest preset: the whole
   ``digitlab train`` command (TensorFlow import, data, build, training, test evaluation), with the smallest
   epoch count that reaches the target.

    python bench/bench_training.py [--preset best] [--samples 20000] [--rounds 3] [--fast-preset fast]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def plain_fit_epoch_seconds(preset: str, dataset, batch_size: int, seed: int) -> float:
    """Seconds of the second epoch of a plain ``model.fit`` (no Digit Lab callbacks)."""
    import keras

    from ml.models.presets import build_model
    from ml.training.pipelines import make_train_pipeline

    keras.utils.set_random_seed(seed)
    model = build_model(preset, dataset.input_shape, dataset.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    pipeline = make_train_pipeline(dataset.x_train, dataset.y_train, batch_size, False, seed)
    times: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(pipeline, epochs=2, validation_data=(dataset.x_val, dataset.y_val), callbacks=[EpochTimer()],
              shuffle=False, verbose=0)
    return times[-1]


def digitlab_fit_epoch_seconds(preset: str, dataset, batch_size: int, seed: int) -> float:
    """Seconds of the second epoch of ``ml.training.fit.fit`` with every reporting hook attached."""
    from ml.training.config import PauseGate, TrainConfig
    from ml.training.fit import fit

    batches: list[dict] = []
    epochs: list[dict] = []
    gate = PauseGate()
    config = TrainConfig(preset=preset, epochs=2, batch_size=batch_size, optimizer="adam", learning_rate=1e-3,
                         schedule="constant", augment=False, seed=seed)
    fit(config, dataset=dataset, on_batch=batches.append, on_epoch=epochs.append,
        should_stop=lambda: False, wait_while_paused=gate)
    return epochs[1]["elapsed"] - epochs[0]["elapsed"]


def throughput(args: argparse.Namespace) -> None:
    """Interleave both loops and print samples/s medians and their ratio."""
    from ml.data.datasets import load_mnist

    dataset = load_mnist(validation_size=2000).subset(args.samples, 2000)
    ours, plain = [], []
    for round_index in range(args.rounds):
        ours.append(digitlab_fit_epoch_seconds(args.preset, dataset, args.batch_size, round_index))
        plain.append(plain_fit_epoch_seconds(args.preset, dataset, args.batch_size, round_index))
        print(f"  round {round_index + 1}: digitlab {len(dataset.x_train) / ours[-1]:,.0f} samples/s, "
              f"plain model.fit {len(dataset.x_train) / plain[-1]:,.0f} samples/s", flush=True)
    ours_rate = len(dataset.x_train) / statistics.median(ours)
    plain_rate = len(dataset.x_train) / statistics.median(plain)
    print(f"training throughput, preset {args.preset}, {len(dataset.x_train)} images, batch {args.batch_size}, "
          f"median of {args.rounds} (epoch 2, incl. validation):")
    print(f"  digitlab fit   {ours_rate:,.0f} samples/s")
    print(f"  plain fit      {plain_rate:,.0f} samples/s")
    print(f"  ratio          {ours_rate / plain_rate:.3f}")


def time_to_accuracy(args: argparse.Namespace, target: float = 0.99) -> None:
    """Run ``digitlab train`` with 1, 2, … epochs until the test accuracy reaches the target."""
    for epochs in range(1, args.max_epochs + 1):
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "app", "train", "--preset", args.fast_preset, "--epochs", str(epochs),
             "--out", os.path.join(args.tmp, f"fast-{epochs}.keras")],
            capture_output=True, text=True,
        )
        wall = time.perf_counter() - started
        found = re.search(r"test accuracy: ([0-9.]+)", result.stdout)
        if not found:
            print(result.stderr[-2000:])
            raise SystemExit("training failed")
        accuracy = float(found.group(1))
        print(f"  {args.fast_preset}, {epochs} epoch(s): test accuracy {accuracy:.4f}, wall {wall:.1f} s", flush=True)
        if accuracy >= target:
            print(f"time to ≥ {target:.1%} test accuracy: {wall:.1f} s (preset {args.fast_preset}, {epochs} epochs,"
                  " whole `digitlab train` command)")
            return
    print(f"{args.fast_preset} did not reach {target:.1%} within {args.max_epochs} epochs")


def main() -> None:
    """Parse arguments and run the benchmarks."""
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="best")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fast-preset", default="fast")
    parser.add_argument("--max-epochs", type=int, default=4)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-time-to-accuracy", action="store_true")
    args = parser.parse_args()
    if not args.skip_throughput:
        throughput(args)
    if not args.skip_time_to_accuracy:
        with tempfile.TemporaryDirectory() as args.tmp:
            time_to_accuracy(args)


if __name__ == "__main__":
    main()
