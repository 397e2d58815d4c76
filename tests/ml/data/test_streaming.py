"""Streamed image folders: the in-memory loader's splits, batches read from files, bad files skipped and counted."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.data.datasets import load_image_folder
from ml.data.streaming import open_image_folder, shard_evenly
from ml.errors import DatasetError

SHADES = {"dark": 40, "middle": 140, "light": 230}


def write_folder(root: Path, per_class: int = 12) -> Path:
    """Three class folders of small PNGs (grayscale and RGB, different sizes), one brightness per class."""
    for index, (name, shade) in enumerate(SHADES.items()):
        (root / name).mkdir(parents=True)
        for number in range(per_class):
            size = 14 + 4 * (number % 3)
            mode, colour = ("RGB", (shade,) * 3) if (number + index) % 2 else ("L", shade)
            picture = Image.new(mode, (size, size), colour)
            picture.putpixel((number % size, 3), (255,) * 3 if mode == "RGB" else 255)  # every image its own
            picture.save(root / name / f"{number:02d}.png")
    return root


def all_batches(pipeline) -> tuple[np.ndarray, np.ndarray]:
    """Every (images, labels) batch of one pass over a tf.data pipeline, concatenated."""
    images, labels = zip(*((x.numpy(), y.numpy()) for x, y in pipeline), strict=True)
    return np.concatenate(images), np.concatenate(labels)


def test_the_stream_has_the_in_memory_loaders_splits_and_images(tmp_path):
    folder = write_folder(tmp_path / "shades")
    in_memory = load_image_folder(folder, image_size=16, seed=3)
    streamed = open_image_folder(folder, image_size=16, seed=3)
    assert streamed.class_names == in_memory.class_names == sorted(SHADES)
    assert (len(streamed.train), len(streamed.val), len(streamed.test)) == (
        len(in_memory.x_train),
        len(in_memory.x_val),
        len(in_memory.x_test),
    )
    assert streamed.input_shape == in_memory.input_shape == (16, 16, 1)
    for split, x, y in (("test", in_memory.x_test, in_memory.y_test), ("val", in_memory.x_val, in_memory.y_val)):
        images, labels = all_batches(streamed.pipeline(split, batch_size=5))
        np.testing.assert_array_equal(labels, y)
        np.testing.assert_allclose(images, x, atol=1e-6)


def test_training_batches_are_reshuffled_every_epoch_from_the_paths(tmp_path):
    streamed = open_image_folder(write_folder(tmp_path / "shades"), image_size=16)
    pipeline = streamed.pipeline("train", batch_size=8, shuffle_seed=0)
    first_images, first_labels = all_batches(pipeline)
    second_images, second_labels = all_batches(pipeline)
    assert len(first_labels) == len(second_labels) == len(streamed.train)
    assert not np.array_equal(first_images, second_images)  # a new order...
    assert sorted(first_labels) == sorted(second_labels) == sorted(streamed.train.labels)  # ...of the same files
    assert first_images.dtype == np.float32 and first_images.min() >= 0 and first_images.max() <= 1


def test_unreadable_files_are_skipped_and_counted_once_however_many_epochs(tmp_path):
    folder = write_folder(tmp_path / "shades")
    (folder / "dark" / "zz-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (folder / "light" / "zz-text.png").write_text("not an image")
    streamed = open_image_folder(folder, image_size=16, validation_size=0)
    streamed = streamed.subset()  # every file
    for _ in range(2):
        for split in ("train", "test"):
            all_batches(streamed.pipeline(split, batch_size=4, shuffle_seed=1 if split == "train" else None))
    assert streamed.skipped.count == 2
    message = streamed.skipped.describe()
    assert message.startswith(f"2 image files in {folder} could not be read and were skipped")
    assert "dark/zz-broken.png" in message and "light/zz-text.png" in message
    read = sum(len(labels) for _, labels in streamed.batches("train", 7)) + sum(
        len(labels) for _, labels in streamed.batches("test", 7)
    )
    assert read == 3 * 12  # the good files, all of them


def test_a_folder_without_bad_files_reports_nothing(tmp_path):
    streamed = open_image_folder(write_folder(tmp_path / "shades", per_class=4))
    all_batches(streamed.pipeline("train", 4))
    assert streamed.skipped.count == 0 and streamed.skipped.describe() is None


def test_the_memory_cache_serves_later_epochs_without_reading_the_files(tmp_path):
    folder = write_folder(tmp_path / "shades")
    streamed = open_image_folder(folder, image_size=16, cache="memory")
    pipeline = streamed.pipeline("test", batch_size=4)
    images, _ = all_batches(pipeline)
    for path in streamed.test.paths:
        Path(os.fsdecode(path)).unlink()
    cached, _ = all_batches(pipeline)
    np.testing.assert_array_equal(cached, images)
    assert streamed.skipped.count == 0
    uncached = open_image_folder(folder, image_size=16, cache=None)
    assert uncached.cache is None


def test_shards_are_disjoint_and_of_equal_length():
    paths, labels = np.asarray([f"{n}.png" for n in range(11)]), np.arange(11)
    shares = [shard_evenly(paths, labels, 3, index) for index in range(3)]
    assert {len(share[0]) for share in shares} == {3}
    seen = np.concatenate([share[1] for share in shares])
    assert len(set(seen.tolist())) == 9


def test_a_sharded_pipeline_yields_only_its_workers_files(tmp_path):
    streamed = open_image_folder(write_folder(tmp_path / "shades"), image_size=16)
    _, first = all_batches(streamed.pipeline("test", 4, shard=(2, 0)))
    _, second = all_batches(streamed.pipeline("test", 4, shard=(2, 1)))
    assert len(first) == len(second) == len(streamed.test) // 2
    np.testing.assert_array_equal(np.concatenate([first, second]).size, 2 * (len(streamed.test) // 2))


def test_a_bounded_sample_of_training_images_can_be_read(tmp_path):
    streamed = open_image_folder(write_folder(tmp_path / "shades"), image_size=16)
    sample = streamed.sample_images(5)
    assert sample.shape == (5, 16, 16, 1)


def test_a_folder_of_one_class_is_refused(tmp_path):
    (tmp_path / "only").mkdir()
    Image.new("L", (10, 10)).save(tmp_path / "only" / "a.png")
    with pytest.raises(DatasetError, match="at least two classes"):
        open_image_folder(tmp_path)


def test_an_empty_class_folder_is_refused_by_name(tmp_path):
    folder = write_folder(tmp_path / "shades", per_class=3)
    (folder / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images: empty"):
        open_image_folder(folder)


def test_reader_processes_read_the_same_images_and_report_the_files_they_skip(tmp_path):
    folder = write_folder(tmp_path / "shades", per_class=6)
    (folder / "dark" / "zz-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    in_threads = open_image_folder(folder, image_size=16, validation_size=0)
    in_processes = open_image_folder(folder, image_size=16, validation_size=0, reader_processes=1)
    for split in ("train", "test"):
        threads_images, threads_labels = all_batches(in_threads.pipeline(split, 5))
        process_images, process_labels = all_batches(in_processes.pipeline(split, 5))
        np.testing.assert_array_equal(process_labels, threads_labels)
        np.testing.assert_array_equal(process_images, threads_images)
    assert in_processes.skipped.describe() == in_threads.skipped.describe()
    assert in_processes.skipped.count == 1


@pytest.mark.parametrize("cache", ["memory", "file"])
def test_cached_training_images_are_still_reshuffled_every_epoch(tmp_path, cache):
    folder = write_folder(tmp_path / "shades")
    where = "memory" if cache == "memory" else str(tmp_path / "cache")
    streamed = open_image_folder(folder, image_size=16, cache=where)
    pipeline = streamed.pipeline("train", batch_size=8, shuffle_seed=0)
    first_images, first_labels = all_batches(pipeline)
    for path in streamed.train.paths:
        Path(os.fsdecode(path)).unlink()  # later epochs come from the cache alone
    second_images, second_labels = all_batches(pipeline)
    assert len(second_labels) == len(first_labels) == len(streamed.train)
    assert not np.array_equal(first_images, second_images)  # a new order...
    order = np.lexsort(first_images.reshape(len(first_images), -1).T)
    again = np.lexsort(second_images.reshape(len(second_images), -1).T)
    np.testing.assert_array_equal(first_images[order], second_images[again])  # ...of the same images
    assert streamed.skipped.count == 0


def test_auto_caches_a_small_split_in_memory_and_streams_a_big_one(tmp_path, monkeypatch):
    streamed = open_image_folder(write_folder(tmp_path / "shades", per_class=4), image_size=16, cache="auto")
    assert streamed.cache_for(len(streamed.train)) == "memory"
    monkeypatch.setattr("ml.data.streaming.AUTO_CACHE_BYTES", 16 * 16 * 4 * 3)  # room for three images
    assert streamed.cache_for(3) == "memory" and streamed.cache_for(4) is None
    assert open_image_folder(tmp_path / "shades", cache=None).cache_for(10**9) is None


def test_sharded_workers_get_as_many_batches_when_one_of_them_skips_files(tmp_path):
    folder = tmp_path / "digits"
    for label in ("a", "b"):
        (folder / label).mkdir(parents=True)
        for number in range(20):
            Image.fromarray(np.full((16, 16), 10 * number, np.uint8)).save(folder / label / f"{number:02d}.png")
    streamed = open_image_folder(folder, image_size=16, validation_size=0, cache="memory")  # not for shares
    for raw in streamed.train.paths[0:8:2]:  # four files of worker 0's share
        Path(os.fsdecode(raw)).write_bytes(b"not an image")
    batches = [list(streamed.pipeline("train", 4, shard=(2, index)).as_numpy_iterator()) for index in range(2)]
    assert len(batches[0]) == len(batches[1])  # a collective step for every batch: none may be missing
    assert sum(len(labels) for _, labels in batches[0]) == len(streamed.train) // 2 - 4
    assert sum(len(labels) for _, labels in batches[1]) == len(streamed.train) // 2
    assert streamed.skipped.count == 4
    images = np.concatenate([images for images, _ in batches[1]])
    assert images.shape[1:] == (16, 16, 1) and set(np.unique(images * 255).round()) <= set(range(0, 200, 10))
