"""Confirm the GPU path in one command: train ``fast`` for one epoch and say where it ran and how fast.

Prints the devices TensorFlow sees (name and compute capability of each GPU, or that none was found), the strategy
and whether mixed precision was used, the training throughput of the epoch (samples/s over its batches after the
first tenth, which compile the step) and the test accuracy. Works on a CPU-only machine too.

    python bench/gpu_check.py [--samples 55000] [--batch-size 128] [--no-mixed-precision]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=55000, help="MNIST training images (default: all 55,000)")
    parser.add_argument("--batch-size", type=int, default=128, help="per device (default 128, the preset's)")
    parser.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, default=None)
    args = parser.parse_args()

    from ml.native_log import start_tensorflow_quietly

    start_tensorflow_quietly()
    import tensorflow as tf

    from ml.data.datasets import load_dataset
    from ml.training.config import TrainConfig
    from ml.training.distribution import gpu_descriptions
    from ml.training.fit import fit

    print(f"TensorFlow {tf.__version__}, built with CUDA: {tf.test.is_built_with_cuda()}")
    gpus = gpu_descriptions()
    if not gpus:
        print("No GPU was found: TensorFlow trains on the CPU. (On a GPU machine: pip install '.[gpu]' and check")
        print("that nvidia-smi works; TensorFlow's own messages: run with DIGITLAB_DEBUG=1.)")
    for name, capability in gpus:
        shown = f"{capability[0]}.{capability[1]}" if capability else "unknown"
        print(f"{name} (compute capability {shown})")
    dataset = load_dataset("mnist").subset(args.samples, 10000)
    batch_ends: list[float] = []
    config = TrainConfig(
        preset="fast", epochs=1, batch_size=args.batch_size, augment=False, mixed_precision=args.mixed_precision
    )
    started = time.perf_counter()
    result = fit(
        config,
        dataset=dataset,
        on_batch=lambda report: batch_ends.append(time.perf_counter()),
        on_devices=lambda devices: print(f"training on: {devices}"),
    )
    steps = len(batch_ends)
    global_batch = args.batch_size * max(1, len(gpus))  # several GPUs train under MirroredStrategy
    warm = max(1, steps // 10)  # the first batches compile the step
    timed = batch_ends[warm : steps - 1]  # the last batch may be partial
    throughput = (len(timed) - 1) * global_batch / (timed[-1] - timed[0])
    mixed = "mixed precision (float16)" in result.device
    print(f"devices: {result.device}")
    print(f"mixed precision used: {'yes' if mixed else 'no'}")
    for note in result.notes:
        print(note)
    print(
        f"throughput: {throughput:,.0f} samples/s (batches {warm + 2}-{steps - 1} of {steps}, "
        f"global batch {global_batch})"
    )
    print(f"one epoch with compilation and testing: {time.perf_counter() - started:.1f} s")
    print(f"test accuracy: {result.test_accuracy:.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
