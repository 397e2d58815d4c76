"""Where MNIST-style arrays come from: the bundled copy, .npz, IDX files, a download."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ml.assets import bundled_mnist_path
from ml.data.validation import check_npz_directory, check_raw_arrays
from ml.errors import DatasetError
from ml.regular_files import irregular_file_kind

IDX_FILE_NAMES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
FASHION_MNIST_ADVICE = (
    ". Supply the files yourself: --data FOLDER holding the four IDX .gz files ("
    + ", ".join(IDX_FILE_NAMES.values())
    + ") from https://github.com/zalandoresearch/fashion-mnist, or --data FILE.npz in keras layout "
    "(x_train, y_train, x_test, y_test); or copy those .gz files into ~/.keras/datasets/fashion-mnist/."
)


def check_regular_file(path: Path, label: str = "data") -> None:
    """Refuse a named pipe, device or socket before opening it: reading one blocks or never ends."""
    kind = irregular_file_kind(path)
    if kind is not None:
        raise DatasetError(f"The {label} file {path} is not a regular file ({kind}); choose the file itself.")


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
    check_regular_file(record, "hash")
    return record.read_text().split()[0].strip().lower()


def read_mnist_npz(path: Path, *, verify: bool = True, label: str = "MNIST") -> dict[str, np.ndarray]:
    """Read a keras-layout ``.npz`` (x_train, y_train, x_test, y_test) of MNIST-like data, checking its hash."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{label} file not found: {path}")
    check_regular_file(path, label)
    if verify:
        expected = expected_sha256(path)
        if expected is not None:
            actual = sha256_of(path)
            if actual != expected:
                raise DatasetError(
                    f"The {label} file {path} is corrupted or was modified: its SHA-256 is {actual[:16]}…, "
                    f"expected {expected[:16]}…. Restore it from a fresh copy of Digit Lab."
                )
    declared = check_npz_directory(path, label)
    missing = [key for key in IDX_FILE_NAMES if key not in declared]
    if missing:
        raise DatasetError(f"{path} is not a keras-layout {label} archive: it lacks {', '.join(missing)}.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: np.asarray(archive[key]) for key in IDX_FILE_NAMES}
    except Exception as error:  # noqa: BLE001 - any reader failure becomes one clear message
        raise DatasetError(f"Cannot read {path} as a .npz archive: {' '.join(str(error).split())[:200]}") from None
    check_mnist_arrays(arrays, str(path))
    return arrays


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a uint8 array."""
    check_regular_file(Path(path), "IDX")
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


def read_mnist_idx_folder(folder: Path, *, label: str = "MNIST") -> dict[str, np.ndarray]:
    """Read the four IDX ``.gz`` files of MNIST (or Fashion-MNIST, same names and layout) from a folder."""
    folder = Path(folder)
    missing = [name for name in IDX_FILE_NAMES.values() if not (folder / name).exists()]
    if missing:
        raise DatasetError(f"{folder} lacks the {label} IDX files: {', '.join(missing)}")
    arrays = {key: read_idx(folder / name) for key, name in IDX_FILE_NAMES.items()}
    check_mnist_arrays(arrays, str(folder))
    return arrays


def check_mnist_arrays(arrays: dict[str, np.ndarray], origin: str, num_classes: int = 10) -> None:
    """Refuse arrays that are not MNIST-shaped (N, H, W) images with matching labels, or that fail the data rules."""
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(images) == 0 and len(labels) == 0:
            raise DatasetError(f"{origin}: the {split} split is empty (no images).")
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or len(images) == 0:
            raise DatasetError(
                f"{origin}: {split} images {images.shape} and labels {labels.shape} are not MNIST-shaped "
                "(N, H, W) images with one label each."
            )
    check_raw_arrays(arrays, num_classes, origin)


def download_with_keras(loader: str, label: str, advice: str = "") -> dict[str, np.ndarray]:
    """Fetch ``keras.datasets.<loader>`` (downloaded once, then cached in ~/.keras/datasets)."""
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, loader).load_data()
    except Exception as error:  # noqa: BLE001 - any download failure becomes one clear message
        raise DatasetError(f"Could not download {label} (no network?): {error}{advice}") from None
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def download_mnist() -> dict[str, np.ndarray]:
    """Fetch MNIST through keras (needs a network)."""
    return download_with_keras("mnist", "MNIST")


def fashion_mnist_downloaded() -> bool:
    """True when Keras's download folder (``$KERAS_HOME`` or ``~/.keras``) holds Fashion-MNIST's four files already."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    folder = home / "datasets" / "fashion-mnist"
    return all((folder / name).is_file() for name in IDX_FILE_NAMES.values())


def download_fashion_mnist() -> dict[str, np.ndarray]:
    """Fetch Fashion-MNIST through keras; offline, say how to supply the files instead."""
    return download_with_keras("fashion_mnist", "Fashion-MNIST", FASHION_MNIST_ADVICE)


def read_idx_arrays(
    source: str | os.PathLike | None, *, label: str, download: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Raw arrays from a keras-layout ``.npz``, a folder (or one file) of the four IDX files, or ``download``."""
    if source is None or str(source) == "download":
        return download()
    path = Path(source)
    if path.is_dir():
        return read_mnist_idx_folder(path, label=label)
    if path.name.endswith((".gz", "-ubyte")):
        return read_mnist_idx_folder(path.parent, label=label)
    return read_mnist_npz(path, label=label)


def read_mnist_arrays(source: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Raw MNIST arrays from the bundled file, a named ``.npz`` / IDX folder or file, or the keras download."""
    if source is None:
        bundled = bundled_mnist_path()
        return read_mnist_npz(bundled) if bundled.exists() else download_mnist()
    return read_idx_arrays(source, label="MNIST", download=download_mnist)
