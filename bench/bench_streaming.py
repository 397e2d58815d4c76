"""Streamed image folders: peak memory and throughput of one training epoch, against reading the folder into memory.

Writes folders of 10k, 50k and 200k 28x28 PNG digits (MNIST training images, one folder per class) in a temporary
folder, then trains the ``fast`` preset for one epoch on each in a child process and reads its peak RSS with
``os.wait4``: streamed from the paths (``ml.data.streaming``) and, for the smaller folders, read into memory first
(``ml.data.datasets.load_image_folder``). Streamed runs decode in tf.data's threads (``streamed``) or in one reader
process per core (``streamed-processes``, ``--reader-processes``). Throughput is the training epoch's samples per
second (the in-memory path read its images before); the 10k comparison alternates the paths ``--rounds`` times in
this run and quotes medians and their ratios, also of the whole run (read, train one epoch, test).

    python bench/bench_streaming.py [--sizes 10000,50000,200000] [--in-memory-sizes 10000,50000] [--rounds 3]

``--evaluate`` instead evaluates the bundled model on every image of each folder (``digitlab evaluate --dataset
FOLDER``'s path, streamed, against reading the folder into memory first) and prints peak RSS and time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = """
import json, sys, time
from ml.training.config import TrainConfig
from ml.training.fit import fit
path, folder, epochs, cache = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
started = time.perf_counter()
config = TrainConfig(
    preset="fast", dataset=folder, image_size=28, epochs=epochs, batch_size=128, augment=False,
    folder_cache=None if cache == "none" else cache,
)
dataset = None
if path == "streamed-processes":
    import os
    from dataclasses import replace
    config = replace(config, reader_processes=os.cpu_count())
if path == "in-memory":
    from ml.data.datasets import load_image_folder
    dataset = load_image_folder(folder, image_size=28)
loaded = time.perf_counter() - started
reports, cpu = [], []
def on_epoch(report):
    reports.append(report)
    cpu.append(time.process_time())  # the whole process's CPU time: every thread, reading and training
def on_batch(report):
    if not cpu:
        cpu.append(time.process_time())  # after the first batch: tracing and start-up left out
result = fit(config, dataset=dataset, on_epoch=on_epoch, on_batch=on_batch)
samples = len(dataset.x_train) if dataset is not None else None
elapsed = [report["elapsed"] for report in reports]
print(json.dumps({
    "epoch_seconds": elapsed[0], "load_seconds": loaded, "total_seconds": time.perf_counter() - started,
    "last_epoch_seconds": elapsed[-1] - elapsed[-2] if len(elapsed) > 1 else elapsed[0],
    "epoch_cpu_seconds": cpu[1] - cpu[0], "last_epoch_cpu_seconds": cpu[-1] - cpu[-2],
    "test_accuracy": result.test_accuracy, "train_samples": samples, "notes": result.notes,
}))
"""


EVALUATE_CHILD = """
import json, sys, time
from ml.evaluation.run import evaluate
from ml.evaluation.sets import load_evaluation_set
from ml.evaluation.streamed import evaluate_folder_stream, open_folder_stream
from ml.models.files import load_model
from ml.assets import bundled_model_path
path, folder = sys.argv[1], sys.argv[2]
loaded = load_model(bundled_model_path())
started = time.perf_counter()
if path == "streamed":
    evaluation = evaluate_folder_stream(loaded, open_folder_stream(folder, loaded))
else:
    evaluation = evaluate(loaded, load_evaluation_set(folder, loaded))
print(json.dumps({"seconds": time.perf_counter() - started, "accuracy": evaluation.report.accuracy,
                  "n": int(evaluation.report.n)}))
