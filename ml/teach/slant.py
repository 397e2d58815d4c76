"""A hand's slant, measured from image moments, and replay digits given that slant ("replay in your style").

The slant of a digit is how far its ink moves right per row up (pixels per row, from the second moments, as in
LeCun's deskewing). A user's extra slant is the median over their samples of their slant less the mean slant of the
same class in the replay data; shearing replay digits by it shows the model thousands of labelled digits in the
user's slant, where the user's few samples alone show only a handful.
"""

from __future__ import annotations

import numpy as np

_CENTRE = 13.5
REFERENCE_DIGITS = 10000  # replay digits whose class means are the reference slants
NOTICEABLE_SLANT = 0.15  # pixels per row; plain MNIST draws and outlined digits measure within 0.06 of their classes


def slants(images28: np.ndarray) -> np.ndarray:
    """(N, 28, 28) white-on-black digits -> (N,) slants in pixels per row up (positive: tops to the right; 0 for a
    blank image), float64."""
    images = np.asarray(images28, dtype=np.float64)
    height, width = images.shape[1:]
    rows = np.arange(height, dtype=np.float64)[None, :, None]
    columns = np.arange(width, dtype=np.float64)[None, None, :]
    mass = images.sum(axis=(1, 2))
    safe = np.where(mass > 0, mass, 1.0)
    mean_row = (images * rows).sum(axis=(1, 2)) / safe
    mean_column = (images * columns).sum(axis=(1, 2)) / safe
    row_offsets = rows - mean_row[:, None, None]
    covariance = (images * row_offsets * (columns - mean_column[:, None, None])).sum(axis=(1, 2)) / safe
    row_variance = (images * row_offsets**2).sum(axis=(1, 2)) / safe
    slant = -covariance / np.where(row_variance > 0, row_variance, 1.0)  # rows count downwards: tops right = negative
    return np.where((mass > 0) & (row_variance > 0), slant, 0.0)


def class_mean_slants(images28: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """(classes,) mean slant of each class in ``images28`` (0 for a class with no images)."""
    measured = slants(images28)
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    totals = np.bincount(labels, weights=measured, minlength=classes)
    return np.where(counts > 0, totals / np.maximum(counts, 1.0), 0.0)


def extra_slant(samples28: np.ndarray, labels: np.ndarray, reference_means: np.ndarray) -> float:
    """The median of the samples' slants less their class's reference mean slant (0 for no samples)."""
    if len(samples28) == 0:
        return 0.0
    differences = slants(samples28) - np.asarray(reference_means)[np.asarray(labels, dtype=np.int64)]
    return float(np.median(differences))


def matching_shear(
    samples28: np.ndarray, labels: np.ndarray, replay28: np.ndarray, replay_labels: np.ndarray, rounds: int = 3
) -> float:
    """The shear (pixels per row) that gives replay digits the samples' extra slant as measured: the extra slant,
    corrected in a few rounds for the ink a strong shear pushes out of the frame (a strong slant measures low); 0 when
    the extra slant is under ``NOTICEABLE_SLANT``."""
    classes = int(max(np.max(labels, initial=0), np.max(replay_labels, initial=0))) + 1
    reference = class_mean_slants(replay28[:REFERENCE_DIGITS], replay_labels[:REFERENCE_DIGITS], classes)
    target = extra_slant(samples28, labels, reference)
    probe = np.asarray(replay28[:2000], dtype=np.float32)
    probe_slants = slants(probe)
    if abs(target) < NOTICEABLE_SLANT:
        return 0.0
    shear = target
    for _ in range(rounds):
        shear += target - float(np.median(slants(sheared(probe, shear)) - probe_slants))
    return shear


def sheared(images28: np.ndarray, slant: float | np.ndarray) -> np.ndarray:
    """(N, 28, 28) digits sheared about the centre so each one's slant grows by ``slant`` pixels per row up (one
    number for all, or (N,) one per image; bilinear, black outside), float32; the input is not changed."""
    images = np.asarray(images28, dtype=np.float32)
    per_image = np.broadcast_to(np.asarray(slant, dtype=np.float32), (len(images),))
    if len(images) == 0 or not per_image.any():
        return images.copy()
    count, height, width = images.shape
    rows = np.arange(height, dtype=np.float32)[None, :, None]
    columns = np.arange(width, dtype=np.float32)[None, None, :]
    source_columns = columns + per_image[:, None, None] * (rows - _CENTRE)  # (N, H, W)
    left = np.floor(source_columns).astype(np.int64)
    fraction = (source_columns - left).astype(np.float32)
    result = np.zeros_like(images)
    image_index = np.arange(count)[:, None, None]
    row_index = np.arange(height)[None, :, None]
    for offset, weight in ((0, 1.0 - fraction), (1, fraction)):
        column = left + offset
        inside = (column >= 0) & (column < width)
        picked = images[image_index, row_index, np.clip(column, 0, width - 1)]
        result += np.where(inside, weight, 0.0) * picked
    return result
