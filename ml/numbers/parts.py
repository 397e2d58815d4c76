"""The learned part scorer: how likely a candidate part of a number is one whole digit (not a fragment, two digits,
or a digit and a piece of its neighbour), from cheap features of the part, its place in the number, the classifier's
answer and the not-a-digit detector's score.

A small network (two ReLU layers and a logistic output) fitted by ``tools/fit_number_parts.py`` (seeded) on numbers
composed of MNIST *training* digits; its numbers live in :mod:`ml.numbers.part_weights`. Pure numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ml.numbers.lattice import CLASS_LOG_ASPECT, Lattice
from ml.preprocess.components import label_components

FEATURE_NAMES = (
    "height",
    "width",
    "log_aspect",
    "width_to_usual",
    "class_aspect_z",
    "log_top",
    "log_margin",
    "log_doubt",
    "detector",
    "atoms",
    "pieces",
    "cut_left",
    "cut_right",
    "crossing_left",
    "crossing_right",
    "gap_left",
    "gap_right",
    "centre",
    "bottom",
    "ink",
    "density",
    "components",
    "piece_aspect",
    "piece_share",
    "digits_in_number",
    "context",
    *(f"class_{digit}" for digit in range(10)),
)
"""What the scorer sees of a part (heights, widths and gaps in digit heights of the number)."""
FAR = 1.0
"""Gaps to a neighbour (in digit heights) are capped here; a part with no neighbour on a side counts as this far."""


def part_features(
    lattice: Lattice,
    probabilities: np.ndarray,
    detector_scores: np.ndarray | None,
    contexts: np.ndarray | None = None,
) -> np.ndarray:
    """(candidates, len(FEATURE_NAMES)) features of each candidate part of ``lattice`` (``probabilities``: the
    classifier's rows for its images; ``detector_scores``: the not-a-digit detector's logits, ``contexts``: the
    context network's logits (:func:`context_scores`); None when unknown)."""
    typical = max(lattice.typical_height, 1.0)
    spans = lattice.spans
    centres = [top + height / 2 for top, _, height, _ in spans]
    bottoms = [top + height for top, _, height, _ in spans]
    tall = [index for index, span in enumerate(spans) if span[2] >= 0.5 * max(s[2] for s in spans)] or [0]
    middle = float(np.median([centres[index] for index in tall]))
    base = float(np.median([bottoms[index] for index in tall]))
    usual = lattice.usual_width or 0.7 * typical
    rows = []
    for index, candidate in enumerate(lattice.candidates):
        top, left, height, width = candidate.box
        atoms = lattice.atoms[candidate.first : candidate.stop]
        pieces = sorted({atom.region for atom in atoms})
        first, last = atoms[0], atoms[-1]
        cut_left = first.start > 0
        cut_right = last.stop < spans[last.region][3]
        row = np.sort(np.asarray(probabilities[index], dtype=np.float64))[::-1]
        winner = int(np.argmax(probabilities[index]))
        top_probability = max(float(row[0]), 1e-9)
        second = max(float(row[1]) if row.size > 1 else 0.0, 1e-9)
        aspect = width / max(height, 0.5 * typical, 1.0)
        mean, spread = CLASS_LOG_ASPECT[winner] if winner < len(CLASS_LOG_ASPECT) else (0.0, 1.0)
        ink = float(candidate.crop.sum())
        _, components = label_components(candidate.crop > 0)
        detector = 0.0 if detector_scores is None else float(np.clip(detector_scores[index], -15.0, 15.0)) / 5.0
        features = [
            height / typical,
            width / typical,
            math.log(max(width, 1) / max(height, 1)),
            width / usual,
            (math.log(max(aspect, 1e-3)) - mean) / spread,
            math.log(top_probability),
            min(math.log(top_probability / second), 20.0) / 5.0,
            math.log(max(1.0 - top_probability, 1e-7)) / 5.0,
            detector,
            len(atoms),
            len(pieces),
            float(cut_left),
            float(cut_right),
            lattice.crossing[candidate.first - 1] if cut_left else 0.0,
            lattice.crossing[candidate.stop - 1] if cut_right else 0.0,
            0.0 if cut_left else _gap(spans, pieces[0], -1, left, left + width, typical),
            0.0 if cut_right else _gap(spans, pieces[-1], 1, left, left + width, typical),
            (top + height / 2 - middle) / typical,
            (top + height - base) / typical,
            ink / (typical * typical),
            ink / max(height * width, 1),
            float(min(components, 4)),
            max(lattice.aspects[piece] for piece in pieces),
            width / max(sum(spans[piece][3] for piece in pieces), 1),
            float(min(lattice.regions, 8)),
            0.0 if contexts is None else float(np.clip(contexts[index], -15.0, 15.0)) / 5.0,
            *np.eye(10)[min(winner, 9)],
        ]
        rows.append(features)
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))


