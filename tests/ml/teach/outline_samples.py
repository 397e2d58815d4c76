"""Samples of a style the bundled model reads poorly, for the teaching tests."""

from __future__ import annotations

import numpy as np

from ml.teach.styles import outline_digits


def outline_samples(mnist, per_class: int, classes=range(10)) -> tuple[np.ndarray, np.ndarray]:
    """The first ``per_class`` validation digits of each class in ``classes``, drawn as outlines, and their labels."""
    chosen = np.concatenate([np.flatnonzero(mnist.y_val == digit)[:per_class] for digit in classes])
    return outline_digits(mnist.x_val[chosen, ..., 0]), mnist.y_val[chosen].astype(np.int64)
