"""tf.data pipelines for training and evaluation (fixed parallelism, no autotuning): arrays or a streamed folder."""

from __future__ import annotations

import os

import numpy as np

from ml.data.datasets import Dataset
from ml.data.streaming import PREFETCHED_BATCHES, StreamedFolder, pipeline_options, shard_evenly
from ml.errors import TrainingError

__all__ = ["PREFETCHED_BATCHES", "TEST_BATCH_SIZE", "pipeline_options"]
TEST_BATCH_SIZE = 512


def make_train_pipeline(
    x: np.ndarray, y: np.ndarray, batch_size: int, augment: bool, seed: int, shard: tuple[int, int] | None = None
):
    """A shuffled, batched (and optionally augmented) ``tf.data`` pipeline; ``shard``: this worker's share."""
    import tensorflow as tf

    if shard is not None:
        x, y = shard_evenly(x, y, *shard)
    pipeline = tf.data.Dataset.from_tensor_slices((x, y))
    pipeline = pipeline.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    return finish_train_pipeline(pipeline, augment, shard is not None)


def finish_train_pipeline(pipeline, augment: bool, sharded: bool):
    """Augment a batched pipeline when asked, prefetch, and set Digit Lab's options."""
    from ml.data.augment import augment_batch

    if augment:
        pipeline = pipeline.map(
            lambda images, labels: (augment_batch(images), labels), num_parallel_calls=os.cpu_count() or 1
        )
    return pipeline.prefetch(PREFETCHED_BATCHES).with_options(pipeline_options(sharded))


def make_eval_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int, shard: tuple[int, int] | None = None):
    """A batched ``tf.data`` pipeline in order, for validation and testing; ``shard``: this worker's share."""
    import tensorflow as tf

    if shard is not None:
        x, y = shard_evenly(x, y, *shard)
    pipeline = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    return pipeline.prefetch(PREFETCHED_BATCHES).with_options(pipeline_options(shard is not None))


def make_stream_train_pipeline(
    stream: StreamedFolder, batch_size: int, augment: bool, seed: int, shard: tuple[int, int] | None = None
):
    """A streamed folder's training files, reshuffled every epoch, read a batch at a time (optionally augmented)."""
    pipeline = stream.pipeline("train", batch_size, shuffle_seed=seed, shard=shard)
    return finish_train_pipeline(pipeline, augment, shard is not None) if augment else pipeline


def can_augment(dataset: Dataset | StreamedFolder) -> bool:
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


def check_stream_fits_model(model, stream: StreamedFolder) -> None:
    """A streamed folder's images must have exactly the model's input shape (they are not reshaped on the way)."""
    expected = tuple(model.input_shape[1:])
    if tuple(stream.input_shape) != expected:
        raise TrainingError(
            f"The model expects inputs of shape {expected}, but the folder's images are read as {stream.input_shape}; "
            "choose the image size and colour mode the model was trained with."
        )