def _gap(spans: Sequence[tuple[int, int, int, int]], piece: int, side: int, left: int, right: int, typ: float) -> float:
    """The gap (digit heights, capped at :data:`FAR`) from a part's edge to the next piece of ink on ``side``."""
    neighbour = piece + side
    if not 0 <= neighbour < len(spans):
        return FAR
    _, other_left, _, other_width = spans[neighbour]
    gap = left - (other_left + other_width) if side < 0 else other_left - right
    return float(np.clip(gap / typ, -FAR, FAR))


class PartScorer:
    """The fitted network: features -> log-probability that each part is one whole digit."""

    def __init__(self, weights: dict[str, Sequence]) -> None:
        self._mean = np.asarray(weights["mean"], dtype=np.float64)
        self._scale = np.asarray(weights["scale"], dtype=np.float64)
        self._layers = [
            (np.asarray(kernel, dtype=np.float64), np.asarray(bias, dtype=np.float64))
            for kernel, bias in weights["layers"]
        ]
        if self._mean.shape != (len(FEATURE_NAMES),) or self._layers[0][0].shape[0] != len(FEATURE_NAMES):
            raise ValueError("the part scorer's weights do not fit its features")

    def logits(self, features: np.ndarray) -> np.ndarray:
        """(n, features) -> (n,) log-odds of "one whole digit"."""
        values = (np.asarray(features, dtype=np.float64) - self._mean) / self._scale
        for kernel, bias in self._layers[:-1]:
            values = np.maximum(values @ kernel + bias, 0.0)
        kernel, bias = self._layers[-1]
        return (values @ kernel + bias).reshape(-1)

    def log_whole(self, features: np.ndarray) -> np.ndarray:
        """(n, features) -> (n,) log P(one whole digit)."""
        logits = self.logits(features)
        with np.errstate(invalid="ignore"):  # a model giving NaN: the reader refuses it in words, not a warning
            return -np.logaddexp(0.0, -logits)


@lru_cache(maxsize=1)
def shipped_part_scorer() -> PartScorer:
    """The scorer fitted for the bundled segmentation (``tools/fit_number_parts.py``)."""
    from ml.numbers.part_weights import PART_SCORER_WEIGHTS

    return PartScorer(PART_SCORER_WEIGHTS)


def detector_scores(images28: np.ndarray) -> np.ndarray | None:
    """The shipped not-a-digit detector's logits for candidate images, or None when the detector is unusable."""
    from ml.doubt.detector import detector_available, shipped_detector

    return shipped_detector().scores(images28) if detector_available() else None


def context_scores(lattice: Lattice) -> np.ndarray | None:
    """The shipped context network's logits of "one whole digit" for each candidate part, or None when the network is
    unusable (:mod:`ml.numbers.context_network`)."""
    from ml.numbers.context_network import context_network_available, shipped_context_network

    if lattice.ink is None or not context_network_available():
        return None
    return shipped_context_network().logits(lattice_windows(lattice))


def lattice_windows(lattice: Lattice) -> np.ndarray:
    """The context network's window (:func:`ml.numbers.context.context_windows`) of each candidate part."""
    from ml.numbers.context import context_windows, number_ink

    crops = [candidate.crop for candidate in lattice.candidates]
    boxes = [candidate.box for candidate in lattice.candidates]
    ink = lattice.ink if lattice.ink is not None else number_ink(())
    return context_windows(ink, crops, boxes, lattice.typical_height)


def log_whole_digit(lattice: Lattice, probabilities: np.ndarray, scorer: PartScorer | None = None) -> np.ndarray:
    """Each candidate part's log P(one whole digit), by the shipped scorer unless ``scorer`` is given."""
    if not lattice.candidates:
        return np.zeros(0)
    features = part_features(lattice, probabilities, detector_scores(lattice.images), context_scores(lattice))
    return (scorer or shipped_part_scorer()).log_whole(features)
