"""Which evaluation sets fit a model, and loading them: MNIST test, Fashion-MNIST test, scikit-learn digits' test
split, an image folder; and the validation split a temperature is fitted on.

A set's labels are mapped onto the model's own classes by name (a model without a card by position), so the
confusion matrix is always the model's k x k; a set with a class the model does not score is refused, naming it.
Every refusal is a :class:`ml.errors.DatasetError` with one clear sentence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ml.data.datasets import (
    DEFAULT_VALIDATION_FRACTION,
    DEFAULT_VALIDATION_SIZE,
    DIGIT_CLASS_NAMES,
    DRAWING,
    FASHION_MNIST_CLASS_NAMES,
    folder_image_files,
    load_image_folder,
    read_folder_image,
    refusal_reason,
    sklearn_digits_for_model,
    split_seed,
    split_validation,
    unreadable_files_error,
)
from ml.data.sources import IDX_FILE_NAMES, download_fashion_mnist, read_idx_arrays, read_mnist_arrays
from ml.data.validation import images_to_unit, labels_to_int
from ml.errors import DatasetError, ImageReadError
from ml.inference.model_input import input_image_size
from ml.plurals import plural

SET_TITLES = {
    "mnist-test": "MNIST test",
    "fashion-test": "Fashion-MNIST test",
    "digits-test": "scikit-learn digits test split",
    "folder": "an image folder",
}
DATASET_ALIASES = {"mnist": "mnist-test", "fashion-mnist": "fashion-test", "sklearn-digits": "digits-test"}
_LISTED = 5
LUMA = np.asarray([0.299, 0.587, 0.114], np.float32)  # colour -> grey, as ml.data.datasets converts


@dataclass
class EvaluationSet:
    """Labelled images to judge a model on.

    ``images`` (n, h, w) float32 in [0, 1], white on black, displayable as they are (28x28, or the size the model
    learnt them at: scikit-learn's digits at an image model's own input size, 8x8 for a features model, an image
    folder read at the model's size); ``labels`` (n,) int64 indices into ``class_names`` (the model's classes);
    ``color_images`` (n, h, w, 3) only for an RGB model's image folder (then the model reads those, and ``images``
    is their grey version).
    """

    name: str
    title: str
    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    color_images: np.ndarray | None = None
    source: str | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def pixels(self) -> np.ndarray:
        """(n, h, w, c) what the model reads: the colour images, else the grey ones with a channel axis."""
        return self.color_images if self.color_images is not None else self.images[..., None]

    def subset(self, indices: np.ndarray) -> EvaluationSet:
        """The same set restricted to ``indices`` (in that order)."""
        indices = np.asarray(indices, dtype=np.int64)
        color = None if self.color_images is None else self.color_images[indices]
        return replace(self, images=self.images[indices], labels=self.labels[indices], color_images=color)


def model_image_size(loaded) -> tuple[int, int, int]:
    """(height, width, channels) of the images ``loaded`` takes (a free size counts as 28)."""
    try:
        return input_image_size(loaded.input_shape)
    except ValueError as error:
        raise DatasetError(f"{loaded.display_name} cannot be fed images: {error}") from None


def _sklearn_digits_for(loaded, seed: int, validation_size: int | float = DEFAULT_VALIDATION_FRACTION):
    """scikit-learn's digits split with ``seed`` in the form ``loaded`` learnt them (the 8x8 pixels of a features
    model, else enlarged to 28x28 and resized to its input, as training gave them), as the export verifies it."""
    height, width, _ = model_image_size(loaded)
    metadata = loaded.metadata
    return sklearn_digits_for_model(
        seed=seed,
        input_size=(height, width),
        input_scale=metadata.input_scale,
        dataset=metadata.dataset,
        validation_size=validation_size,
    )


def fashion_mnist_available(data_file: str | os.PathLike | None = None) -> bool:
    """Whether Fashion-MNIST can be read without a network: a given file, or keras's download cache."""
    if data_file is not None:
        return Path(data_file).exists()
    homes = [Path(os.environ["KERAS_HOME"])] if os.environ.get("KERAS_HOME") else []
    homes.append(Path.home() / ".keras")
    return any(
        all((home / "datasets" / "fashion-mnist" / name).is_file() for name in IDX_FILE_NAMES.values())
        for home in homes
    )


