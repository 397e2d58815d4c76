"""Accuracy under shift: rotation, scale, shift, stroke thickness and Gaussian noise, one curve each.

The transforms are the training augmentation's own (:mod:`ml.data.augment`: the same affine warp and 3x3 grey
morphology), applied at fixed levels instead of random ones. Each curve's neutral level (0°, scale 1, 0 px,
thickness 0, σ 0) scores the untouched images, so it equals the accuracy of the same images (the same sample, when
one is drawn), undistorted, exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ml.evaluation.run import DEFAULT_BATCH_SIZE, EvaluationStopped, score_set
from ml.evaluation.sets import EvaluationSet
from ml.inference.calibration import apply_temperature, expected_calibration_error
from ml.inference.scoring import BatchScorer

LEVELS: dict[str, tuple[float, ...]] = {
    "rotation": (-45.0, -37.5, -30.0, -22.5, -15.0, -7.5, 0.0, 7.5, 15.0, 22.5, 30.0, 37.5, 45.0),  # degrees
    "scale": (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4),  # zoom factor about the centre
    "shift": (-6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0),  # pixels to the right, on a 28-pixel image
    "thickness": (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0),  # 3x3 erosions (<0) or dilations (>0); fractions blend
    "noise": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),  # Gaussian noise σ, pixels in [0, 1], clipped
}
NEUTRAL = {"rotation": 0.0, "scale": 1.0, "shift": 0.0, "thickness": 0.0, "noise": 0.0}
UNITS = {
    "rotation": "degrees",
    "scale": "zoom factor",
    "shift": "pixels of 28, to the right",
    "thickness": "3x3 dilations; < 0 erosions",
    "noise": "Gaussian sigma",
}
KINDS = tuple(LEVELS)
REFERENCE_SIDE = 28  # shift levels are pixels of a 28-pixel image, scaled to the set's own size


def transform(pixels: np.ndarray, kind: str, level: float, seed: int = 0) -> np.ndarray:
    """(n, h, w, c) images in [0, 1] shifted by one robustness ``kind`` at ``level`` (a new array)."""
    import tensorflow as tf

    from ml.data.augment import affine_transforms, blend_stroke_thickness, warp

    pixels = np.asarray(pixels, dtype=np.float32)
    if level == NEUTRAL[kind]:
        return pixels.copy()
    if kind == "noise":
        noisy = pixels + np.random.default_rng(seed).normal(0.0, level, pixels.shape).astype(np.float32)
        return np.clip(noisy, 0.0, 1.0)
    batch = tf.constant(pixels)
    count, size = len(pixels), pixels.shape[1]
    if kind == "thickness":
        steps, result = abs(level), batch
        while steps > 0:
            result = blend_stroke_thickness(result, math.copysign(min(steps, 1.0), level))
            steps -= 1.0
        return np.clip(result.numpy(), 0.0, 1.0)
    angle = np.full(count, math.radians(level) if kind == "rotation" else 0.0, np.float32)
    zoom = np.full(count, level if kind == "scale" else 1.0, np.float32)
    shift = np.zeros((count, 2), np.float32)
    if kind == "shift":
        shift[:, 0] = level * size / REFERENCE_SIDE
    elif kind != "rotation" and kind != "scale":
        raise ValueError(f"Unknown robustness kind {kind!r}; use one of {', '.join(KINDS)}.")
    warped = warp(batch, affine_transforms(angle, zoom, shift, size))
    return np.clip(warped.numpy(), 0.0, 1.0)


def sample_for_sweep(eval_set: EvaluationSet, sample: int | None, seed: int = 0) -> EvaluationSet:
    """The set itself, or ``sample`` of its images drawn without replacement (fixed seed, original order kept)."""
    chosen = sample_indices(len(eval_set), sample, seed)
    return eval_set if chosen is None else eval_set.subset(chosen)


def sample_indices(count: int, sample: int | None, seed: int = 0) -> np.ndarray | None:
    """The sorted indices of ``sample`` of ``count`` images (fixed seed), or None for all of them."""
    if sample is None or sample <= 0 or sample >= count:
        return None
    return np.sort(np.random.default_rng(seed).choice(count, size=sample, replace=False))


@dataclass(frozen=True)
class SweepPoint:
    """One level of one kind of shift: the accuracy and the ECE (of the probabilities shown) there."""

    level: float
    accuracy: float
    ece: float


def robustness_sweep(
    loaded,
    eval_set: EvaluationSet,
    kinds: tuple[str, ...] = KINDS,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    sample: int | None = None,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    scorer: BatchScorer | None = None,
) -> dict[str, list[SweepPoint]]:
    """``{kind: [SweepPoint(level, accuracy, ece), ...]}`` over :data:`LEVELS`, on the set (or a ``sample``).

    The ECE is that of the probabilities Digit Lab shows (calibrated when the card has a temperature): calibration
    measured on the test set alone says "perfect", and it is under shift that it fails. ``progress(done, total)``
    counts images scored; ``should_stop()`` raises EvaluationStopped between batches. The neutral level is scored
    once and shared by every curve.
    """
    unknown = [kind for kind in kinds if kind not in LEVELS]
    if unknown:
        raise ValueError(f"Unknown robustness kind {unknown[0]!r}; use one of {', '.join(KINDS)}.")
    swept = sample_for_sweep(eval_set, sample, seed)
    scorer = scorer or BatchScorer(loaded)
    pixels = swept.pixels
    jobs = [(kind, level) for kind in kinds for level in LEVELS[kind] if level != NEUTRAL[kind]]
    total = (len(jobs) + 1) * len(swept)
    done = 0

    def measure(shifted: np.ndarray) -> tuple[float, float]:
        nonlocal done
        offset = done

        def report(scored: int, _total: int) -> None:
            if progress is not None:
                progress(offset + scored, total)

        raw = score_set(
            loaded,
            swept,
            pixels=shifted,
            batch_size=batch_size,
            progress=report,
            should_stop=should_stop,
            scorer=scorer,
        )
        done += len(shifted)
        if not len(shifted):
            return 0.0, 0.0
        shown = apply_temperature(raw, loaded.metadata.temperature)
        return float(np.mean(raw.argmax(axis=1) == swept.labels)), expected_calibration_error(shown, swept.labels)

    plain = measure(pixels)
    sweep: dict[str, list[SweepPoint]] = {kind: [] for kind in kinds}
    for kind in kinds:
        for level in LEVELS[kind]:
            if should_stop is not None and should_stop():
                raise EvaluationStopped("Robustness sweep stopped; nothing was measured.")
            accuracy, ece = plain if level == NEUTRAL[kind] else measure(transform(pixels, kind, level, seed))
            sweep[kind].append(SweepPoint(float(level), accuracy, ece))
    return sweep


def accuracy_curves(sweep: dict[str, list[SweepPoint]]) -> dict[str, list[tuple[float, float]]]:
    """``{kind: [(level, accuracy), ...]}`` of a sweep (the ``--json`` format)."""
    return {kind: [(point.level, point.accuracy) for point in points] for kind, points in sweep.items()}


def ece_curves(sweep: dict[str, list[SweepPoint]]) -> dict[str, list[tuple[float, float]]]:
    """``{kind: [(level, ece), ...]}`` of a sweep."""
    return {kind: [(point.level, point.ece) for point in points] for kind, points in sweep.items()}


def robustness_curves(
    loaded,
    eval_set: EvaluationSet,
    kinds: tuple[str, ...] = KINDS,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    sample: int | None = None,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    scorer: BatchScorer | None = None,
) -> dict[str, list[tuple[float, float]]]:
    """``{kind: [(level, accuracy), ...]}`` over :data:`LEVELS` (:func:`robustness_sweep` without the ECE)."""
    sweep = robustness_sweep(
        loaded, eval_set, kinds, progress, should_stop, sample=sample, seed=seed, batch_size=batch_size, scorer=scorer
    )
    return accuracy_curves(sweep)
