"""Evaluation benchmarks (issue 10), each measured in one run on the bundled model.

1. The whole evaluation of the 10,000 MNIST test images with every metric (``ml.evaluation.run.evaluate``: batches
   with progress and stop checks, preparation, calibrated and raw probabilities, Wilson interval, top-2, per-class
   figures, confusion, reliability and ECE) vs a plain ``model.predict`` of the same arrays (already prepared,
   batch 512), interleaved A/B/A/B… so machine noise hits both; medians and the median of per-round ratios.
2. The robustness sweep (5 kinds, 37 shifted copies plus the plain images) on a sample, as ``digitlab evaluate
   --json`` runs it.
3. Calibration: the temperature fitted on the model's own validation split (5,000 images carved from MNIST's
   training set with its seed, never the test set), and the ECE on MNIST test before and after.

    python bench/bench_evaluation.py [--rounds 5] [--robustness-sample 1000] [--model FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--robustness-sample", type=int, default=1000, help="0: all 10,000 images")
    parser.add_argument("--model", help="a .keras or .h5 model (default: the bundled one)")
    args = parser.parse_args()

    from ml.cli.progress import quiet_tensorflow

    quiet_tensorflow()
    from ml.assets import bundled_model_path
    from ml.evaluation.calibration import calibrate_model
    from ml.evaluation.robustness import LEVELS, NEUTRAL, robustness_curves
    from ml.evaluation.run import evaluate
    from ml.evaluation.sets import load_evaluation_set
    from ml.inference.model_input import prepare_for_model
    from ml.inference.scoring import BatchScorer
    from ml.models.files import load_model

    loaded = load_model(args.model or bundled_model_path())
    eval_set = load_evaluation_set("mnist-test", loaded)
    inputs = prepare_for_model(eval_set.images, loaded.input_shape, loaded.metadata)
    scorer = BatchScorer(loaded)
    print(f"model: {loaded.display_name}; set: {eval_set.title}; {os.cpu_count()} CPUs")

    evaluate(loaded, eval_set.subset(range(1024)), scorer=scorer)  # trace the graph once, as a window would
    loaded.model.predict(inputs[:1024], batch_size=512, verbose=0)
    plain_times, evaluation_times, ratios = [], [], []
    for round_index in range(args.rounds):
        started = time.perf_counter()
        loaded.model.predict(inputs, batch_size=512, verbose=0)
        plain = time.perf_counter() - started
        started = time.perf_counter()
        evaluation = evaluate(loaded, eval_set, progress=lambda done, total: None, should_stop=lambda: False,
                              scorer=scorer)  # fmt: skip
        whole = time.perf_counter() - started
        plain_times.append(plain)
        evaluation_times.append(whole)
        ratios.append(whole / plain)
        print(
            f"  round {round_index + 1}: model.predict {plain:.2f} s, evaluate {whole:.2f} s, ratio {whole / plain:.3f}"
        )
    report = evaluation.report
    print(
        f"1. evaluation of {report.n:,} images with every metric: median {statistics.median(evaluation_times):.2f} s "
        f"vs model.predict {statistics.median(plain_times):.2f} s; ratio of medians "
        f"{statistics.median(evaluation_times) / statistics.median(plain_times):.3f}, median per-round ratio "
        f"{statistics.median(ratios):.3f} (target <= 1.2); accuracy {100 * report.accuracy:.2f} %"
    )

    sample = args.robustness_sample or None
    levels = sum(1 for kind in LEVELS for level in LEVELS[kind] if level != NEUTRAL[kind]) + 1
    started = time.perf_counter()
    curves = robustness_curves(loaded, eval_set, sample=sample, scorer=scorer)
    sweep = time.perf_counter() - started
    images = min(sample or len(eval_set), len(eval_set))
    print(
        f"2. robustness sweep on {images:,} images ({levels} versions, {levels * images:,} images scored): "
        f"{sweep:.1f} s ({levels * images / sweep:,.0f} images/s)"
    )
    for kind, points in curves.items():
        print(f"   {kind}: " + ", ".join(f"{level:g}: {100 * accuracy:.1f} %" for level, accuracy in points))

    ece_before = report.ece
    started = time.perf_counter()
    result = calibrate_model(loaded)
    calibration_seconds = time.perf_counter() - started
    after = evaluate(loaded, eval_set, scorer=scorer).report
    print(f"3. calibration ({calibration_seconds:.1f} s): {result.as_text()}")
    print(
        f"   MNIST test ECE (15 bins): {100 * ece_before:.2f} % before, {100 * after.ece_calibrated:.2f} % after "
        f"(T = {result.temperature:.3f}); accuracy unchanged: {100 * after.accuracy:.2f} %"
    )


if __name__ == "__main__":
    main()