"""
PATHS = ("streamed", "streamed-processes", "in-memory")  # threads decode, reader processes decode, read first


def write_folders(root: Path, sizes: list[int]) -> dict[int, Path]:
    """Folders of ``sizes`` 28x28 PNGs; the biggest is written, the others hard-link its first files."""
    import numpy as np
    from PIL import Image

    from ml.data.sources import read_mnist_arrays

    arrays = read_mnist_arrays()
    images, labels = arrays["x_train"], arrays["y_train"]
    biggest = max(sizes)
    source = root / f"digits-{biggest}"
    started = time.perf_counter()
    for digit in range(10):
        (source / str(digit)).mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = []
    for index in range(biggest):
        picked = index % len(images)
        image = images[picked]
        if index >= len(images):  # later copies are shifted a pixel or two, so no two files are the same
            image = np.roll(image, tuple(rng.integers(-2, 3, size=2)), axis=(0, 1))
        name = f"{labels[picked]}/{index:06d}.png"
        Image.fromarray(image).save(source / name, compress_level=1)
        names.append(name)
    print(f"wrote {biggest:,} PNGs in {time.perf_counter() - started:.0f} s", flush=True)
    folders = {biggest: source}
    for size in sizes:
        if size == biggest:
            continue
        folder = root / f"digits-{size}"
        for digit in range(10):
            (folder / str(digit)).mkdir(parents=True)
        for name in names[:size]:
            os.link(source / name, folder / name)
        folders[size] = folder
    return folders


def run_child(path: str, folder: Path, epochs: int = 1, cache: str = "none", code: str = CHILD) -> dict:
    """Train one epoch (or evaluate) in a child process; its report plus its peak RSS (MB) from ``wait4``."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        command = [sys.executable, "-c", code, path, str(folder), str(epochs), cache]
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        err.seek(0)
        if status != 0:
            raise RuntimeError(f"{path} on {folder} failed: {err.read().decode()[-2000:]}")
        report = json.loads(out.read().decode().strip().splitlines()[-1])
    report["peak_rss_mb"] = usage.ru_maxrss / 1024
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,200000")
    parser.add_argument("--in-memory-sizes", default="10000,50000")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of both paths on the smallest folder")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (the last one's throughput is shown)")
    parser.add_argument("--cache", default="none", help="streamed runs' --cache: none (default), auto or memory")
    parser.add_argument("--paths", default=",".join(PATHS), help="which of the ways to run (comma-separated)")
    parser.add_argument("--evaluate", action="store_true", help="evaluate the bundled model on each folder instead")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.evaluate:
        evaluate_folders(sizes, [int(size) for size in args.in_memory_sizes.split(",") if size])
        return
    in_memory_sizes = [int(size) for size in args.in_memory_sizes.split(",") if size]
    with tempfile.TemporaryDirectory(prefix="digitlab-stream-bench-") as scratch:
        folders = write_folders(Path(scratch), sizes)
        smallest = min(sizes)
        paths = [path for path in PATHS if path in args.paths.split(",")]
        rounds: dict[str, list[dict]] = {path: [] for path in paths}
        for _ in range(args.rounds):
            for path in paths:
                rounds[path].append(run_child(path, folders[smallest], args.epochs, args.cache))
        rows = []
        for size in sizes:
            for path in paths:
                if path == "in-memory" and size not in in_memory_sizes:
                    continue
                runs = rounds[path] if size == smallest else [run_child(path, folders[size], args.epochs, args.cache)]
                rest = size - round(size * 0.15)  # the folder's test split, then 10 % validation
                train = rest - round(rest * 0.1)
                epoch = statistics.median(run["epoch_seconds"] for run in runs)
                rows.append(
                    {
                        "images": size,
                        "path": path,
                        "peak_rss_mb": statistics.median(run["peak_rss_mb"] for run in runs),
                        "epoch_seconds": epoch,
                        "samples_per_second": train / epoch,
                        "last_epoch_samples_per_second": train
                        / statistics.median(run["last_epoch_seconds"] for run in runs),
                        "total_seconds": statistics.median(run["total_seconds"] for run in runs),
                        "epoch_cpu_seconds": statistics.median(run["epoch_cpu_seconds"] for run in runs),
                        "last_epoch_cpu_seconds": statistics.median(run["last_epoch_cpu_seconds"] for run in runs),
                        "test_accuracy": statistics.median(run["test_accuracy"] for run in runs),
                        "runs": len(runs),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    print(f"\n{args.epochs} epoch(s), streamed runs with --cache {args.cache}")
    print(
        "| images | path | peak RSS | first epoch | samples/s | last epoch samples/s | CPU s, first epoch (from "
        "batch 1) | CPU s, last epoch | whole run | test acc | runs |"
    )
    print("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for row in rows:
        print(
            f"| {row['images']:,} | {row['path']} | {row['peak_rss_mb']:.0f} MB | {row['epoch_seconds']:.1f} s | "
            f"{row['samples_per_second']:,.0f} | {row['last_epoch_samples_per_second']:,.0f} | "
            f"{row['epoch_cpu_seconds']:.1f} | {row['last_epoch_cpu_seconds']:.1f} | "
            f"{row['total_seconds']:.1f} s | {row['test_accuracy']:.2%} | "
            f"{row['runs']} |"
        )
    by_path = {row["path"]: row for row in rows if row["images"] == smallest}
    memory = by_path.get("in-memory")
    for path in ("streamed", "streamed-processes"):
        if memory is None or path not in by_path:
            continue
        ratio = by_path[path]["samples_per_second"] / memory["samples_per_second"]
        total = by_path[path]["total_seconds"] / memory["total_seconds"]
        last = by_path[path]["last_epoch_samples_per_second"] / memory["last_epoch_samples_per_second"]
        print(
            f"{smallest:,} images: {path} / in-memory training throughput {ratio:.3f} (first epoch), {last:.3f} "
            f"(last epoch), end-to-end time {total:.3f} (medians of {args.rounds} alternating runs)"
        )
        first_cpu = memory["epoch_cpu_seconds"] / by_path[path]["epoch_cpu_seconds"]
        last_cpu = memory["last_epoch_cpu_seconds"] / by_path[path]["last_epoch_cpu_seconds"]
        print(
            f"{smallest:,} images: {path} / in-memory throughput per CPU second (the process's CPU time of an epoch, "
            f"all threads; the first epoch from its first batch) {first_cpu:.3f} (first epoch), {last_cpu:.3f} "
            "(last epoch)"
        )


def evaluate_folders(sizes: list[int], in_memory_sizes: list[int]) -> None:
    """Peak RSS and time of evaluating the bundled model on every image of each folder, streamed or read first."""
    with tempfile.TemporaryDirectory(prefix="digitlab-stream-bench-") as scratch:
        folders = write_folders(Path(scratch), sizes)
        rows = []
        for size in sizes:
            for path in ("streamed", "in-memory"):
                if path == "in-memory" and size not in in_memory_sizes:
                    continue
                run = run_child(path, folders[size], code=EVALUATE_CHILD)
                rows.append({"images": size, "path": path, **run})
                print(json.dumps(rows[-1]), flush=True)
    print("\n| images | evaluate | peak RSS | time | accuracy |\n|--:|---|--:|--:|--:|")
    for row in rows:
        print(
            f"| {row['images']:,} | {row['path']} | {row['peak_rss_mb']:.0f} MB | {row['seconds']:.1f} s | "
            f"{row['accuracy']:.2%} |"
        )


if __name__ == "__main__":
    main()
