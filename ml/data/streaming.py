"""Image folders streamed from their file paths with ``tf.data``: memory does not grow with the folder.

Only the list of paths and labels is held; each batch's files are read when the pipeline reaches them. A PNG that
TensorFlow's decoder reads exactly as the safe reader does (:mod:`ml.data.graph_decoding` checks its header and
chunks without decoding it) is decoded in the graph, in parallel and without the GIL; every other file goes through
:func:`ml.data.datasets.read_folder_image` (the one safe reader: allowed formats only, regular files only, a pixel
limit). Both give the same pixels. A file that cannot be read is skipped and counted (:class:`SkippedFiles`), so
one bad file among 200,000 never ends a run; the run's report says how many were skipped and names the first few.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ml.data.datasets import (
    DEFAULT_FOLDER_IMAGE_SIZE,
    DEFAULT_VALIDATION_FRACTION,
    DRAWING,
    FOLDER_TEST_FRACTION,
    FOLDER_TEST_SEED,
    check_color_mode,
    list_image_folder,
    read_folder_image,
    refusal_reason,
    split_validation,
)
from ml.data.graph_decoding import graph_channels, read_graph_decodable
from ml.errors import DatasetError, ImageReadError
from ml.plurals import plural

PREFETCHED_BATCHES = 2  # batches prepared ahead of the training step
LISTED_SKIPPED_FILES = 5
AUTO_CACHE_BYTES = 256 * 2**20  # cache="auto": a split whose decoded images fit in this is cached in memory
FILE_CACHE_SHUFFLE_BUFFER = 10_000  # images shuffled at a time when the cache is a file (memory stays bounded)
READ_BATCH_SIZE = 256  # files read (or checked for the graph's decoder) per Python call
IN_GRAPH, READ, SKIPPED = 0, 1, 2  # how each file goes on: decoded in the graph, read by the safe reader, skipped


def pipeline_options(sharded: bool = False):
    """``tf.data`` options for every Digit Lab pipeline: autotuning off (and auto-sharding off when ``sharded``).

    With autotuning on, dropping an epoch's iterator waits for the autotuner's thread, which stalled the start of
    about one epoch in three by 2-3 s on a 2-core machine (and validation alike); fixed sizes cost nothing measurable.
    A pipeline that already holds only its worker's share (``shard_evenly``) must not be sharded again.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    if sharded:
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return options


