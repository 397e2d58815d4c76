"""Check a dataset before any training or evaluation: one set of rules and messages for the CLI and the window.

Rules (each refusal names the file, the split and what was found):

- An ``.npz`` must be a zip archive of ``.npy`` arrays; each array's declared size is read from its header first,
  and an archive declaring more than ``MAX_NPZ_BYTES`` (or object arrays, which need unsafe unpickling) is
  refused before anything is loaded.
- Images are numbers: integer, unsigned or floating point; strings, complex numbers, objects and booleans are
  refused, and so are NaN and infinite pixels.
- Pixel scale, one explicit rule: integer images must lie in 0..255 and are divided by 255; float images in
  [0, 1] are used as they are; float images in [0, 255] with values above 1 are taken as 0..255 and divided by 255;
  anything else (negative, above 255) is refused with its range.
- Labels are whole numbers (integer arrays, or floats that are all whole) inside the classes: 0 ≤ label < classes.
- Splits: the training and test splits each hold at least ``MIN_SAMPLES_PER_SPLIT`` examples, images and labels
  have the same count, and, for training, the training split holds at least two classes.
- Evaluating a model: the labels must be classes the model scores.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from ml.errors import DatasetError
from ml.plurals import plural

MAX_NPZ_BYTES = 2 << 30
"""Declared size of all arrays in an .npz (2 GiB; MNIST's four arrays take 55 MB)."""
MAX_NPZ_MEMBERS = 64
MIN_SAMPLES_PER_SPLIT = 1
_NUMERIC_KINDS = "uif"
_KIND_NAMES = {"U": "text (strings)", "S": "bytes (strings)", "O": "Python objects", "c": "complex numbers",
               "b": "booleans", "V": "raw records", "M": "dates", "m": "time spans"}  # fmt: skip


def _kind_name(array: np.ndarray) -> str:
    return _KIND_NAMES.get(array.dtype.kind, f"values of type {array.dtype}")


def check_npz_directory(path: Path, label: str = "data") -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each array's (shape, dtype) from an .npz's zip directory and .npy headers, refusing bombs and non-archives."""
    if not zipfile.is_zipfile(path):
        raise DatasetError(
            f"The {label} file {path} is not an .npz archive (a zip of .npy arrays, as numpy.savez writes); "
            "perhaps it is a text file or a single .npy array renamed."
        )
    declared: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if info.filename.endswith(".npy")]
            if len(archive.infolist()) > MAX_NPZ_MEMBERS:
                raise DatasetError(f"The {label} file {path} holds {len(archive.infolist())} entries; too many.")
            for info in members:
                with archive.open(info) as member:
                    shape, dtype = _read_npy_header(member)
                if dtype.hasobject:
                    raise DatasetError(
                        f"The {label} file {path} holds Python objects in '{info.filename[:-4]}', which only an "
                        "unsafe load could read; Digit Lab reads arrays of numbers only."
                    )
                size = math.prod(shape) * dtype.itemsize
                total += size
                declared[info.filename[:-4]] = (tuple(shape), dtype)
    except DatasetError:
        raise
    except Exception as error:  # noqa: BLE001 - a damaged archive or header becomes one clear message
        raise DatasetError(f"The {label} file {path} is a damaged .npz archive: {_short(error)}") from None
    if total > MAX_NPZ_BYTES:
        raise DatasetError(
            f"The {label} file {path} declares {total / 1e9:,.1f} GB of arrays; Digit Lab reads .npz files of at "
            f"most {MAX_NPZ_BYTES / 1e9:.1f} GB, and refused it before loading anything."
        )
    return declared


def _read_npy_header(member) -> tuple[tuple[int, ...], np.dtype]:
    """An .npy member's shape and dtype from its header (numpy caps the header's length); no data is read."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return tuple(shape), dtype