def _fits_classes(loaded, set_classes: list[str]) -> bool:
    model_classes = list(loaded.metadata.class_names)
    if not loaded.has_metadata:
        return len(set_classes) <= loaded.num_classes
    return all(name in model_classes for name in set_classes)


def evaluation_sets(loaded) -> list[str]:
    """The sets ``loaded`` can be judged on, in the order to offer them; "folder" (any image folder) is last."""
    names = []
    if _fits_classes(loaded, DIGIT_CLASS_NAMES):
        names += ["mnist-test", "digits-test"]
    if _fits_classes(loaded, FASHION_MNIST_CLASS_NAMES) and fashion_mnist_available():
        names.insert(1 if names else 0, "fashion-test")
    return [*names, "folder"]


def model_labels(loaded, set_classes: list[str], labels: np.ndarray, origin: str) -> np.ndarray:
    """A set's labels (indices into ``set_classes``) as indices into the model's classes, by class name.

    Refuses a set with classes the model does not score, naming them; a model without a card maps by position.
    """
    model_classes = list(loaded.metadata.class_names)
    present = [set_classes[index] for index in np.unique(labels)]
    labels = np.asarray(labels, dtype=np.int64)
    if not loaded.has_metadata and set_classes != model_classes:
        if labels.size and int(labels.max()) >= loaded.num_classes:
            raise DatasetError(
                f"{origin}'s labels go up to {set_classes[int(labels.max())]}, but {loaded.display_name} scores only "
                f"{loaded.num_classes} classes (0..{loaded.num_classes - 1}); evaluate it on a dataset of its own "
                "classes."
            )
        return labels
    unknown = [name for name in present if name not in model_classes]
    if unknown:
        listed = ", ".join(unknown[:_LISTED]) + (" …" if len(unknown) > _LISTED else "")
        raise DatasetError(
            f"{origin} has labels outside {loaded.display_name}'s classes: {listed} (it scores "
            f"{', '.join(model_classes[:12])}{' …' if len(model_classes) > 12 else ''}); evaluate it on a "
            "dataset of its own classes."
        )
    mapping = np.asarray([model_classes.index(name) if name in model_classes else -1 for name in set_classes])
    return mapping[labels]


def _image_set(name: str, loaded, images: np.ndarray, labels: np.ndarray, set_classes: list[str], source=None):
    """An :class:`EvaluationSet` from raw (n, h, w[, 1]) images and labels, checked and mapped onto the model."""
    title = SET_TITLES.get(name, name)
    images = images_to_unit(images, title)
    if images.ndim == 4:
        images = images[..., 0]
    if len(images) == 0:
        raise DatasetError(f"{title} holds no images.")
    labels = labels_to_int(labels, len(set_classes), title)
    mapped = model_labels(loaded, set_classes, labels, title)
    title = f"{title} ({plural(len(mapped), 'image')})"
    return EvaluationSet(
        name,
        title,
        np.ascontiguousarray(images),
        mapped,
        list(loaded.metadata.class_names),
        source=None if source is None else str(source),
    )


def _card_seed(loaded, dataset_name: str) -> int:
    """The seed the model's run split ``dataset_name`` with (so its own test split is used), else 0."""
    return split_seed(loaded.metadata) if loaded.metadata.dataset == dataset_name else 0


def load_evaluation_set(
    name: str, loaded, folder: str | os.PathLike | None = None, data_file: str | os.PathLike | None = None
) -> EvaluationSet:
    """Load the set ``name`` (one of :data:`SET_TITLES`, a ``digitlab train`` dataset name, or a folder path) for
    ``loaded``. ``folder`` is the image folder for "folder"; ``data_file`` an MNIST / Fashion-MNIST ``.npz`` or IDX
    folder instead of the bundled or cached one. Raises DatasetError when the set cannot be read or does not fit.
    """
    name = DATASET_ALIASES.get(name, name)
    if name not in SET_TITLES and Path(name).is_dir():
        name, folder = "folder", name
    if name == "mnist-test":
        arrays = read_mnist_arrays(data_file)
        return _image_set(name, loaded, arrays["x_test"], arrays["y_test"], DIGIT_CLASS_NAMES, data_file)
    if name == "fashion-test":
        arrays = read_idx_arrays(data_file, label="Fashion-MNIST", download=download_fashion_mnist)
        return _image_set(name, loaded, arrays["x_test"], arrays["y_test"], FASHION_MNIST_CLASS_NAMES, data_file)
    if name == "digits-test":
        digits = _sklearn_digits_for(loaded, _card_seed(loaded, "sklearn-digits"))
        return _image_set(name, loaded, digits.x_test, digits.y_test, DIGIT_CLASS_NAMES)
    if name == "folder":
        if folder is None:
            raise DatasetError("Choose an image folder (one subfolder of images per class) to evaluate on.")
        return load_folder_set(Path(folder), loaded)
    raise DatasetError(
        f"Unknown evaluation set {name!r}: use one of mnist-test, fashion-test, digits-test (or mnist, fashion-mnist, "
        "sklearn-digits), or a folder with one subfolder of images per class."
    )


