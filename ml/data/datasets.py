"""Datasets ready to train on: MNIST, Fashion-MNIST, scikit-learn digits, image folders."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ml.data.sources import download_fashion_mnist, read_idx_arrays, read_mnist_arrays
from ml.data.validation import check_dataset, images_to_unit, labels_to_int
from ml.errors import DatasetError, ImageReadError
from ml.plurals import plural
from ml.preprocess.read import ALLOWED_FORMATS_TEXT, read_image, read_image_rgb

DATASET_NAMES = ("mnist", "fashion-mnist", "sklearn-digits")
REPRESENTATIONS = ("images", "features")
COLOR_MODES = ("grayscale", "rgb")
DRAWING = "drawing"
"""How evaluation reads a folder for a model that reads drawings: each file as ``digitlab predict`` reads it (its
ink found whatever its colour, cropped, centred in 28x28), not its raw pixels resized."""
DIGIT_CLASS_NAMES = [str(digit) for digit in range(10)]
FASHION_MNIST_CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
DEFAULT_VALIDATION_SIZE = 5000  # images held out of MNIST's and Fashion-MNIST's 60 000 training images
DEFAULT_VALIDATION_FRACTION = 0.1  # of the training images, for the smaller datasets
SKLEARN_DIGITS_TEST_SIZE = 0.3  # the tutorial's 70/30 train/test split
FOLDER_TEST_FRACTION = 0.15
FOLDER_TEST_SEED = 1234  # fixed, so a folder's test images do not change with the training seed
FEWEST_FOLDER_IMAGES = 4  # the fewest of which FOLDER_TEST_FRACTION, rounded, holds out one test image
DEFAULT_FOLDER_IMAGE_SIZE = 32
FOLDER_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
_LISTED_BAD_FILES = 5


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


def split_validation(
    x: np.ndarray, y: np.ndarray, validation_size: int | float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Carve a shuffled validation set out of the training data (never out of the test set), at most half of it."""
    count = held_out_count(len(x), validation_size)
    order = np.random.default_rng(seed).permutation(len(x))
    val_index, train_index = order[:count], order[count:]
    return x[train_index], y[train_index], x[val_index], y[val_index]


