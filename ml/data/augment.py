"""Training-time augmentation for digit images: small rotations, shifts, zoom and stroke thickness."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf


@dataclass(frozen=True)
class AugmentSettings:
    """Ranges of the random transforms applied to each training image."""

    rotation_degrees: float = 10.0
    shift_fraction: float = 0.08
    zoom_range: float = 0.10
    thickness_probability: float = 0.25


def affine_transforms(angle: tf.Tensor, zoom: tf.Tensor, shift: tf.Tensor, size: int) -> tf.Tensor:
    """(N, 8) projective transforms (output → input coordinates): rotate by ``angle`` radians and zoom by ``zoom``
    about the centre, then shift by ``shift`` (N, 2) pixels (x right, y down); each (N,)."""
    angle = tf.cast(angle, tf.float32)
    zoom = tf.cast(zoom, tf.float32)
    shift = tf.cast(shift, tf.float32)
    centre = (size - 1) / 2.0
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    target_x, target_y = centre + shift[:, 0], centre + shift[:, 1]
    a2 = centre - cos * target_x - sin * target_y
    b2 = centre + sin * target_x - cos * target_y
    zeros = tf.zeros_like(cos)
    return tf.stack([cos, sin, a2, -sin, cos, b2, zeros, zeros], axis=1)


def random_affine_transforms(batch_size: tf.Tensor, size: int, settings: AugmentSettings) -> tf.Tensor:
    """(N, 8) projective transforms (output → input coordinates) for rotation, zoom and shift."""
    angle = tf.random.uniform([batch_size], -1.0, 1.0) * (settings.rotation_degrees * math.pi / 180.0)
    zoom = 1.0 + tf.random.uniform([batch_size], -settings.zoom_range, settings.zoom_range)
    shift = tf.random.uniform([batch_size, 2], -1.0, 1.0) * (settings.shift_fraction * size)
    return affine_transforms(angle, zoom, shift, size)


def warp(images: tf.Tensor, transforms: tf.Tensor) -> tf.Tensor:
    """Apply (N, 8) projective transforms to a float (N, H, W, C) batch: bilinear, black outside the image."""
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def blend_stroke_thickness(images: tf.Tensor, amount: tf.Tensor | float) -> tf.Tensor:
    """Thicken (``amount`` > 0, towards a 3x3 grey dilation) or thin (< 0, towards a 3x3 erosion) white strokes;
    ``amount`` is a number or an (N, 1, 1, 1) tensor in [-1, 1]."""
    dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    amount = tf.cast(amount, images.dtype)
    return images + tf.maximum(amount, 0.0) * (dilated - images) + tf.maximum(-amount, 0.0) * (eroded - images)


def vary_stroke_thickness(images: tf.Tensor, probability: float) -> tf.Tensor:
    """Randomly thicken (dilate) or thin (erode) strokes by a blended 3x3 grey morphology."""
    count = tf.shape(images)[0]
    strength = tf.random.uniform([count, 1, 1, 1], 0.0, 0.6)
    choice = tf.random.uniform([count, 1, 1, 1])
    thicken = tf.cast(choice < probability / 2, images.dtype)
    thin = tf.cast((choice >= probability / 2) & (choice < probability), images.dtype)
    return blend_stroke_thickness(images, strength * (thicken - thin))


def augment_batch(images: tf.Tensor, settings: AugmentSettings = AugmentSettings()) -> tf.Tensor:
    """Augment a float (N, H, W, C) batch in [0, 1]; square images only."""
    transforms = random_affine_transforms(tf.shape(images)[0], int(images.shape[1]), settings)
    warped = warp(images, transforms)
    if settings.thickness_probability > 0:
        warped = vary_stroke_thickness(warped, settings.thickness_probability)
    return tf.clip_by_value(warped, 0.0, 1.0)


def augmented_examples(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """Numpy in, numpy out: one augmented copy of each image (for previews)."""
    tf.random.set_seed(seed)
    batch = np.asarray(images, np.float32)
    squeeze = batch.ndim == 3
    result = augment_batch(tf.constant(batch[..., None] if squeeze else batch)).numpy()
    return result[..., 0] if squeeze else result
