"""What the photo benchmarks share: their two options, the bundled model as the window reads with it (predictor and
not-a-digit judge), MNIST's test digits and a seeded generator; and a preprocessing step switched off for a reading
or a timing, to compare with it in one run."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PhotoBench:
    count: int
    seed: int
    predictor: object
    judge: object
    test_images: np.ndarray
    test_labels: np.ndarray
    rng: np.random.Generator


def photo_bench(description: str, count: int, count_help: str, seed: int) -> PhotoBench:
    """Parse ``--count`` and ``--seed``, quiet TensorFlow and load the bundled model and MNIST's test digits."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--count", type=int, default=count, help=count_help)
    parser.add_argument("--seed", type=int, default=seed)
    args = parser.parse_args()

    from ml.cli.progress import quiet_tensorflow

    quiet_tensorflow()
    from ml.assets import bundled_mnist_path, bundled_model_path
    from ml.doubt.verdict import DoubtJudge
    from ml.inference.predictor import Predictor
    from ml.models.files import load_model

    loaded = load_model(bundled_model_path())
    with np.load(bundled_mnist_path()) as arrays:
        images, labels = arrays["x_test"].astype(np.float32) / 255.0, arrays["y_test"]
    generator = np.random.default_rng(args.seed)
    return PhotoBench(args.count, args.seed, Predictor(loaded), DoubtJudge(loaded), images, labels, generator)


@contextmanager
def step_replaced(module, name: str, replacement: Callable):
    """``module.name`` (a preprocessing step) replaced by ``replacement`` while the block runs."""
    shipped = getattr(module, name)
    setattr(module, name, replacement)
    try:
        yield
    finally:
        setattr(module, name, shipped)


def read_both_ways(module, name: str, replacement: Callable, read: Callable, image) -> tuple[object, object]:
    """``read(image)`` as shipped, then with the step ``module.name`` replaced."""
    shipped = read(image)
    with step_replaced(module, name, replacement):
        return shipped, read(image)


def interleaved_medians(module, name: str, replacement: Callable, call: Callable, images: list) -> tuple[float, float]:
    """Median seconds of ``call(image)`` as shipped and with the step ``module.name`` replaced, the two taken in turn
    per image."""
    spent: dict[bool, list[float]] = {True: [], False: []}
    for image in images:
        for shipped in (True, False):
            started = time.perf_counter()
            if shipped:
                call(image)
            else:
                with step_replaced(module, name, replacement):
                    call(image)
            spent[shipped].append(time.perf_counter() - started)
    return float(np.median(spent[True])), float(np.median(spent[False]))