def held_out_count(total: int, validation_size: int | float) -> int:
    """How many of ``total`` examples :func:`split_validation` holds out: a fraction or a count, at most half."""
    count = int(round(validation_size * total)) if isinstance(validation_size, float) else int(validation_size)
    return min(max(count, 0), total // 2)  # a small file keeps at least half its images for training


def images_to_float(images: np.ndarray, where: str = "the images") -> np.ndarray:
    """(N, H, W) or (N, H, W, C) pixels → float32 (N, H, W, C) in [0, 1], by :mod:`ml.data.validation`'s rule."""
    scaled = images_to_unit(images, where)
    return scaled[..., None] if scaled.ndim == 3 else scaled


def resize_images(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Float (N, H, W, C) images resized (bilinear, or box when shrinking) to (N, height, width, C)."""
    if images.shape[1:3] == (height, width):
        return images
    shrinking = height < images.shape[1] or width < images.shape[2]
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    resized = np.empty((len(images), height, width, images.shape[3]), dtype=np.float32)
    for index, image in enumerate(images):
        for channel in range(images.shape[3]):
            plane = Image.fromarray(np.ascontiguousarray(image[..., channel], dtype=np.float32), mode="F")
            resized[index, ..., channel] = np.asarray(plane.resize((width, height), resample), dtype=np.float32)
    return np.clip(resized, 0.0, 1.0)


def match_image_format(images: np.ndarray, image_size: int | None, color_mode: str) -> np.ndarray:
    """Resize (N, H, W, C) images to ``image_size`` squares and give them 1 (grayscale) or 3 (rgb) channels."""
    if image_size is not None:
        images = resize_images(images, int(image_size), int(image_size))
    if color_mode == "rgb" and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    elif color_mode == "grayscale" and images.shape[-1] == 3:
        images = images @ np.asarray([0.299, 0.587, 0.114], dtype=np.float32)[:, None]
    return np.ascontiguousarray(images, dtype=np.float32)


def flatten_examples(x: np.ndarray) -> np.ndarray:
    """(N, ...) examples as float32 (N, features); an empty split keeps its feature count."""
    x = np.asarray(x, np.float32)
    return x.reshape(len(x), int(np.prod(x.shape[1:])))


def standardize_features(dataset: Dataset, mean: list[float] | None = None, std: list[float] | None = None) -> Dataset:
    """Flatten each example and standardize it like the tutorials' ``StandardScaler`` (fitted on train)."""
    from sklearn.preprocessing import StandardScaler

    flat = [flatten_examples(x) for x in (dataset.x_train, dataset.x_val, dataset.x_test)]
    scaler = StandardScaler().fit(flat[0])
    if mean is not None and std is not None:
        if len(mean) != flat[0].shape[1] or len(std) != flat[0].shape[1]:
            raise DatasetError(
                f"The standardization has {len(mean)} features but {dataset.name} gives {flat[0].shape[1]}."
            )
        scaler.mean_, scaler.scale_ = np.asarray(mean, np.float64), np.where(np.asarray(std) == 0, 1.0, std)
    x_train, x_val, x_test = (scaler.transform(x).astype(np.float32) if len(x) else x for x in flat)
    return replace(
        dataset,
        x_train=x_train,
        x_val=x_val,
        x_test=x_test,
        input_scale="standardize",
        input_mean=[float(value) for value in scaler.mean_],
        input_std=[float(value) for value in scaler.scale_],
    )


def check_color_mode(color_mode: str) -> None:
    """Refuse colour modes other than grayscale and rgb."""
    if color_mode not in COLOR_MODES:
        raise DatasetError(f"Unknown color mode {color_mode!r}; use one of {', '.join(COLOR_MODES)}.")


def image_dataset_from_arrays(
    name: str,
    arrays: dict[str, np.ndarray],
    class_names: list[str],
    *,
    validation_size: int | float,
    seed: int,
) -> Dataset:
    """A :class:`Dataset` of [0, 1] images from raw x/y train/test arrays, validation held out of train."""
    x_train, y_train, x_val, y_val = split_validation(arrays["x_train"], arrays["y_train"], validation_size, seed)
    classes = len(class_names)
    return Dataset(
        name,
        images_to_float(x_train, f"{name}, train split"),
        labels_to_int(y_train, classes, f"{name}, train split"),
        images_to_float(x_val, f"{name}, validation split"),
        labels_to_int(y_val, classes, f"{name}, validation split"),
        images_to_float(arrays["x_test"], f"{name}, test split"),
        labels_to_int(arrays["y_test"], classes, f"{name}, test split"),
        list(class_names),
    )


def load_mnist(
    source: str | os.PathLike | None = None,
    *,
    validation_size: int | float = DEFAULT_VALIDATION_SIZE,
    seed: int = 0,
) -> Dataset:
    """MNIST as a :class:`Dataset`, with ``validation_size`` images held out of the training set."""
    arrays = read_mnist_arrays(source)
    return image_dataset_from_arrays("mnist", arrays, DIGIT_CLASS_NAMES, validation_size=validation_size, seed=seed)


def load_fashion_mnist(
    source: str | os.PathLike | None = None,
    *,
    validation_size: int | float = DEFAULT_VALIDATION_SIZE,
    seed: int = 0,
) -> Dataset:
    """Fashion-MNIST (keras download, cached; or a named IDX folder / keras-layout ``.npz``) as a :class:`Dataset`."""
    arrays = read_idx_arrays(source, label="Fashion-MNIST", download=download_fashion_mnist)
    return image_dataset_from_arrays(
        "fashion-mnist", arrays, FASHION_MNIST_CLASS_NAMES, validation_size=validation_size, seed=seed
    )


def upscale_digits(images8: np.ndarray) -> np.ndarray:
    """8x8 digits in [0, 1] → 28x28 MNIST-like images: the glyph enlarged to 20x20 and centred with a 4-pixel margin."""
    enlarged = resize_images(images8, 20, 20)
    return np.pad(enlarged, ((0, 0), (4, 4), (4, 4), (0, 0)))


def load_sklearn_digits(
    *,
    validation_size: int | float = DEFAULT_VALIDATION_FRACTION,
    seed: int = 0,
    upscale: bool = True,
) -> Dataset:
    """scikit-learn's 8x8 digits with the tutorial's split: ``train_test_split(test_size=0.3, random_state=seed)``.

    Images are scaled from 0..16 to [0, 1] and (``upscale``) enlarged to 28x28 like MNIST; the validation set is
    held out of the 70 % training part.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=SKLEARN_DIGITS_TEST_SIZE, random_state=seed
    )
    if upscale:
        x_train, x_test = upscale_digits(x_train), upscale_digits(x_test)
    x_train, y_train, x_val, y_val = split_validation(x_train, y_train, validation_size, seed)
    return Dataset(
        "sklearn-digits",
        x_train,
        y_train.astype(np.int64),
        x_val,
        y_val.astype(np.int64),
        x_test,
        y_test.astype(np.int64),
    )


SKLEARN_DIGITS_SIDE = 8
UPSCALED_DIGITS_SIDE = 28  # training enlarges scikit-learn's digits to MNIST's size, then resizes to --image-size
SMALL_INPUT_SIDE = 16  # a model of smaller inputs may take scikit-learn's digits at their own 8x8 size


def split_seed(metadata) -> int:
    """The seed a model's run split its data with (its card's), else 0 (a bool, a negative or a too large value too)."""
    seed = (metadata.hyperparameters or {}).get("seed", 0)
    return int(seed) if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**32 else 0


def sklearn_digits_as_learnt(
    *,
    seed: int = 0,
    as_they_are: bool = False,
    image_size: int | None = None,
    validation_size: int | float = DEFAULT_VALIDATION_FRACTION,
) -> Dataset:
    """scikit-learn's digits split with ``seed``, in the form a model learns them: the 8x8 pixels as they are
    (``as_they_are``: a model of standardized features), else as images enlarged to 28x28 and resized to
    ``image_size`` (None: kept at 28). Training, evaluation and the export's verification all read them here."""
    digits = load_sklearn_digits(validation_size=validation_size, seed=seed, upscale=not as_they_are)
    if as_they_are or image_size is None or int(image_size) == UPSCALED_DIGITS_SIDE:
        return digits
    return match_dataset_format(digits, int(image_size), "grayscale")


def sklearn_digits_for_model(
    *,
    seed: int,
    input_size: tuple[int, int] | None,
    input_scale: str,
    dataset: str | None,
    validation_size: int | float = DEFAULT_VALIDATION_FRACTION,
) -> Dataset:
    """scikit-learn's digits split with ``seed`` in the form a model learnt them, judged from its (height, width)
    ``input_size`` (None: one Digit Lab cannot feed) and its card's ``input_scale`` and ``dataset``: their 8x8
    pixels as they are for a model of small inputs that learnt standardized features (as training gives them to an
    MLP) or that Digit Lab did not train (no dataset on its card); for every other model as training gave them to
    an image model, enlarged to 28x28 and resized to its square input (kept at 28 for any other input)."""
    height, width = input_size if input_size is not None else (UPSCALED_DIGITS_SIDE, UPSCALED_DIGITS_SIDE)
    small = max(height, width) < SMALL_INPUT_SIDE
    as_they_are = (small or input_size is None) and (input_scale == "standardize" or dataset is None)
    return sklearn_digits_as_learnt(
        seed=seed,
        as_they_are=as_they_are,
        image_size=height if height == width else None,
        validation_size=validation_size,
    )


def load_image_folder(
    folder: str | os.PathLike,
    *,
    image_size: int | None = None,
    color_mode: str = "grayscale",
    validation_size: int | float = DEFAULT_VALIDATION_FRACTION,
    seed: int = 0,
) -> Dataset:
    """Images in one subfolder per class (the folder names, sorted, are the class names), read into memory.

    Images are resized to ``image_size`` squares (default 32) and read as grayscale or rgb, each through
    :func:`ml.preprocess.read.read_image`, the one reader that allows only image formats, caps memory and never
    opens a pipe; a folder holding files it refuses is refused, naming them. Splits:
    ``FOLDER_TEST_FRACTION`` (15 %) of the images are held out as the test set with a fixed seed
    (``FOLDER_TEST_SEED``), so the test set stays the same whatever the training seed; the validation set
    (``validation_size``, default 10 %) comes out of the remaining training images, shuffled with ``seed``.
    """
    folder = Path(folder)
    check_color_mode(color_mode)
    size = int(image_size or DEFAULT_FOLDER_IMAGE_SIZE)
    class_names, paths, listed_labels = list_image_folder(folder)
    images, labels, refused = [], [], []
    for path, label in zip(paths, listed_labels, strict=True):
        try:
            images.append(read_folder_image(path, size, color_mode))
        except ImageReadError as error:
            refused.append((str(path.relative_to(folder)), refusal_reason(str(error))))
            continue
        labels.append(label)
    if refused:
        raise unreadable_files_error(folder, refused, len(refused) + len(images))
    x, y = np.stack(images).astype(np.float32), np.asarray(labels, dtype=np.int64)
    x_train, y_train, x_test, y_test = split_validation(x, y, FOLDER_TEST_FRACTION, FOLDER_TEST_SEED)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return image_dataset_from_arrays(str(folder), arrays, class_names, validation_size=validation_size, seed=seed)


def list_image_folder(folder: Path) -> tuple[list[str], list[Path], np.ndarray]:
    """The class names (sorted subfolder names), image files and their labels of an image folder, unread.

    Refuses a folder with fewer than two class subfolders, no images, class subfolders without images, or too few
    images to hold out a test image.
    """
    try:
        class_folders = sorted(entry for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    except OSError as error:
        raise DatasetError(f"Cannot read the image folder {folder}: {error.strerror or error}.") from None
    class_names = [entry.name for entry in class_folders]
    if len(class_names) < 2:
        raise DatasetError(
            f"The image folder {folder} has {plural(len(class_names), 'class subfolder')}; it needs one subfolder per "
            "class and at least two classes."
        )
    paths: list[Path] = []
    labels: list[int] = []
    for label, class_folder in enumerate(class_folders):
        found = folder_image_files(class_folder)
        paths.extend(found)
        labels.extend([label] * len(found))
    if not paths:
        raise DatasetError(
            f"The image folder {folder} holds no images ({', '.join(FOLDER_IMAGE_SUFFIXES)}) in its class subfolders."
        )
    empty = [name for index, name in enumerate(class_names) if index not in set(labels)]
    if empty:
        raise DatasetError(
            f"The image folder {folder} has class subfolders with no images: {', '.join(empty[:_LISTED_BAD_FILES])}"
            f"{' …' if len(empty) > _LISTED_BAD_FILES else ''}. Add images or remove the empty folders."
        )
    if len(paths) < FEWEST_FOLDER_IMAGES:
        per_class = math.ceil(FEWEST_FOLDER_IMAGES / len(class_names))
        raise DatasetError(
            f"The image folder {folder} holds {plural(len(paths), 'image')}, too few to train on: "
            f"{FOLDER_TEST_FRACTION * 100:.0f} % of a folder's images are held out to test on, so it needs at least "
            f"{FEWEST_FOLDER_IMAGES} images in all ({per_class} per class)."
        )
    return class_names, paths, np.asarray(labels, dtype=np.int64)


def folder_image_files(class_folder: Path) -> list[Path]:
    """The image files under one class folder (sub-folders included), sorted; hidden files are left out."""
    found = []
    for root, folders, files in os.walk(class_folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(FOLDER_IMAGE_SUFFIXES):
                found.append(Path(root) / name)
    return found


def read_folder_image(path: Path, size: int, color_mode: str) -> np.ndarray:
    """One image file as a float32 (size, size, 1 or 3) array in [0, 1], read by Digit Lab's one safe reader."""
    max_side = max(4 * size, 64)
    if color_mode == DRAWING:
        from ml.preprocess.pipeline import to_mnist  # the single-digit preprocessing, as predict applies it

        digit = to_mnist(read_image(path)).image  # None for a blank image: the model sees nothing
        pixels = (np.zeros((28, 28), np.float32) if digit is None else digit.astype(np.float32))[..., None]
        return pixels if size == pixels.shape[0] else resize_images(pixels[None], size, size)[0]
    if color_mode == "rgb":
        pixels = read_image_rgb(path, max_side=max_side)
    else:
        pixels = read_image(path, max_side=max_side)[..., None]
    return resize_images(pixels[None], size, size)[0]


def unreadable_files_error(folder: str | os.PathLike, refused: list[tuple[str, str]], total: int) -> DatasetError:
    """The one refusal of a folder holding files the safe reader refuses: no figure is ever measured on, and no
    model trained on, a silently shrunk set. ``refused``: (name, reason) pairs; the first five are named."""
    named = "; ".join(f"{name} ({reason})" for name, reason in refused[:_LISTED_BAD_FILES])
    more = f" and {len(refused) - _LISTED_BAD_FILES} more" if len(refused) > _LISTED_BAD_FILES else ""
    return DatasetError(
        f"{len(refused)} of the {plural(total, 'image file')} in {folder} cannot be read: {named}{more}. "
        f"Remove them, or convert pictures kept in another format to PNG (Digit Lab reads {ALLOWED_FORMATS_TEXT})."
    )


def refusal_reason(message: str) -> str:
    """``Cannot read 'x.png': it is PDF, not ... Digit Lab reads ...`` → ``it is PDF, not ...``."""
    reason = message.split(": ", 1)[-1]
    return reason.split(" Digit Lab reads")[0].rstrip(" .;")


def load_dataset(
    name: str = "mnist",
    *,
    data_file: str | os.PathLike | None = None,
    validation_size: int | float | None = None,
    seed: int = 0,
    image_size: int | None = None,
    color_mode: str = "grayscale",
    representation: str = "images",
    standardization: tuple[list[float], list[float]] | None = None,
    for_training: bool = True,
) -> Dataset:
    """Load ``mnist``, ``fashion-mnist``, ``sklearn-digits`` or an image folder, as images or as features.

    ``representation="images"``: float32 (N, H, W, C) in [0, 1], resized to ``image_size`` and converted to
    ``color_mode`` when asked (sklearn digits are enlarged to 28x28 unless another size is asked).
    ``representation="features"``: each example flattened and standardized with a ``StandardScaler`` fitted
    on the training split (or with ``standardization`` = (mean, std) of an earlier model), as the MLP
    tutorials do; the mean and std are recorded in the dataset for the model's metadata. sklearn digits give
    their 64 original pixels as features. ``validation_size`` None: 5000 images for MNIST and Fashion-MNIST,
    10 % of the training images for the smaller datasets. Every dataset passes :mod:`ml.data.validation` first
    (``for_training=False`` when only its test split will be used).
    """
    check_color_mode(color_mode)
    if representation not in REPRESENTATIONS:
        raise DatasetError(f"Unknown representation {representation!r}; use one of {', '.join(REPRESENTATIONS)}.")
    features = representation == "features"
    if name in ("mnist", "fashion-mnist"):
        loader = load_mnist if name == "mnist" else load_fashion_mnist
        dataset = loader(
            data_file, validation_size=default_if_none(validation_size, DEFAULT_VALIDATION_SIZE), seed=seed
        )
    elif name == "sklearn-digits":
        dataset = sklearn_digits_as_learnt(
            seed=seed,
            as_they_are=features,
            image_size=image_size,
            validation_size=default_if_none(validation_size, DEFAULT_VALIDATION_FRACTION),
        )
        image_size = None  # already at that size
    elif Path(name).is_dir():
        dataset = load_image_folder(
            name,
            image_size=image_size,
            color_mode=color_mode,
            validation_size=default_if_none(validation_size, DEFAULT_VALIDATION_FRACTION),
            seed=seed,
        )
        image_size = None  # already read at that size
    else:
        raise DatasetError(
            f"Unknown dataset {name!r}: use one of {', '.join(DATASET_NAMES)}, or a folder with one subfolder "
            "of images per class."
        )
    check_dataset(dataset, for_training=for_training)
    if features:
        mean, std = standardization if standardization is not None else (None, None)
        return standardize_features(dataset, mean, std)
    return match_dataset_format(dataset, image_size, color_mode)


def default_if_none(value: int | float | None, default: int | float) -> int | float:
    """``value``, or ``default`` when it is None."""
    return default if value is None else value


def match_dataset_format(dataset: Dataset, image_size: int | None, color_mode: str) -> Dataset:
    """The dataset with every split resized to ``image_size`` and converted to ``color_mode``."""
    if image_size is None and color_mode == "grayscale" and dataset.x_train.shape[-1] == 1:
        return dataset
    x_train, x_val, x_test = (
        match_image_format(x, image_size, color_mode) for x in (dataset.x_train, dataset.x_val, dataset.x_test)
    )
    return replace(dataset, x_train=x_train, x_val=x_val, x_test=x_test)
