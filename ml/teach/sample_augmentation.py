"""Augmentations of the user's few samples that keep their style: smooth elastic warps, and the sample's own ink
levels given back after a warp; numpy in, numpy out."""

from __future__ import annotations

import numpy as np


def elastic_distort(images: np.ndarray, alpha: float, rng: np.random.Generator, sigma: float = 4.0) -> np.ndarray:
    """Each (28, 28) image warped by its own smooth random displacement field of at most ``alpha`` pixels
    (Simard et al. 2003); numpy in, numpy out."""
    from scipy import ndimage

    count, height, width = images.shape
    rows, columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    distorted = np.empty_like(images)
    for index in range(count):
        fields = rng.uniform(-1.0, 1.0, size=(2, height, width))
        smooth = np.stack([ndimage.gaussian_filter(field, sigma) for field in fields])
        dy, dx = smooth * (alpha / max(float(np.abs(smooth).max()), 1e-6))
        coordinates = np.stack([rows + dy, columns + dx])
        distorted[index] = ndimage.map_coordinates(images[index], coordinates, order=1, mode="constant")
    return distorted


def match_ink_levels(images: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Each image's pixels re-valued to its reference's sorted pixel values, keeping their rank order (histogram
    matching): blurring by warps is undone in value while the shape stays; numpy in, numpy out."""
    count = len(images)
    flat = images.reshape(count, -1)
    order = np.argsort(flat, axis=1, kind="stable")
    matched = np.empty_like(flat)
    np.put_along_axis(matched, order, np.sort(references.reshape(count, -1), axis=1), axis=1)
    return matched.reshape(images.shape)
