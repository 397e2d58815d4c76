"""What an export is checked against: reference images (MNIST, or scikit-learn's 8x8 digits for a model trained on
them), the Keras model's own probabilities, and the comparison."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import keras
import numpy as np

from ml.data.datasets import DIGIT_CLASS_NAMES, SKLEARN_DIGITS_SIDE, sklearn_digits_for_model, split_seed
from ml.data.sources import read_mnist_arrays
from ml.inference.model_input import input_image_size, prepare_for_model
from ml.inference.predictor import as_probabilities
from ml.models.classifier import outputs_probabilities
from ml.models.files import LoadedModel

VERIFICATION_IMAGES = 1000
"""Test images every export is compared on (at most: scikit-learn's digits hold out 540)."""
REPRESENTATIVE_IMAGES = 200
"""Training images the int8 quantisation calibrates its ranges on."""
BATCH = 250
SKLEARN_DIGITS = "sklearn-digits"


@dataclass(frozen=True)
class ReferenceImages:
    """White-on-black [0, 1] 2-D images (28x28, or the size a scikit-learn digits model learnt them at): test images
    with labels, and calibration images; ``source`` names them in the report ("MNIST")."""

    test_images: np.ndarray
    test_labels: np.ndarray
    calibration_images: np.ndarray
    source: str = "MNIST"


@dataclass(frozen=True)
class Verification:
    """An exported model's probabilities against the Keras model's, on the same images."""

    images: int
    max_probability_difference: float
    agreement: float  # the share of images where both pick the same class
    keras_accuracy: float | None  # None: the model's classes are not the digits, so the labels do not apply
    exported_accuracy: float | None

    @property
    def accuracy_drop(self) -> float | None:
        """How much accuracy the export lost (negative: it gained); None without labels."""
        if self.keras_accuracy is None or self.exported_accuracy is None:
            return None
        return self.keras_accuracy - self.exported_accuracy

    def as_dict(self) -> dict:
        """Plain data (for the sidecar file and the window)."""
        return {**asdict(self), "accuracy_drop": self.accuracy_drop}


def mnist_reference(
    test_count: int = VERIFICATION_IMAGES,
    calibration_count: int = REPRESENTATIVE_IMAGES,
    source: str | os.PathLike | None = None,
) -> ReferenceImages:
    """The first ``test_count`` MNIST test images and ``calibration_count`` training images spread over the set."""
    arrays = read_mnist_arrays(source)
    train, test = arrays["x_train"], arrays["x_test"]
    picks = np.linspace(0, len(train) - 1, num=min(calibration_count, len(train)), dtype=np.int64)
    return ReferenceImages(
        test_images=np.asarray(test[:test_count], dtype=np.float32) / 255.0,
        test_labels=np.asarray(arrays["y_test"][:test_count], dtype=np.int64),
        calibration_images=np.asarray(train[picks], dtype=np.float32) / 255.0,
    )


def trained_on_sklearn_digits(loaded: LoadedModel) -> bool:
    """Whether ``loaded`` learnt scikit-learn's 8x8 digits: its card says so, or, with no dataset recorded, it takes
    8x8 images (MNIST shrunk to 8x8 is not what such a model knows: an int8 export checked on it was refused)."""
    if loaded.metadata.dataset is not None:
        return loaded.metadata.dataset == SKLEARN_DIGITS
    try:
        height, width, _channels = input_image_size(tuple(loaded.input_shape))
    except ValueError:
        return False
    return (height, width) == (SKLEARN_DIGITS_SIDE, SKLEARN_DIGITS_SIDE)


def sklearn_digits_reference(
    loaded: LoadedModel, test_count: int = VERIFICATION_IMAGES, calibration_count: int = REPRESENTATIVE_IMAGES
) -> ReferenceImages:
    """scikit-learn's digits split as ``loaded`` was trained (its recorded seed): its held-out test images, and
    ``calibration_count`` training images spread over the rest; in the form it learnt them: the 64 pixels as they
    are for a model of standardized features (or of no recorded dataset), else enlarged to 28x28 and resized to its
    input, as training did."""
    digits = sklearn_digits_for_model(
        seed=split_seed(loaded.metadata),
        input_size=_input_size(loaded),
        input_scale=loaded.metadata.input_scale,
        dataset=loaded.metadata.dataset,
    )
    train = np.concatenate([digits.x_train, digits.x_val])[..., 0]
    picks = np.linspace(0, len(train) - 1, num=min(calibration_count, len(train)), dtype=np.int64)
    return ReferenceImages(
        test_images=np.asarray(digits.x_test[:test_count, ..., 0], dtype=np.float32),
        test_labels=np.asarray(digits.y_test[:test_count], dtype=np.int64),
        calibration_images=np.asarray(train[picks], dtype=np.float32),
        source="scikit-learn digits",
    )


def _input_size(loaded: LoadedModel) -> tuple[int, int] | None:
    """(height, width) of the images ``loaded`` takes; None for a model Digit Lab cannot feed (the export says so
    when it prepares the images)."""
    try:
        height, width, _channels = input_image_size(tuple(loaded.input_shape))
    except ValueError:
        return None
    return height, width


def model_inputs(loaded: LoadedModel, images: np.ndarray) -> np.ndarray:
    """The float32 batch ``loaded`` expects for reference images (its card's polarity and scale; resized to its
    input, left as they are when they already fit it)."""
    return prepare_for_model(images, tuple(loaded.input_shape), loaded.metadata)


def keras_probabilities(loaded: LoadedModel, inputs: np.ndarray) -> np.ndarray:
    """The Keras model's own probabilities for prepared ``inputs`` (inference mode, in batches)."""
    applies_softmax = not outputs_probabilities(loaded.model)
    rows = [
        keras.ops.convert_to_numpy(loaded.model(inputs[start : start + BATCH], training=False))
        for start in range(0, len(inputs), BATCH)
    ]
    return as_probabilities(np.concatenate(rows).astype(np.float32), applies_softmax)


def labels_apply(loaded: LoadedModel) -> bool:
    """Whether the reference digits' labels mean the model's classes (its class names are the digits 0 to 9)."""
    return list(loaded.metadata.class_names) == DIGIT_CLASS_NAMES


def compare(reference: np.ndarray, exported: np.ndarray, labels: np.ndarray | None) -> Verification:
    """The exported probabilities against the Keras ones (``labels``: None when the digits' labels do not apply)."""
    if exported.shape != reference.shape:
        raise ValueError(f"the exported model gives outputs of shape {exported.shape}, Keras {reference.shape}")
    keras_choice, exported_choice = reference.argmax(axis=1), exported.argmax(axis=1)
    return Verification(
        images=len(reference),
        max_probability_difference=float(np.abs(reference.astype(np.float64) - exported).max(initial=0.0)),
        agreement=float(np.mean(keras_choice == exported_choice)) if len(reference) else 1.0,
        keras_accuracy=None if labels is None else float(np.mean(keras_choice == labels)),
        exported_accuracy=None if labels is None else float(np.mean(exported_choice == labels)),
    )
