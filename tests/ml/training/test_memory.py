"""A run's in-memory dataset: its estimate, the free memory read, and the refusal before anything big is made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.data.datasets import Dataset
from ml.errors import DatasetError
from ml.training import memory
from ml.training.config import TrainConfig
from ml.training.fit import load_training_data
from ml.training.memory import check_dataset_fits_in_memory, training_memory_bytes

GB = 10**9
MNIST_SPLITS = (55_000, 5_000, 10_000)  # train, validation (5,000 held out) and test


def unread_mnist() -> Dataset:
    """MNIST's split sizes at 28x28, without the memory: every image is the same zero (a broadcast view)."""
    images = [np.broadcast_to(np.zeros((1, 28, 28, 1), np.float32), (count, 28, 28, 1)) for count in MNIST_SPLITS]
    labels = [np.zeros(count, np.int64) for count in MNIST_SPLITS]
    return Dataset("mnist", images[0], labels[0], images[1], labels[1], images[2], labels[2])


@pytest.fixture
def free_memory(monkeypatch):
    """Set the free memory the check reads (bytes; None: unknown)."""

    def set_free(amount: int | None) -> None:
        monkeypatch.setattr(memory, "available_memory_bytes", lambda: amount)

    return set_free


def test_mnist_at_1024_needs_its_images_and_the_copies_training_makes():
    images = sum(MNIST_SPLITS) * 1024 * 1024 * 4  # 294 GB of float32 images
    assert training_memory_bytes(*MNIST_SPLITS, 1024, 1024, 1) == images + 2 * 55_000 * 1024 * 1024 * 4
    assert training_memory_bytes(*MNIST_SPLITS, 1024, 1024, 3) == 3 * training_memory_bytes(
        *MNIST_SPLITS, 1024, 1024, 1
    )


def test_mnist_at_1024_is_refused_with_the_figures_and_what_would_fit(free_memory):
    free_memory(12 * GB)
    with pytest.raises(DatasetError) as refused:
        check_dataset_fits_in_memory(unread_mnist(), 1024, "grayscale")
    message = str(refused.value)
    assert message.startswith("MNIST at 1024x1024 needs about 755 GB of memory to train (its 70,000 images take 294 GB")
    assert "this machine has 12 GB free" in message and "\n" not in message
    # 12 GB (three quarters of it, for the data) holds MNIST at 111x111; no cut of the training images is enough.
    assert "an image size of at most 111 (--image-size) or an image folder, which is streamed" in message
    assert "--max-train-samples" not in message


def test_fewer_training_images_are_offered_where_they_would_fit(free_memory):
    free_memory(12 * GB)
    with pytest.raises(DatasetError, match=r"at most [\d,]+ training images \(--max-train-samples\)") as refused:
        check_dataset_fits_in_memory(unread_mnist(), 160, "rgb")
    assert str(refused.value).startswith("MNIST at 160x160 rgb needs about")


@pytest.mark.parametrize(("size", "color_mode"), [(None, "grayscale"), (28, "grayscale"), (64, "rgb")])
def test_ordinary_sizes_are_not_refused(free_memory, size, color_mode):
    free_memory(12 * GB)
    check_dataset_fits_in_memory(unread_mnist(), size, color_mode)


def test_nothing_is_refused_when_the_free_memory_cannot_be_read(free_memory):
    free_memory(None)
    check_dataset_fits_in_memory(unread_mnist(), 1024, "rgb")


def test_free_memory_is_memavailable_plus_free_swap(monkeypatch, tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 24000000 kB\nMemAvailable: 12000000 kB\nSwapTotal: 2000 kB\nSwapFree: 1000 kB\n")
    monkeypatch.setattr(memory, "MEMINFO", meminfo)
    assert memory.available_memory_bytes() == (12_000_000 + 1000) * 1024
    meminfo.write_text("MemTotal: 24000000 kB\n")  # a kernel too old to say
    assert memory.available_memory_bytes() is None
    monkeypatch.setattr(memory, "MEMINFO", tmp_path / "missing")
    assert memory.available_memory_bytes() is None


def test_a_run_is_refused_before_its_images_are_resized(free_memory, monkeypatch):
    def no_resizing(*args, **kwargs):
        raise AssertionError("the images were resized before the check")

    free_memory(1 * GB)  # scikit-learn digits at 1024x1024 need about 17 GB
    monkeypatch.setattr("ml.data.datasets.match_image_format", no_resizing)
    with pytest.raises(DatasetError, match=r"^scikit-learn digits at 1024x1024 needs about 17 GB"):
        load_training_data(TrainConfig(preset="fast", dataset="sklearn-digits", image_size=1024).resolved())


def test_max_train_samples_cuts_the_dataset_before_it_is_resized(monkeypatch):
    from ml.data import datasets

    resized: list[int] = []
    resize_images = datasets.resize_images

    def counting_resize(images, height, width):
        if height == 40:
            resized.append(len(images))
        return resize_images(images, height, width)

    monkeypatch.setattr(datasets, "resize_images", counting_resize)
    config = TrainConfig(
        preset="fast", dataset="sklearn-digits", image_size=40, max_train_samples=50, max_test_samples=30
    )
    dataset = load_training_data(config.resolved())
    assert dataset.x_train.shape == (50, 40, 40, 1) and len(dataset.x_val) == 10 and len(dataset.x_test) == 30
    assert sorted(resized) == [10, 30, 50]  # only the images the run uses, never all 1,797


def write_folder(root: Path, per_class: int = 6) -> Path:
    """Two class folders of small PNGs."""
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for index in range(per_class):
            Image.fromarray(np.full((12, 12), 40 * index, np.uint8)).save(root / label / f"{index}.png")
    return root


def test_a_folder_read_whole_is_refused_before_a_file_is_read(free_memory, monkeypatch, tmp_path):
    def no_reading(*args, **kwargs):
        raise AssertionError("a file was read before the check")

    folder = write_folder(tmp_path / "digits")
    free_memory(100_000)  # 12 images at 64x64 (16 kB each), 9 to train on: with training's copies, 30 images' worth
    monkeypatch.setattr("ml.data.datasets.read_folder_image", no_reading)
    config = TrainConfig(preset="mlp-digits", dataset=str(folder), image_size=64).resolved()
    with pytest.raises(DatasetError) as refused:
        load_training_data(config)
    message = str(refused.value)
    assert message.startswith(f"The image folder {folder} at 64x64 needs about 492 kB of memory to train")
    assert message.endswith("or a preset that trains on images, which streams the folder from its files.")


def test_a_streamed_folder_is_never_refused(free_memory, tmp_path):
    folder = write_folder(tmp_path / "digits")
    free_memory(1)
    stream = load_training_data(TrainConfig(preset="fast", dataset=str(folder), image_size=1024).resolved())
    assert stream.input_shape == (1024, 1024, 1) and len(stream.train) + len(stream.val) + len(stream.test) == 12
