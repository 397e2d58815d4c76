"""Will a run's in-memory dataset fit? Its float32 images at the run's size, against the memory this machine has free.

Measured on MNIST at 48x48 (peak RSS): loading holds every split's images; building the ``tf.data`` pipelines
copies each split into a tensor, the training split twice at once while it does. So a run peaks at its images plus
twice its training split (or plus every split once, when the other splits are larger). An image folder trained on
as images is streamed from its files and never checked.
"""

from __future__ import annotations

import math
from pathlib import Path

from ml.data.datasets import (
    DEFAULT_FOLDER_IMAGE_SIZE,
    FOLDER_TEST_FRACTION,
    Dataset,
    held_out_count,
    list_image_folder,
)
from ml.errors import DatasetError
from ml.models.summary import DATASET_TITLES

BYTES_PER_VALUE = 4  # float32
MEMINFO = Path("/proc/meminfo")
SUGGESTED_SHARE = 0.75  # what is suggested leaves a quarter of the free memory to the model and its activations
SMALLEST_IMAGE_SIZE = 8  # the least every preset's pooling takes (ml.cli.arguments.IMAGE_SIZES)
STREAMED_FOLDER = "an image folder, which is streamed from its files"
PRESET_ON_IMAGES = "a preset that trains on images, which streams the folder from its files"


def available_memory_bytes() -> int | None:
    """MemAvailable plus SwapFree in ``/proc/meminfo``: what a run may take before the OOM killer; None if unknown."""
    try:
        text = MEMINFO.read_text()
    except OSError:
        return None
    figures = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        words = rest.split()
        if words and words[0].isdigit():
            figures[name] = int(words[0]) * 1024  # meminfo's "kB" are KiB
    if "MemAvailable" not in figures:
        return None
    return figures["MemAvailable"] + figures.get("SwapFree", 0)


def training_memory_bytes(train: int, val: int, test: int, height: int, width: int, channels: int) -> int:
    """A run's peak for its images: every split, plus the tensor copies its pipelines make (see the module)."""
    images = train + val + test
    return (images + max(2 * train, images)) * height * width * channels * BYTES_PER_VALUE


def format_bytes(count: int) -> str:
    """``755 GB``, ``1.5 GB``, ``40 MB``: powers of 1000, whole numbers from 10 up."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{count} bytes"


def largest_fitting_size(train: int, val: int, test: int, channels: int, free: int) -> int:
    """The largest square image size at which these splits fit in ``free`` bytes."""
    return math.isqrt(free // training_memory_bytes(train, val, test, 1, 1, channels))


def most_fitting_train_images(
    train: int, val: int, test: int, height: int, width: int, channels: int, free: int
) -> int:
    """The most training images (``Dataset.subset`` caps validation at a fifth) that fit in ``free`` bytes; 0: none."""
    low, high = 0, train
    while low < high:
        middle = (low + high + 1) // 2
        if training_memory_bytes(middle, min(val, max(1, middle // 5)), test, height, width, channels) <= free:
            low = middle
        else:
            high = middle - 1
    return low


def check_fits_in_memory(
    title: str, splits: tuple[int, int, int], height: int, width: int, channels: int, *, can_cut: bool, other: str
) -> None:
    """Raise a :class:`DatasetError` with the figures and what would fit, when the run's images will not fit.

    ``splits``: (train, validation, test) counts; ``can_cut``: whether --max-train-samples shrinks what is read;
    ``other``: the last choice offered. Nothing is refused where the free memory cannot be read.
    """
    needed = training_memory_bytes(*splits, height, width, channels)
    free = available_memory_bytes()
    if free is None or needed <= free:
        return
    choices = []
    room = int(free * SUGGESTED_SHARE)
    size = largest_fitting_size(*splits, channels, room)
    if size >= SMALLEST_IMAGE_SIZE:
        choices.append(f"an image size of at most {size} (--image-size)")
    most = most_fitting_train_images(*splits, height, width, channels, room) if can_cut else 0
    if most:
        choices.append(f"at most {most:,} training images (--max-train-samples)")
    choices.append(other)
    images = sum(splits)
    colour = " rgb" if channels == 3 else ""
    raise DatasetError(
        f"{title} at {height}x{width}{colour} needs about {format_bytes(needed)} of memory to train (its {images:,} "
        f"images take {format_bytes(images * height * width * channels * BYTES_PER_VALUE)}, and training copies "
        f"them); this machine has {format_bytes(free)} free. Choose {join_choices(choices)}."
    )


def join_choices(choices: list[str]) -> str:
    """``a``, ``a or b``, ``a, b, or c``."""
    if len(choices) < 3:
        return " or ".join(choices)
    return f"{', '.join(choices[:-1])}, or {choices[-1]}"


def check_dataset_fits_in_memory(dataset: Dataset, image_size: int | None, color_mode: str) -> None:
    """Refuse a loaded (small, unresized) dataset whose splits at ``image_size`` and ``color_mode`` will not fit."""
    height, width, channels = dataset.input_shape
    if image_size:
        height = width = int(image_size)
    if color_mode == "rgb":
        channels = 3
    elif color_mode == "grayscale":
        channels = 1
    title = DATASET_TITLES.get(dataset.name, dataset.name)
    counts = len(dataset.x_train), len(dataset.x_val), len(dataset.x_test)
    check_fits_in_memory(title, counts, height, width, channels, can_cut=True, other=STREAMED_FOLDER)


def check_folder_fits_in_memory(
    folder: str, image_size: int | None, color_mode: str, validation_size: int | float
) -> None:
    """Refuse, before a file is read, an image folder that will not fit when read whole (a preset on features)."""
    _, paths, _ = list_image_folder(Path(folder))
    test = held_out_count(len(paths), FOLDER_TEST_FRACTION)
    val = held_out_count(len(paths) - test, validation_size)
    train = len(paths) - test - val
    size = int(image_size or DEFAULT_FOLDER_IMAGE_SIZE)
    channels = 3 if color_mode == "rgb" else 1
    title = f"The image folder {folder}"
    check_fits_in_memory(title, (train, val, test), size, size, channels, can_cut=False, other=PRESET_ON_IMAGES)
