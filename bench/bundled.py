"""What the photo benchmarks share: their two options, the bundled model as the window reads with it (predictor and
not-a-digit judge), MNIST's test digits and a seeded generator."""

from __future__ import annotations

import argparse
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
