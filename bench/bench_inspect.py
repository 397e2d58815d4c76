"""Look inside, timed: every layer's output for one drawing, Grad-CAM and Integrated Gradients, one image at a time.

Each is also given as a ratio to one eager ``model(x)`` call measured in the same run, round-robin (one call of each
per round), so machine noise hits all of them alike. Medians (p50) and p95 over the rounds, after warm-up calls.
Uses the bundled model unless ``--model`` names another.

    python bench/bench_inspect.py [--model FILE] [--rounds 200] [--steps 64]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentile(values: list[float], share: float) -> float:
    return float(np.percentile(np.asarray(values), share))


def main() -> None:
    """Time the four operations round-robin and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras or .h5 model (default: the bundled model)")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=None, help="Integrated Gradients steps (default: Digit Lab's)")
    args = parser.parse_args()

    from ml.assets import bundled_model_path
    from ml.inspect.evidence import DEFAULT_STEPS, Explainer
    from ml.inspect.layers import NetworkTracer
    from ml.models.files import load_model

    path = Path(args.model) if args.model else bundled_model_path()
    loaded = load_model(path)
    steps = args.steps or DEFAULT_STEPS
    started = time.perf_counter()
    tracer = NetworkTracer(loaded)
    built_tracer = time.perf_counter() - started
    started = time.perf_counter()
    explainer = Explainer(loaded)
    built_explainer = time.perf_counter() - started
    with np.load(Path(bundled_model_path()).parents[1] / "data" / "mnist.npz") as archive:
        digits = archive["x_test"][: args.rounds + args.warmup].astype(np.float32) / 255.0
    model = loaded.model
    operations = {
        "eager model(x)": lambda digit: model(tracer.model_input(digit), training=False),
        "all layer outputs (NetworkTracer.trace)": tracer.trace,
        "Grad-CAM (last conv layer, every tower)": lambda digit: explainer.explain(digit, "gradcam"),
        f"Integrated Gradients ({steps} steps, one batch)": lambda digit: explainer.explain(
            digit, "integrated-gradients", steps=steps
        ),
    }
    if not explainer.has_conv:
        del operations["Grad-CAM (last conv layer, every tower)"]
    times: dict[str, list[float]] = {name: [] for name in operations}
    for index, digit in enumerate(digits):
        for name, operation in operations.items():
            begun = time.perf_counter()
            operation(digit)
            if index >= args.warmup:
                times[name].append((time.perf_counter() - begun) * 1000)
    layers = len(tracer.describe())
    print(f"model: {path.name} ({layers} network-view entries), {args.rounds} rounds after {args.warmup} warm-up")
    print(f"built once: NetworkTracer {built_tracer:.2f} s, Explainer {built_explainer:.2f} s")
    eager_p50, eager_p95 = percentile(times["eager model(x)"], 50), percentile(times["eager model(x)"], 95)
    print("| operation | p50 | p95 | p50 / eager p50 | p95 / eager p95 |")
    print("|---|--:|--:|--:|--:|")
    for name, values in times.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"| {name} | {p50:.1f} ms | {p95:.1f} ms | {p50 / eager_p50:.2f} | {p95 / eager_p95:.2f} |")


if __name__ == "__main__":
    main()
