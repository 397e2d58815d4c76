"""Datasets as numpy arrays: MNIST (bundled, a user file, or the keras download) and a validation split."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.assets import bundled_mnist_path

DIGIT_CLASS_NAMES = [str(digit) for digit in range(10)]
DEFAULT_VALIDATION_SIZE = 5000
IDX_FILE_NAMES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


class DatasetError(Exception):
    """A dataset that cannot be found, read or trusted; ``str(e)`` is a user-facing message."""


@dataclass
class Dataset:
    """Train / validation / test arrays. Images are float32 (N, H, W, C) in [0, 1] unless ``features``."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] = field(default_factory=lambda: list(DIGIT_CLASS_NAMES))
    input_scale: str = "0-1"
    input_mean: list[float] | None = None
    input_std: list[float] | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, without the batch dimension."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        """How many classes the labels use."""
        return len(self.class_names)

    def subset(self, max_train: int | None = None, max_test: int | None = None) -> Dataset:
        """A smaller copy (first examples) for quick runs and tests."""
        val_cap = None if max_train is None else max(1, max_train // 5)
        return Dataset(
            self.name,
            self.x_train[:max_train],
            self.y_train[:max_train],
            self.x_val[:val_cap],
            self.y_val[:val_cap],
            self.x_test[:max_test],
            self.y_test[:max_test],
            list(self.class_names),
            self.input_scale,
            self.input_mean,
            self.input_std,
        )


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expected_sha256(npz_path: Path) -> str | None:
    """The hash recorded in ``<file>.sha256`` beside the archive, if any."""
    record = npz_path.with_name(npz_path.name + ".sha256")
    if not record.exists():
        return None
    return record.read_text().split()[0].strip().lower()


def read_mnist_npz(path: Path, *, verify: bool = True) -> dict[str, np.ndarray]:
    """Read a keras-layout MNIST ``.npz`` (x_train, y_train, x_test, y_test), checking its recorded hash."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"MNIST file not found: {path}")
    if verify:
        expected = expected_sha256(path)
        if expected is not None:
            actual = sha256_of(path)
            if actual != expected:
                raise DatasetError(
                    f"The MNIST file {path} is corrupted or was modified: its SHA-256 is {actual[:16]}…, "
                    f"expected {expected[:16]}…. Restore it from a fresh copy of Digit Lab."
                )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: np.asarray(archive[key]) for key in IDX_FILE_NAMES}
    except KeyError as missing:
        raise DatasetError(f"{path} is not a keras-layout MNIST archive: it lacks {missing}.") from None
    except Exception as error:  # noqa: BLE001 - any reader failure becomes one clear message
        raise DatasetError(f"Cannot read {path} as a .npz archive: {error}") from None
    check_mnist_arrays(arrays, str(path))
    return arrays


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a uint8 array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError("not an unsigned-byte IDX file")
        shape = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        return data.reshape(shape)
    except (OSError, ValueError, struct.error, EOFError) as error:
        raise DatasetError(f"Cannot read IDX file {path}: {error}") from None


def read_mnist_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    """Read the four official MNIST IDX ``.gz`` files from a folder."""
    folder = Path(folder)
    missing = [name for name in IDX_FILE_NAMES.values() if not (folder / name).exists()]
    if missing:
        raise DatasetError(f"{folder} lacks the MNIST IDX files: {', '.join(missing)}")
    arrays = {key: read_idx(folder / name) for key, name in IDX_FILE_NAMES.items()}
    check_mnist_arrays(arrays, str(folder))
    return arrays


def check_mnist_arrays(arrays: dict[str, np.ndarray], origin: str) -> None:
    """Refuse arrays that are not MNIST-shaped (N, 28, 28) images with matching labels."""
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or len(images) == 0:
            raise DatasetError(
                f"{origin}: {split} images {images.shape} and labels {labels.shape} are not MNIST-shaped."
            )


def download_mnist() -> dict[str, np.ndarray]:
    """Fetch MNIST through keras (needs a network)."""
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # noqa: BLE001
        raise DatasetError(f"Could not download MNIST (no network?): {error}") from None
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def read_mnist_arrays(source: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Raw MNIST arrays from the bundled file, a named ``.npz`` / IDX folder or file, or the keras download."""
    if source is None:
        bundled = bundled_mnist_path()
        return read_mnist_npz(bundled) if bundled.exists() else download_mnist()
    if str(source) == "download":
        return download_mnist()
    path = Path(source)
    if path.is_dir():
        return read_mnist_idx_folder(path)
    if path.name.endswith((".gz", "-ubyte")):
        return read_mnist_idx_folder(path.parent)
    return read_mnist_npz(path)


def split_validation(
    x: np.ndarray, y: np.ndarray, validation_size: int | float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Carve a shuffled validation set out of the training data (never out of the test set)."""
    count = int(round(validation_size * len(x))) if isinstance(validation_size, float) else int(validation_size)
    count = min(max(count, 0), len(x) - 1)
    order = np.random.default_rng(seed).permutation(len(x))
    val_index, train_index = order[:count], order[count:]
    return x[train_index], y[train_index], x[val_index], y[val_index]


def images_to_float(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, C) → float32 (N, H, W, C) in [0, 1]."""
    images = np.asarray(images)
    scaled = images.astype(np.float32) / (255.0 if images.dtype == np.uint8 else 1.0)
    return scaled[..., None] if scaled.ndim == 3 else scaled


def load_mnist(
    source: str | os.PathLike | None = None,
    *,
    validation_size: int | float = DEFAULT_VALIDATION_SIZE,
    seed: int = 0,
) -> Dataset:
    """MNIST as a :class:`Dataset`, with ``validation_size`` images held out of the training set."""
    arrays = read_mnist_arrays(source)
    x_train, y_train, x_val, y_val = split_validation(
        arrays["x_train"], arrays["y_train"], validation_size, seed
    )
    return Dataset(
        "mnist",
        images_to_float(x_train),
        y_train.astype(np.int64),
        images_to_float(x_val),
        y_val.astype(np.int64),
        images_to_float(arrays["x_test"]),
        arrays["y_test"].astype(np.int64),
    )


def load_dataset(
    name: str = "mnist",
    *,
    data_file: str | os.PathLike | None = None,
    validation_size: int | float = DEFAULT_VALIDATION_SIZE,
    seed: int = 0,
) -> Dataset:
    """Load a dataset by name (``mnist``) with an optional user-supplied file."""
    if name == "mnist":
        return load_mnist(data_file, validation_size=validation_size, seed=seed)
    raise DatasetError(f"Unknown dataset {name!r}. Available: mnist.")
