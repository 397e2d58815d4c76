"""Fit the not-a-digit decision for a model: the network on one half of the tuning material, the threshold on the
other half (validation digits and other-style digits), never on any test set. Where the detector alone is very sure
(its logit above what all but 0.1 % of the validation digits and 0.5 % of the other styles reach), it refuses whatever
the network says; the threshold is then set on both together."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ml.doubt.digit_variants import variant_families
from ml.doubt.features import DETECTOR_FEATURES, FEATURES, PROBABILITY_FEATURES, features
from ml.doubt.material import DIGIT, NOT_A_DIGIT, RAW_NOISE, Family, Material, noise_images, tuning_families
from ml.doubt.procedural import procedural_families
from ml.doubt.scorer import DoubtSettings, Scorer

VALIDATION_REFUSED = 0.002  # at most this share of the validation digits is refused at the chosen threshold
STYLE_REFUSED = 0.01  # at most this share of the other-style tuning digits
DETECTOR_VALIDATION_REFUSED = 0.001  # the detector alone refuses where it is surer than for all but this share of the
DETECTOR_STYLE_REFUSED = 0.005  # validation digits and of the other-style digits (part of the limits above)
HIDDEN_UNITS = 32
FIT_SEED, THRESHOLD_SEED = 11, 12  # the two halves of the tuning material are drawn from different seeds


@dataclass(frozen=True)
class LabelledFeatures:
    """Feature rows with 1 for not-a-digit, 0 for a digit, and each row's family."""

    rows: np.ndarray
    targets: np.ndarray
    families: np.ndarray


def labelled(materials: list[Material], probabilities_of: Callable[[np.ndarray], np.ndarray]) -> LabelledFeatures:
    """Features of every material's images, scored by ``probabilities_of`` ((n, 28, 28) -> (n, k))."""
    rows, targets, families = [], [], []
    for material in materials:
        if not len(material.images):
            continue
        rows.append(features(material.images, probabilities_of(material.images)))
        targets.append(np.full(len(material.images), 0 if material.kind == DIGIT else 1))
        families.append(np.full(len(material.images), material.family, dtype=object))
    return LabelledFeatures(np.concatenate(rows), np.concatenate(targets), np.concatenate(families))


def fit_network(
    data: LabelledFeatures, feature_names: tuple[str, ...] = FEATURES, seed: int = 0
) -> tuple[tuple[float, ...], tuple[float, ...], tuple]:
    """(mean, scale, layers) of a one-hidden-layer network that tells non-digits (1) from digits (0), each class
    weighted equally."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    columns = [FEATURES.index(name) for name in feature_names]
    x = data.rows[:, columns].astype(np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    x = (x - mean) / scale
    rng = np.random.default_rng(seed)
    positives, negatives = np.flatnonzero(data.targets == 1), np.flatnonzero(data.targets == 0)
    size = max(len(positives), len(negatives))
    chosen = np.concatenate([rng.choice(positives, size), rng.choice(negatives, size)])  # balanced by resampling
    network = MLPClassifier(
        hidden_layer_sizes=(HIDDEN_UNITS,), alpha=1e-3, max_iter=400, early_stopping=False, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 400 epochs of a 32-unit network are plenty here
        network.fit(x[chosen], data.targets[chosen])
    layers = tuple(
        (tuple(tuple(float(v) for v in row) for row in weights), tuple(float(v) for v in bias))
        for weights, bias in zip(network.coefs_, network.intercepts_, strict=True)
    )
    return tuple(float(v) for v in mean), tuple(float(v) for v in scale), layers


def decision_families(digit_images: np.ndarray, digit_labels: np.ndarray) -> list[Family]:
    """The decision's tuning families: the template families, the detector's procedural non-digits and digits (stroke
    programs, shapes and doodles, glyphs, crossed or paired digits; warped digits, digits in many fonts) and the
    writers' variants, and noise as a model's own 28x28, the grainy kinds of it confined to the digit's box (the
    detector refuses full frames). ``digit_images`` are training digits, never test digits."""
    return [
        *tuning_families(digit_images, digit_labels),
        *procedural_families(digit_images, digit_labels),
        *variant_families(),
        Family(RAW_NOISE, NOT_A_DIGIT, partial(noise_images, confined_share=1.0)),
    ]


def detector_limit_of(validation_logits: np.ndarray, style_logits: np.ndarray) -> float:
    """The detector logit at and above which the detector alone refuses: it refuses at most
    DETECTOR_VALIDATION_REFUSED of the validation digits and DETECTOR_STYLE_REFUSED of the other-style digits."""
    limits = [float(np.quantile(validation_logits, 1.0 - DETECTOR_VALIDATION_REFUSED))]
    if len(style_logits):
        limits.append(float(np.quantile(style_logits, 1.0 - DETECTOR_STYLE_REFUSED)))
    return float(np.nextafter(max(limits), np.inf))


def method_of(feature_names: tuple[str, ...]) -> str:
    """The decision's method in words, from the features it reads."""
    parts = ["input checks"]
    if any(name in DETECTOR_FEATURES for name in feature_names):
        parts.append("the not-a-digit detector")
    if any(name in PROBABILITY_FEATURES for name in feature_names):
        parts.append("the model's confidence")
    return " + ".join(parts) + ", combined by a small network"


