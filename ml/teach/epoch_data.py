"""A teach's data: each epoch's mix of augmented samples and replay digits (a share in the user's slant), the
targets, and the images its batch-norm statistics may be measured on afresh; numpy in, numpy out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from ml.data.augment import augment_batch
from ml.teach.sample_augmentation import elastic_distort, match_ink_levels
from ml.teach.slant import sheared

if TYPE_CHECKING:
    from ml.teach.teaching import TeachSettings


def epoch_data(
    images28: np.ndarray,
    labels: np.ndarray,
    replay_images: np.ndarray,
    replay_labels: np.ndarray,
    settings: TeachSettings,
    rng: np.random.Generator,
    user_slant: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One epoch's images and labels: every sample ``sample_repeats`` times, augmented, and a fresh random replay draw
    (a share sheared to ``user_slant``); the third array marks the replay images left as they are."""
    x = np.repeat(images28, settings.sample_repeats, axis=0)
    y = np.repeat(labels, settings.sample_repeats)
    if settings.elastic_alpha > 0:
        x = elastic_distort(x, settings.elastic_alpha, rng)
    augmented = augment_batch(tf.constant(x[..., None]), settings.augmentation).numpy()[..., 0]
    x = (
        match_ink_levels(augmented, np.repeat(images28, settings.sample_repeats, axis=0))
        if settings.keep_ink_levels
        else augmented
    )
    from_replay = np.zeros(len(y), bool)
    if len(replay_labels):
        count = int(round(len(y) * settings.replay_per_sample))
        chosen = rng.choice(len(replay_labels), size=count, replace=False)
        replayed = replay_images[chosen]
        styled = int(round(len(chosen) * settings.replay_in_user_slant)) if user_slant else 0
        if styled:
            spread = settings.replay_slant_spread
            shears = user_slant * (1 + rng.uniform(-spread, spread, styled)) if spread else user_slant
            replayed = np.concatenate([sheared(replayed[:styled], shears), replayed[styled:]])
        if settings.augment_upright_replay and styled < len(replayed):
            upright = tf.constant(replayed[styled:, ..., None])
            replayed[styled:] = augment_batch(upright, settings.augmentation).numpy()[..., 0]
        x = np.concatenate([x, replayed])
        y = np.concatenate([y, replay_labels[chosen]])
        from_replay = np.concatenate([from_replay, np.arange(len(chosen)) >= styled])  # as the original saw them
    order = rng.permutation(len(y))
    return x[order], y[order], from_replay[order]


def teaching_targets(
    labels: np.ndarray, classes: int, from_replay: np.ndarray, original: np.ndarray | None = None, share: float = 0.0
) -> np.ndarray:
    """(N, classes) float32 targets: one-hot labels, the replay rows blending in ``share`` of ``original`` (the
    original model's probabilities for those rows, in order: distillation that holds on to what it knew)."""
    targets = np.eye(classes, dtype=np.float32)[labels]
    if original is not None and share > 0 and from_replay.any():
        targets[from_replay] = (1 - share) * targets[from_replay] + share * np.asarray(original, np.float32)
    return targets


def batch_norm_images(
    images28: np.ndarray,
    replay_images: np.ndarray,
    user_slant: float,
    settings: TeachSettings,
    rng: np.random.Generator,
    with_samples: bool,
    count: int = 2000,
) -> np.ndarray:
    """Images to measure batch-norm statistics on: ``count`` replay digits (the teach's share sheared to
    ``user_slant``), and the samples when ``with_samples``."""
    replayed = replay_images[rng.choice(len(replay_images), size=min(count, len(replay_images)), replace=False)]
    styled = int(round(len(replayed) * settings.replay_in_user_slant)) if user_slant else 0
    parts = [sheared(replayed[:styled], user_slant), replayed[styled:]] + ([images28] if with_samples else [])
    return np.concatenate(parts)
