"""tf.data pipelines for training and evaluation (fixed parallelism, no autotuning)."""

from __future__ import annotations

import os

import numpy as np

from ml.data.datasets import Dataset
from ml.errors import TrainingError

PREFETCHED_BATCHES = 2  # batches prepared ahead of the training step
TEST_BATCH_SIZE = 512


def pipeline_options():
    """``tf.data`` options for every Digit Lab pipeline: autotuning off.

    With autotuning on, dropping an epoch's iterator waits for the autotuner's thread, which stalled the start of
    about one epoch in three by 2-3 s on a 2-core machine (and validation alike); fixed sizes cost nothing measurable.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def make_train_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int, augment: bool, seed: int):
    """A shuffled, batched (and optionally augmented) ``tf.data`` pipeline."""
    import tensorflow as tf

    from ml.data.augment import augment_batch

    pipeline = tf.data.Dataset.from_tensor_slices((x, y))
    pipeline = pipeline.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if augment:
        pipeline = pipeline.map(
            lambda images, labels: (augment_batch(images), labels), num_parallel_calls=os.cpu_count() or 1
        )
    return pipeline.prefetch(PREFETCHED_BATCHES).with_options(pipeline_options())


def make_eval_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int):
    """A batched ``tf.data`` pipeline in order, for validation and testing."""
    import tensorflow as tf

    pipeline = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    return pipeline.prefetch(PREFETCHED_BATCHES).with_options(pipeline_options())


def can_augment(dataset: Dataset) -> bool:
    """Augmentation applies to square image datasets, not to feature vectors."""
    shape = dataset.input_shape
    return len(shape) == 3 and shape[0] == shape[1]


def fit_inputs_to_model(model, x: np.ndarray) -> np.ndarray:
    """Reshape a dataset's images for a (loaded) model whose input has the same number of values."""
    expected = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) == expected:
        return x
    if None not in expected and int(np.prod(expected)) == int(np.prod(x.shape[1:])):
        return x.reshape((len(x), *expected))
    raise TrainingError(f"The model expects inputs of shape {expected}, but the dataset has {tuple(x.shape[1:])}.")
