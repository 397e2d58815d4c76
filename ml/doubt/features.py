"""What the not-a-digit decision looks at: input checks on the 28x28 (ink, components, holes, aspect, crossings,
texture), the not-a-digit detector's score (a small CNN learnt from generated non-digits, ``ml/doubt/detector.py``)
and the model's own doubt (its top probability, the margin to the second, the entropy). Numpy only."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

INK = 0.35  # a pixel at least this bright is ink, for counting components, holes and crossings
_EIGHT = np.ones((3, 3), dtype=bool)

IMAGE_FEATURES = (
    "ink_mass",
    "solid_ink",
    "components",
    "holes",
    "log_aspect",
    "grey_share",
    "fill",
    "edge_share",
    "spread",
    "mirror_lr",
    "mirror_ud",
    "row_crossings_max",
    "column_crossings_max",
    "crossings_mean",
    "largest_component_share",
)
PROBABILITY_FEATURES = ("confidence_nats", "margin", "entropy")
DETECTOR_FEATURES = ("detector",)  # the detector's logit of "not a digit": from the image alone, like the checks
MODEL_FREE_FEATURES = IMAGE_FEATURES + DETECTOR_FEATURES
FEATURES = PROBABILITY_FEATURES + IMAGE_FEATURES + DETECTOR_FEATURES


def image_features(image28: np.ndarray) -> np.ndarray:
    """The input checks of one 28x28 white-on-black image in [0, 1], as a float32 vector in ``IMAGE_FEATURES`` order."""
    image = np.clip(np.asarray(image28, dtype=np.float32), 0.0, 1.0)
    mask = image >= INK
    ink_pixels = int(mask.sum())
    if ink_pixels == 0:
        return np.zeros(len(IMAGE_FEATURES), np.float32)
    labels, components = ndimage.label(mask, structure=_EIGHT)
    sizes = np.bincount(labels.ravel())[1:]
    background, regions = ndimage.label(~mask)
    border = set(np.unique(np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]])))
    holes = sum(
        1
        for region, size in enumerate(np.bincount(background.ravel())[1:], start=1)
        if region not in border and size >= 2
    )
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1
    faint = image > 0.05
    edge = mask & ~ndimage.binary_erosion(mask, structure=np.ones((3, 3), bool), border_value=0)
    total = float(image.sum())
    ys, xs = np.mgrid[0:28, 0:28]
    cy, cx = float((ys * image).sum() / total), float((xs * image).sum() / total)
    spread = float(np.sqrt((((ys - cy) ** 2 + (xs - cx) ** 2) * image).sum() / total))
    row_crossings = np.count_nonzero(np.diff(mask.astype(np.int8), axis=1) == 1, axis=1) + mask[:, 0]
    column_crossings = np.count_nonzero(np.diff(mask.astype(np.int8), axis=0) == 1, axis=0) + mask[0, :]
    return np.array(
        [
            total / 784.0,
            ink_pixels / 784.0,
            min(components, 6),
            min(holes, 5),
            float(np.log(width / height)),
            float(((image > 0.05) & (image < 0.5)).sum() / max(1, faint.sum())),
            ink_pixels / float(width * height),
            float(edge.sum()) / ink_pixels,
            spread / 10.0,
            _mirror_similarity(image, axis=1),
            _mirror_similarity(image, axis=0),
            float(row_crossings.max()),
            float(column_crossings.max()),
            float(
                (row_crossings[rows[0] : rows[-1] + 1].mean() + column_crossings[columns[0] : columns[-1] + 1].mean())
                / 2
            ),
            float(sizes.max()) / ink_pixels,
        ],
        dtype=np.float32,
    )


def _mirror_similarity(image: np.ndarray, axis: int) -> float:
    """How alike the image and its mirror about its centre of mass are (cosine of the two, 1 = symmetric)."""
    profile = image.sum(axis=1 - axis)
    centre = float((np.arange(28) * profile).sum() / max(float(profile.sum()), 1e-6))
    shift = int(round(2 * centre - 27))
    mirrored = np.roll(np.flip(image, axis=axis), shift, axis=axis)
    norm = float(np.linalg.norm(image) * np.linalg.norm(mirrored))
    return float((image * mirrored).sum() / norm) if norm > 0 else 0.0


def probability_features(probabilities: np.ndarray) -> np.ndarray:
    """(n, k) probabilities -> (n, 3): the top probability as nats of confidence (-log(1 - p)), the margin to the
    second, and the entropy."""
    probabilities = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    ordered = np.sort(probabilities, axis=1)
    top = ordered[:, -1]
    second = ordered[:, -2] if ordered.shape[1] > 1 else np.zeros_like(top)
    confidence = -np.log(np.clip(1.0 - top, 1e-7, 1.0))
    entropy = -(probabilities * np.log(np.clip(probabilities, 1e-12, 1.0))).sum(axis=1)
    return np.stack([confidence, top - second, entropy], axis=1).astype(np.float32)


def features(images28: np.ndarray, probabilities: np.ndarray, with_detector: bool = True) -> np.ndarray:
    """(n, 28, 28) images and their (n, k) probabilities -> (n, len(FEATURES)) float32. Without ``with_detector``
    the detector's column is 0 (for decisions that do not read it); with it, an unusable detector file raises
    ``ml.doubt.detector.DetectorFileError``."""
    images28 = np.asarray(images28)
    checks = (
        np.stack([image_features(image) for image in images28]) if len(images28) else np.zeros((0, len(IMAGE_FEATURES)))
    )
    detector = np.zeros((len(images28), 1), np.float32)
    if with_detector and len(images28):
        from ml.doubt.detector import shipped_detector

        detector[:, 0] = shipped_detector().scores(images28)
    return np.concatenate([probability_features(probabilities), checks, detector], axis=1).astype(np.float32)