DRAWN_DIGIT_DATASETS = ("mnist", "sklearn-digits")


def folder_reading(folder: Path, loaded) -> tuple[int, int, str, bool]:
    """How to read ``folder`` for the model: image side, channels, colour mode, and whether it is the model's own
    training folder (whose test split is read instead). Refuses a folder that is not there."""
    height, _, channels = model_image_size(loaded)
    if not folder.is_dir():
        raise DatasetError(f"There is no image folder at {folder}.")
    trained_on = Path(loaded.metadata.dataset) if loaded.metadata.dataset else None
    is_training_folder = trained_on is not None and trained_on.is_dir() and trained_on.resolve() == folder.resolve()
    if channels == 3:
        return height, channels, "rgb", is_training_folder
    drawings = reads_drawings(loaded) and not is_training_folder
    return height, channels, DRAWING if drawings else "grayscale", is_training_folder


def reads_drawings(loaded) -> bool:
    """Whether a grey model reads digits as ``digitlab predict`` prepares them (an MNIST or scikit-learn digits model,
    or one without a card): a folder of digit images is then read the same way, dark ink on white paper included.
    A model trained on an image folder keeps that folder's raw pixels as its input."""
    dataset = (loaded.metadata.dataset or "").lower()
    digits = list(loaded.metadata.class_names) == list(DIGIT_CLASS_NAMES)
    return digits and (not loaded.has_metadata or dataset in DRAWN_DIGIT_DATASETS)


def load_folder_set(folder: Path, loaded) -> EvaluationSet:
    """Every image of ``folder``'s class subfolders, read by the one safe reader at the model's size; the model's
    own training folder gives its held-out test split instead (the images it never trained on)."""
    height, channels, color_mode, is_training_folder = folder_reading(folder, loaded)
    if is_training_folder:
        images, labels, classes = read_folder_test_split(folder, height, color_mode)
        title = f"{folder.name}, its test split"
    else:
        images, labels, classes = read_folder_images(folder, height, color_mode)
        title = folder.name or str(folder)
    mapped = model_labels(loaded, classes, labels, f"The image folder {folder}")
    grey = images[..., 0] if channels != 3 else images @ LUMA
    return EvaluationSet(
        "folder",
        f"{title} ({plural(len(mapped), 'image')})",
        np.ascontiguousarray(grey, np.float32),
        mapped,
        list(loaded.metadata.class_names),
        color_images=np.ascontiguousarray(images) if channels == 3 else None,
        source=str(folder),
    )