def choose_threshold(validation_scores: np.ndarray, style_scores: np.ndarray) -> float:
    """The lowest threshold that refuses at most VALIDATION_REFUSED of the validation digits and STYLE_REFUSED of
    the other-style digits (a score at or above it refuses)."""
    limits = [0.5]
    if len(validation_scores):
        limits.append(float(np.quantile(validation_scores, 1.0 - VALIDATION_REFUSED)))
    if len(style_scores):
        limits.append(float(np.quantile(style_scores, 1.0 - STYLE_REFUSED)))
    return float(min(np.nextafter(max(limits), 1.0), 0.999999))


def fit_doubt(
    probabilities_of: Callable[[np.ndarray], np.ndarray],
    validation_images: np.ndarray,
    training_images: np.ndarray,
    training_labels: np.ndarray,
    *,
    per_family: int = 400,
    feature_names: tuple[str, ...] = FEATURES,
    progress: Callable[[str], None] | None = None,
) -> DoubtSettings:
    """Fit the decision for the model behind ``probabilities_of``.

    The network learns from tuning material drawn with one seed plus half of ``validation_images``; the threshold is
    set on material drawn with another seed plus the other half. ``training_images`` (digits the model was trained on,
    never test digits) are redrawn and cut into fragments for the material.
    """
    half = len(validation_images) // 2
    halves = []
    for seed, digits in ((FIT_SEED, validation_images[:half]), (THRESHOLD_SEED, validation_images[half:])):
        materials = [family.make(per_family, seed) for family in decision_families(training_images, training_labels)]
        if progress is not None:
            progress(f"material drawn (seed {seed})")
        mnist = Material("validation digits", DIGIT, digits.astype(np.float32), np.zeros(len(digits), np.int64), 0)
        halves.append(labelled([mnist, *materials], probabilities_of))
    fit_half, threshold_half = halves
    mean, scale, layers = fit_network(fit_half, feature_names)
    validation = threshold_half.families == "validation digits"
    style = (threshold_half.targets == 0) & ~validation
    detector_limit = None
    if DETECTOR_FEATURES[0] in feature_names:  # where the detector alone is sure, it refuses whatever the rest says
        logits = threshold_half.rows[:, FEATURES.index(DETECTOR_FEATURES[0])]
        detector_limit = detector_limit_of(logits[validation], logits[style])
    settings = DoubtSettings(feature_names, mean, scale, layers, threshold=0.5, detector_limit=detector_limit)
    scores = Scorer(settings).scores_from_features(threshold_half.rows)  # the threshold counts the detector's refusals
    threshold = choose_threshold(scores[validation], scores[style])
    refused = scores >= threshold
    rates = {
        str(name): round(float(refused[threshold_half.families == name].mean()), 4)
        for name in dict.fromkeys(threshold_half.families)
    }
    return DoubtSettings(
        feature_names,
        mean,
        scale,
        layers,
        threshold=threshold,
        method=method_of(feature_names),
        fitted_on={
            "validation_digits": int(len(validation_images)),
            "tuning_per_family": per_family,
            "seeds": [FIT_SEED, THRESHOLD_SEED],
            "families": sorted({str(name) for name in threshold_half.families}),
        },
        rates=rates,
        detector_limit=detector_limit,
    )