def _short(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_image_array(images: np.ndarray, where: str) -> None:
    """Refuse images that are not finite numbers, or not (N, H, W) / (N, H, W, C)."""
    if images.dtype.kind not in _NUMERIC_KINDS:
        raise DatasetError(f"{where}: the images are {_kind_name(images)}, not numbers (pixel values).")
    if images.ndim not in (3, 4):
        raise DatasetError(f"{where}: the images have shape {images.shape}; expected (N, H, W) or (N, H, W, C).")
    if 0 in images.shape[1:]:
        raise DatasetError(f"{where}: the images have shape {images.shape}: an image has no pixels.")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        bad = int(np.count_nonzero(~np.isfinite(images)))
        raise DatasetError(f"{where}: {bad:,} pixel values are NaN or infinite.")


def images_to_unit(images: np.ndarray, where: str) -> np.ndarray:
    """Images as float32 in [0, 1] by the module's one rule (integers and floats above 1 are 0..255)."""
    images = np.asarray(images)
    check_image_array(images, where)
    if images.size == 0:
        return images.astype(np.float32)
    low, high = float(images.min()), float(images.max())
    if low < 0 or high > 255:
        raise DatasetError(
            f"{where}: pixel values run from {low:g} to {high:g}; Digit Lab reads pixels in 0..1 or 0..255."
        )
    if images.dtype.kind in "ui" or high > 1.0:
        return (images.astype(np.float32) / np.float32(255.0)).astype(np.float32)
    return images.astype(np.float32)


def labels_to_int(labels: np.ndarray, num_classes: int | None, where: str) -> np.ndarray:
    """Labels as int64, refusing non-numbers, fractions, NaN and labels outside 0..num_classes-1."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in _NUMERIC_KINDS:
        raise DatasetError(f"{where}: the labels are {_kind_name(labels)}, not class numbers.")
    if labels.ndim != 1:
        raise DatasetError(f"{where}: the labels have shape {labels.shape}; expected one label per image (N,).")
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all():
            raise DatasetError(f"{where}: some labels are NaN or infinite.")
        fractional = labels[labels != np.round(labels)]
        if fractional.size:
            raise DatasetError(
                f"{where}: labels must be whole class numbers, but {fractional.size:,} are fractions "
                f"(such as {float(fractional[0]):g})."
            )
    if labels.size and num_classes is not None:
        low, high = labels.min(), labels.max()
        if low < 0 or high >= num_classes:
            outside = labels[(labels < 0) | (labels >= num_classes)]
            raise DatasetError(
                f"{where}: {outside.size:,} labels lie outside the {num_classes} classes 0..{num_classes - 1} "
                f"(found {_number(low)} to {_number(high)})."
            )
    return labels.astype(np.int64)


def _number(value) -> str:
    return f"{float(value):g}"


def check_split(images: np.ndarray, labels: np.ndarray, split: str, origin: str) -> None:
    """One split: as many labels as images, and at least ``MIN_SAMPLES_PER_SPLIT`` of them."""
    if len(images) != len(labels):
        raise DatasetError(
            f"{origin}: the {split} split has {plural(len(images), 'image')} but {plural(len(labels), 'label')}."
        )
    if len(images) < MIN_SAMPLES_PER_SPLIT:
        raise DatasetError(f"{origin}: the {split} split is empty; it needs at least {MIN_SAMPLES_PER_SPLIT} image.")


def check_raw_arrays(arrays: dict[str, np.ndarray], num_classes: int | None, origin: str) -> None:
    """x/y train/test arrays as read from a file: images numeric and finite, labels whole and in the classes."""
    for split in ("train", "test"):
        images, labels = np.asarray(arrays[f"x_{split}"]), np.asarray(arrays[f"y_{split}"])
        where = f"{origin}, {split} split"
        check_image_array(images, where)
        labels_to_int(labels, num_classes, where)
        check_split(images, labels, split, origin)


def check_training_classes(labels: np.ndarray, origin: str) -> None:
    """A training split of one class teaches nothing: refuse it."""
    present = np.unique(labels)
    if present.size < 2:
        raise DatasetError(
            f"{origin}: every training label is {_number(present[0]) if present.size else 'missing'}; "
            "training needs examples of at least two classes."
        )


def check_dataset(dataset, *, for_training: bool = True) -> None:
    """A finished :class:`ml.data.datasets.Dataset`: every split checked against its class names.

    ``for_training``: the training split must also hold at least two classes (evaluating uses only the test split).
    """
    origin = dataset.name
    classes = len(dataset.class_names)
    for split, images, labels in (
        ("train", dataset.x_train, dataset.y_train),
        ("test", dataset.x_test, dataset.y_test),
        ("validation", dataset.x_val, dataset.y_val),
    ):
        if split != "validation":
            check_split(images, labels, split, origin)
        elif len(images) != len(labels):
            raise DatasetError(
                f"{origin}: the validation split has {plural(len(images), 'image')} but {plural(len(labels), 'label')}."
            )
        where = f"{origin}, {split} split"
        if np.asarray(images).dtype.kind not in _NUMERIC_KINDS:
            raise DatasetError(f"{where}: the inputs are {_kind_name(np.asarray(images))}, not numbers.")
        if not np.isfinite(images).all():
            raise DatasetError(f"{where}: some input values are NaN or infinite.")
        labels_to_int(labels, classes, where)
    if for_training:
        check_training_classes(np.asarray(dataset.y_train), origin)


def check_labels_fit_model(labels: np.ndarray, model_classes: int, model_name: str, origin: str) -> None:
    """Evaluating: every test label must be a class the model scores (else its accuracy would be meaningless)."""
    labels = np.asarray(labels)
    if labels.size and int(labels.max()) >= model_classes:
        raise DatasetError(
            f"{origin}'s test labels go up to {int(labels.max())}, but {model_name} scores only {model_classes} "
            f"classes (0..{model_classes - 1}); evaluate it on a dataset of its own classes."
        )