class SkippedFiles:
    """The files a stream could not read, each counted once (thread-safe: batches are read in parallel)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._reasons: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, path: str, reason: str) -> None:
        """Remember that ``path`` was skipped, and why."""
        with self._lock:
            self._reasons.setdefault(path, reason)

    @property
    def count(self) -> int:
        """How many distinct files were skipped so far."""
        with self._lock:
            return len(self._reasons)

    def items(self) -> list[tuple[str, str]]:
        """(path, reason) of every skipped file, in the order they were met."""
        with self._lock:
            return list(self._reasons.items())

    def describe(self) -> str | None:
        """``3 image files in FOLDER could not be read and were skipped: a.png: …`` or None when none was."""
        with self._lock:
            items = list(self._reasons.items())
        if not items:
            return None
        shown = "; ".join(f"{_relative(path, self.folder)}: {reason}" for path, reason in items[:LISTED_SKIPPED_FILES])
        more = f"; and {len(items) - LISTED_SKIPPED_FILES} more" if len(items) > LISTED_SKIPPED_FILES else ""
        counted = plural(len(items), "image file")
        verb = "was" if len(items) == 1 else "were"
        return f"{counted} in {self.folder} could not be read and {verb} skipped: {shown}{more}."


def _relative(path: str, folder: Path) -> str:
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return path


@dataclass
class FolderSplit:
    """One split of a streamed folder: file paths and their labels, in a fixed order."""

    paths: np.ndarray  # bytes (os.fsencode): a quarter of the memory of numpy's fixed-width str
    labels: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.paths)

    def first(self, count: int | None) -> FolderSplit:
        """The first ``count`` files (all when None)."""
        return FolderSplit(self.paths[:count], self.labels[:count])


@dataclass
class StreamedFolder:
    """An image-folder dataset read batch by batch from its files; its splits are the in-memory loader's.

    ``pipeline(split, batch_size)`` gives a ``tf.data`` pipeline of (float32 images in [0, 1], int64 labels).
    """

    name: str
    folder: Path
    class_names: list[str]
    image_size: int
    color_mode: str
    train: FolderSplit
    val: FolderSplit
    test: FolderSplit
    skipped: SkippedFiles = field(repr=False)
    cache: str | None = None  # None: read every epoch; "memory"; a file prefix; "auto": memory if small (cache_for)
    reader_processes: int = 0  # decode in this many reader processes (0: in tf.data's threads)
    input_scale: str = "0-1"
    input_mean: list[float] | None = None
    input_std: list[float] | None = None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one image, without the batch dimension."""
        return (self.image_size, self.image_size, 3 if self.color_mode == "rgb" else 1)

    @property
    def num_classes(self) -> int:
        """How many classes (subfolders) there are."""
        return len(self.class_names)

    def subset(self, max_train: int | None = None, max_test: int | None = None) -> StreamedFolder:
        """A smaller stream (first files of each split), as :meth:`ml.data.datasets.Dataset.subset`."""
        val_cap = None if max_train is None else max(1, max_train // 5)
        return replace(
            self, train=self.train.first(max_train), val=self.val.first(val_cap), test=self.test.first(max_test)
        )

    def split(self, name: str) -> FolderSplit:
        """``train``, ``val`` or ``test``."""
        return {"train": self.train, "val": self.val, "test": self.test}[name]

    def read_batch(self, paths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Read files into (N, size, size, C) float32 images and a mask of those read; the others are counted.

        With ``reader_processes`` the files are decoded in that many reader processes (Python's decoding holds the
        GIL, so threads alone leave the training step waiting); a pool that breaks falls back to this thread.
        """
        names = [os.fsdecode(raw) for raw in paths]
        pool = reader_pool(self.reader_processes)
        images = read = failures = None
        if pool is not None:
            try:
                images, read, failures = pool.submit(read_files, names, self.image_size, self.color_mode).result()
            except (BrokenProcessPool, OSError):
                forget_reader_pool(self.reader_processes)
        if images is None:
            images, read, failures = read_files(names, self.image_size, self.color_mode)
        for path, reason in failures:
            self.skipped.add(path, reason)
        return images, read

    def pipeline(
        self,
        split: str,
        batch_size: int,
        *,
        shuffle_seed: int | None = None,
        shard: tuple[int, int] | None = None,
        parallel_reads: int | None = None,
    ):
        """A ``tf.data`` pipeline of batches of (images, labels) read from ``split``'s files.

        ``shuffle_seed``: reshuffle the paths every epoch (the cached images, when cached). ``shard`` =
        (workers, index): this worker's equal share of the files (a multi-worker run), read every epoch (never
        cached) a batch of files at a time, so that every worker has as many batches whatever files it skips.
        Files are checked (and read by the safe reader where needed) ``READ_BATCH_SIZE`` at a time,
        ``parallel_reads`` calls at once (default: one per reader process, or per core); PNGs for the graph are
        then decoded one per core at a time. An unreadable file drops out; batches stay full.
        """
        import tensorflow as tf

        files = self.split(split)
        paths, labels = files.paths, files.labels.astype(np.int64)
        if shard is not None:
            paths, labels = shard_evenly(paths, labels, *shard)
        # A worker's share is read every epoch: cached images, re-batched, could give the workers unequal batch counts
        cache = self.cache_for(len(paths)) if shard is None else None
        dataset = tf.data.Dataset.from_tensor_slices((paths, labels))
        if shuffle_seed is not None and cache is None:
            dataset = dataset.shuffle(max(len(paths), 1), seed=shuffle_seed, reshuffle_each_iteration=True)
        shape = self.input_shape

        def read(batch_paths, batch_labels):
            contents, images, how = tf.numpy_function(
                self.read_batch_for_graph, [batch_paths], [tf.string, tf.float32, tf.int8], stateful=False
            )
            contents = tf.ensure_shape(contents, (None,))
            images = tf.ensure_shape(images, (None, *shape))
            return contents, images, tf.ensure_shape(how, (None,)), batch_labels

        def decode(contents, image, how, label):
            decoded = tf.cond(
                how == IN_GRAPH,
                lambda: tf.cast(tf.io.decode_png(contents, channels=shape[-1]), tf.float32) / 255.0,
                lambda: image,
            )
            return tf.ensure_shape(decoded, shape), label

        parallel_reads = parallel_reads or self.reader_processes or os.cpu_count() or 1
        if shard is not None:  # every worker must have as many batches, whatever it skips
            dataset = dataset.batch(batch_size).map(read, num_parallel_calls=parallel_reads, deterministic=True)

            def decode_batch(contents, images, how, labels):
                decoded = tf.map_fn(
                    lambda item: decode(*item, label=None)[0],
                    (contents, images, how),
                    fn_output_signature=tf.TensorSpec(shape, tf.float32),
                )
                kept = how != SKIPPED
                return tf.boolean_mask(decoded, kept), tf.boolean_mask(labels, kept)

            dataset = dataset.map(decode_batch, num_parallel_calls=os.cpu_count() or 1, deterministic=True)
            return dataset.prefetch(PREFETCHED_BATCHES).with_options(pipeline_options(sharded=True))
        dataset = dataset.batch(READ_BATCH_SIZE).map(read, num_parallel_calls=parallel_reads, deterministic=True)
        dataset = dataset.unbatch().filter(lambda contents, image, how, label: how != SKIPPED)
        dataset = dataset.map(decode, num_parallel_calls=os.cpu_count() or 1, deterministic=True)
        if cache is not None:  # cache the images in file order, then shuffle them afresh every epoch
            dataset = dataset.cache("" if cache == "memory" else f"{cache}-{split}")
            if shuffle_seed is not None:
                buffer = len(paths) if cache == "memory" else min(len(paths), FILE_CACHE_SHUFFLE_BUFFER)
                dataset = dataset.shuffle(max(buffer, 1), seed=shuffle_seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size)
        return dataset.prefetch(PREFETCHED_BATCHES).with_options(pipeline_options(sharded=shard is not None))

    def read_batch_for_graph(self, paths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Files' bytes for the graph's PNG decoder where it gives the safe reader's pixels, else images read here.

        Returns the bytes (``b""`` where not for the graph), the images read by :meth:`read_batch` (zeros
        elsewhere) and how each file goes on: ``IN_GRAPH``, ``READ`` or ``SKIPPED`` (counted in ``skipped``).
        """
        names = [os.fsdecode(raw) for raw in paths]
        if self.color_mode == DRAWING:  # each file through the single-digit preprocessing: none for the graph
            contents, decodable = [b""] * len(names), [False] * len(names)
        else:
            contents, decodable = read_graph_decodable(names, self.image_size, graph_channels(self.color_mode))
        how = np.where(decodable, IN_GRAPH, SKIPPED).astype(np.int8)
        images = np.zeros((len(names), *self.input_shape), dtype=np.float32)
        others = np.flatnonzero(~np.asarray(decodable, dtype=bool))
        if others.size:
            read_images, read = self.read_batch(paths[others])
            images[others] = read_images
            how[others[read]] = READ
        return np.asarray(contents, dtype=object), images, how

    def cache_for(self, files: int) -> str | None:
        """Where ``files`` decoded images are cached: ``cache`` as asked; "auto" caches in memory when they take
        at most ``AUTO_CACHE_BYTES`` (a small folder is decoded once, as the in-memory loader did), else none."""
        if self.cache != "auto":
            return self.cache
        decoded = files * int(np.prod(self.input_shape)) * 4
        return "memory" if decoded <= AUTO_CACHE_BYTES else None

    def batches(self, split: str, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``split``'s images and labels as numpy batches, in order (evaluation without TensorFlow's pipeline)."""
        files = self.split(split)
        for start in range(0, len(files), batch_size):
            images, read = self.read_batch(files.paths[start : start + batch_size])
            yield images[read], files.labels[start : start + batch_size][read]

    def sample_images(self, count: int, seed: int = 0) -> np.ndarray:
        """Up to ``count`` training images drawn at random, read into memory (a bounded sample)."""
        chosen = np.sort(np.random.default_rng(seed).permutation(len(self.train))[:count])
        images, read = self.read_batch(self.train.paths[chosen])
        return images[read]


def read_files(names: list[str], size: int, color_mode: str) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """Read image files (in a reader process or here): images, a mask of those read, and (path, reason) failures."""
    channels = 3 if color_mode == "rgb" else 1
    images = np.zeros((len(names), size, size, channels), dtype=np.float32)
    read = np.zeros(len(names), dtype=bool)
    failures = []
    for index, name in enumerate(names):
        try:
            images[index] = read_folder_image(Path(name), size, color_mode)
        except ImageReadError as error:
            failures.append((name, refusal_reason(str(error))))
        else:
            read[index] = True
    return images, read, failures


_READER_POOLS: dict[int, ProcessPoolExecutor] = {}
_READER_POOLS_LOCK = threading.Lock()


def reader_pool(processes: int) -> ProcessPoolExecutor | None:
    """The process's pool of ``processes`` reader processes (started once, fresh interpreters: no TensorFlow)."""
    if processes <= 0:
        return None
    with _READER_POOLS_LOCK:
        if processes not in _READER_POOLS:
            context = multiprocessing.get_context("spawn")  # never fork a process that runs TensorFlow's threads
            _READER_POOLS[processes] = ProcessPoolExecutor(processes, mp_context=context)
        return _READER_POOLS[processes]


def forget_reader_pool(processes: int) -> None:
    """Drop a broken pool; the next batch is read in its own thread."""
    with _READER_POOLS_LOCK:
        pool = _READER_POOLS.pop(processes, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def shard_evenly(paths: np.ndarray, labels: np.ndarray, workers: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Worker ``index``'s share of the files: every ``workers``-th one, all shares the same length.

    Equal shares give every worker the same number of batches, which collective training needs (a worker with one
    batch more would wait for the others for ever); up to ``workers - 1`` files are left out of the epoch.
    """
    usable = len(paths) - len(paths) % workers
    return paths[index:usable:workers], labels[index:usable:workers]


def open_image_folder(
    folder: str | os.PathLike,
    *,
    image_size: int | None = None,
    color_mode: str = "grayscale",
    validation_size: int | float = DEFAULT_VALIDATION_FRACTION,
    seed: int = 0,
    cache: str | None = None,
    reader_processes: int = 0,
) -> StreamedFolder:
    """An image folder (one subfolder per class) as a :class:`StreamedFolder`, listed but not read.

    The splits are :func:`ml.data.datasets.load_image_folder`'s, made on the paths: 15 % test with a fixed seed,
    then ``validation_size`` of the rest, shuffled with ``seed``. ``reader_processes``: decode in that many
    processes (started with ``spawn``, so a script that trains must guard its code with ``if __name__ ==
    "__main__":``, as for any multiprocessing); 0 decodes in tf.data's threads.
    """
    folder = Path(folder)
    check_color_mode(color_mode)
    if cache not in (None, "memory", "auto") and not Path(cache).parent.is_dir():
        raise DatasetError(f"Cannot cache the folder's images in {cache}: its folder does not exist.")
    class_names, paths, labels = list_image_folder(folder)
    path_array = np.asarray([os.fsencode(path) for path in paths])
    train_paths, train_labels, test_paths, test_labels = split_validation(
        path_array, labels, FOLDER_TEST_FRACTION, FOLDER_TEST_SEED
    )
    train_paths, train_labels, val_paths, val_labels = split_validation(
        train_paths, train_labels, validation_size, seed
    )
    streamed = StreamedFolder(
        name=str(folder),
        folder=folder,
        class_names=class_names,
        image_size=int(image_size or DEFAULT_FOLDER_IMAGE_SIZE),
        color_mode=color_mode,
        train=FolderSplit(train_paths, train_labels),
        val=FolderSplit(val_paths, val_labels),
        test=FolderSplit(test_paths, test_labels),
        skipped=SkippedFiles(folder),
        cache=cache,
        reader_processes=reader_processes,
    )
    check_streamed_folder(streamed)
    return streamed


def check_streamed_folder(streamed: StreamedFolder) -> None:
    """Training needs a non-empty train and test split and two classes in training."""
    for split in ("train", "test"):
        if len(streamed.split(split)) == 0:
            raise DatasetError(f"{streamed.name}: the {split} split is empty; add images to the class folders.")
    if np.unique(streamed.train.labels).size < 2:
        raise DatasetError(f"{streamed.name}: the training split holds one class; training needs at least two.")