def read_folder_test_split(folder: Path, size: int, color_mode: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images, labels, class names) of a training folder's held-out test split: only those files are read (the
    folder is listed and split as training splits it), and any that cannot be read refuse the set."""
    from ml.data.streaming import open_image_folder

    streamed = open_image_folder(folder, image_size=size, color_mode=color_mode)
    batches = list(streamed.batches("test", 512))
    if streamed.skipped.count:
        raise DatasetError(f"{streamed.skipped.describe()} Remove or convert them to measure the test split.")
    images = np.concatenate([images for images, _ in batches])
    return images, np.concatenate([labels for _, labels in batches]), streamed.class_names


def class_subfolders(folder: Path) -> list[Path]:
    """The image folder's class subfolders, sorted by name; refuses a folder that cannot be read or has none."""
    try:
        class_folders = sorted(entry for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    except OSError as error:
        raise DatasetError(f"Cannot read the image folder {folder}: {error.strerror or error}.") from None
    if not class_folders:
        raise DatasetError(
            f"The image folder {folder} has no class subfolders; it needs one subfolder of images per class, "
            "named after the class (e.g. 0, 1, … 9)."
        )
    return class_folders


def read_folder_images(folder: Path, size: int, color_mode: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images (n, size, size, c), labels, class names) of every image in ``folder``'s class subfolders.

    Refuses a folder without class subfolders or images, and one holding files the safe reader refuses (naming
    up to five of them), so that no accuracy is ever measured on a silently shrunk set.
    """
    class_folders = class_subfolders(folder)
    images, labels, refused = [], [], []
    for label, class_folder in enumerate(class_folders):
        for path in folder_image_files(class_folder):
            try:
                images.append(read_folder_image(path, size, color_mode))
                labels.append(label)
            except ImageReadError as error:
                refused.append((str(path.relative_to(folder)), refusal_reason(str(error))))
    if refused:
        raise unreadable_files_error(folder, refused, len(refused) + len(images))
    if not images:
        raise DatasetError(f"The image folder {folder} holds no images in its class subfolders; it is empty.")
    return np.stack(images).astype(np.float32), np.asarray(labels, np.int64), [entry.name for entry in class_folders]


def load_validation_set(loaded, data_file: str | os.PathLike | None = None) -> EvaluationSet:
    """The validation split ``loaded``'s training run held out (its card's dataset, seed and validation size), to
    fit a temperature on; never a test set. A model without a card gets MNIST's 5,000 validation images."""
    hyperparameters = loaded.metadata.hyperparameters or {}
    dataset = loaded.metadata.dataset or "mnist"
    seed = int(hyperparameters.get("seed") or 0)
    size = hyperparameters.get("validation_size")
    data_file = data_file or hyperparameters.get("data_file")
    if dataset in ("mnist", "fashion-mnist"):
        if dataset == "mnist":
            arrays, classes = read_mnist_arrays(data_file), DIGIT_CLASS_NAMES
        else:
            arrays = read_idx_arrays(data_file, label="Fashion-MNIST", download=download_fashion_mnist)
            classes = FASHION_MNIST_CLASS_NAMES
        _, _, x_val, y_val = split_validation(
            arrays["x_train"], arrays["y_train"], DEFAULT_VALIDATION_SIZE if size is None else size, seed
        )
    elif dataset == "sklearn-digits":
        digits = _sklearn_digits_for(loaded, seed, DEFAULT_VALIDATION_FRACTION if size is None else size)
        x_val, y_val, classes = digits.x_val, digits.y_val, DIGIT_CLASS_NAMES
    elif Path(dataset).is_dir():
        height, _, channels = model_image_size(loaded)
        folder = load_image_folder(
            dataset,
            image_size=height,
            color_mode="rgb" if channels == 3 else "grayscale",
            validation_size=DEFAULT_VALIDATION_FRACTION if size is None else size,
            seed=seed,
        )
        x_val, y_val, classes = folder.x_val, folder.y_val, folder.class_names
    else:
        raise DatasetError(
            f"{loaded.display_name} was trained on {dataset}, which is no longer here, so its validation split "
            "cannot be rebuilt to fit a temperature."
        )
    cap = hyperparameters.get("max_train_samples")
    if isinstance(cap, int) and cap > 0:
        x_val, y_val = x_val[: max(1, cap // 5)], y_val[: max(1, cap // 5)]  # as Dataset.subset holds out
    if len(y_val) == 0:
        raise DatasetError(f"{loaded.display_name}'s training run held out no validation images to calibrate on.")
    title = f"{Path(dataset).name or dataset} validation split, seed {seed}"
    if x_val.ndim == 4 and x_val.shape[-1] == 3:  # an RGB model's folder: the model reads the colour images
        mapped = model_labels(loaded, classes, labels_to_int(y_val, len(classes), title), title)
        return EvaluationSet(
            "validation",
            title,
            np.ascontiguousarray(x_val @ LUMA),
            mapped,
            list(loaded.metadata.class_names),
            color_images=x_val,
            source=dataset,
        )
    validation = _image_set("validation", loaded, x_val, y_val, classes, data_file)
    validation.title = title
    return validation
