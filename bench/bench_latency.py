"""Single-image inference latency, all paths measured in one run on the same model and the same digits.

Rows: Digit Lab's ``Predictor.predict_one`` (its chosen backend), the same including preprocessing
(``ml.preprocess.pipeline.to_mnist`` on a 280x280 canvas, as the window does on every stroke), eager ``model(x)`` and
``model.predict``. Uses the bundled model when there is one, else builds the ``best`` preset (same size).

For the bundled model, its shipped numpy network (the answers without TensorFlow, ``ml.inference.shipped_numpy``)
and the predictor's path are then timed interleaved, 50 calls of each in turn: medians of wall and thread CPU time
per image and their ratio, which decides which path answers once Keras has loaded the model.

    python bench/bench_latency.py [--repeats 300] [--model path.keras]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_or_build_model(model_path: str | None):
    """The model to measure and a description of where it came from."""
    from ml.assets import bundled_model_path
    from ml.models.files import LoadedModel, load_model
    from ml.models.metadata import ModelMetadata

    path = Path(model_path) if model_path else bundled_model_path()
    if path.exists():
        return load_model(path), str(path)
    from ml.models.presets import build_model

    model = build_model("best", (28, 28, 1), 10)
    return LoadedModel(model, ModelMetadata(preset="best"), None, False), "built: 'best' preset (untrained)"


def milliseconds(run: Callable[[int], object], repeats: int, warmup: int = 20) -> tuple[float, float]:
    """(p50, p95) wall time of ``run(i)`` in milliseconds after ``warmup`` untimed calls."""
    for index in range(warmup):
        run(index)
    times = []
    for index in range(repeats):
        start = time.perf_counter()
        run(index)
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def main() -> None:
    """Measure and print the latency table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--model", default=None, help="a .keras/.h5 file (default: bundled model or 'best')")
    args = parser.parse_args()

    import numpy as np

    from ml.assets import bundled_mnist_path
    from ml.inference.model_input import adapt_to_input
    from ml.inference.predictor import Predictor
    from ml.preprocess.pipeline import render_mnist_on_canvas, to_mnist

    loaded, source = load_or_build_model(args.model)
    model = loaded.model
    start = time.perf_counter()
    predictor = Predictor(loaded)
    build_seconds = time.perf_counter() - start

    with np.load(bundled_mnist_path()) as data:
        digits = data["x_test"][:64].astype(np.float32) / 255.0
    canvases = [render_mnist_on_canvas(digit, 280) for digit in digits[:16]]
    model_inputs = [
        adapt_to_input(digit[None], loaded.input_shape, scale=loaded.metadata.input_scale) for digit in digits
    ]

    def ours(index: int) -> object:
        return predictor.predict_one(digits[index % len(digits)])

    def ours_with_preprocessing(index: int) -> object:
        prepared = to_mnist(canvases[index % len(canvases)], canvas=True)  # as the window reads its canvas
        return predictor.predict_one(prepared.image if prepared.image is not None else digits[0])

    def preprocessing_only(index: int) -> object:
        return to_mnist(canvases[index % len(canvases)], canvas=True)

    def eager(index: int) -> object:
        return model(model_inputs[index % len(model_inputs)], training=False).numpy()

    def keras_predict(index: int) -> object:
        return model.predict(model_inputs[index % len(model_inputs)], verbose=0)

    rows = [
        (f"ours: Predictor.predict_one [{predictor.backend}]", ours, args.repeats),
        ("ours incl. to_mnist(280x280 canvas)", ours_with_preprocessing, args.repeats),
        ("  of which to_mnist alone", preprocessing_only, args.repeats),
        ("eager model(x, training=False)", eager, args.repeats),
        ("model.predict(x)", keras_predict, max(20, args.repeats // 10)),
    ]
    print(f"model: {source}; {model.count_params():,} parameters; input {loaded.input_shape}")
    print(f"Predictor built in {build_seconds:.2f} s; backend {predictor.backend}", end="")
    print(f" (skipped: {predictor.fallback_reasons})" if predictor.fallback_reasons else "")
    print(f"{'path':<48} {'p50 ms':>9} {'p95 ms':>9} {'calls':>6}")
    for name, run, repeats in rows:
        p50, p95 = milliseconds(run, repeats, warmup=min(20, repeats))
        print(f"{name:<48} {p50:>9.3f} {p95:>9.3f} {repeats:>6}")
    compare_with_numpy(loaded, predictor, digits, args.repeats)


def compare_with_numpy(loaded, predictor, digits, repeats: int) -> None:
    """The shipped numpy network against the predictor's path, interleaved in blocks of 50 calls (same digits)."""
    import numpy as np

    from ml.inference.shipped_numpy import shipped_numpy_path

    numpy_path = shipped_numpy_path(loaded.path) if loaded.path is not None else None
    if numpy_path is None:
        print("no shipped numpy network for this model: nothing to compare")
        return
    paths = {predictor.backend: predictor.predict_one, "numpy (shipped)": numpy_path.predict_one}
    wall: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    for run in paths.values():
        for index in range(20):
            run(digits[index % len(digits)])  # warm-up
    for block in range(max(1, repeats // 50)):
        for name, run in paths.items() if block % 2 == 0 else reversed(paths.items()):
            for index in range(50):
                digit = digits[index % len(digits)]
                started, started_cpu = time.perf_counter(), time.thread_time()
                run(digit)
                cpu[name].append((time.thread_time() - started_cpu) * 1e3)
                wall[name].append((time.perf_counter() - started) * 1e3)
    for name in paths:
        print(
            f"interleaved predict_one [{name}]: wall p50 {np.median(wall[name]):.3f} ms "
            f"(p95 {np.percentile(wall[name], 95):.3f}), thread CPU p50 {np.median(cpu[name]):.3f} ms, "
            f"{len(wall[name])} calls"
        )
    numpy_wall, other_wall = np.median(wall["numpy (shipped)"]), np.median(wall[predictor.backend])
    print(f"numpy / {predictor.backend} wall-time ratio: {numpy_wall / other_wall:.2f}")


if __name__ == "__main__":
    main()
