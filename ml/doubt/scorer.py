"""The not-a-digit score: a small network (one hidden layer) over the features, stored as plain numbers in the model
card, so a card carries its own decision and nothing but numpy runs it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ml.doubt.features import (
    DETECTOR_FEATURES,
    FEATURES,
    PROBABILITY_FEATURES,
    features,
    image_features,
    probability_features,
)

SETTINGS_VERSION = 1


@dataclass(frozen=True)
class DoubtSettings:
    """A fitted decision: which features, their standardisation, the network's layers and the threshold.

    ``score >= threshold`` refuses. ``detector_limit`` (optional): where the detector's logit alone is at least this
    sure, the score is 1 (refused whatever the network says). ``fitted_on`` and ``rates`` say where the threshold was
    chosen and what it gave.
    """

    feature_names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    layers: tuple[tuple[tuple[tuple[float, ...], ...], tuple[float, ...]], ...]
    threshold: float
    method: str = "input checks + the model's confidence, combined by a small network"
    fitted_on: dict = field(default_factory=dict)
    rates: dict = field(default_factory=dict)
    detector_limit: float | None = None

    def as_dict(self) -> dict:
        """The card's ``doubt`` entry (JSON-ready)."""
        return {
            "version": SETTINGS_VERSION,
            "method": self.method,
            "features": list(self.feature_names),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "layers": [[[list(row) for row in weights], list(bias)] for weights, bias in self.layers],
            "threshold": self.threshold,
            "fitted_on": dict(self.fitted_on),
            "rates": dict(self.rates),
            **({} if self.detector_limit is None else {"detector_limit": self.detector_limit}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> DoubtSettings:
        """Read a card's ``doubt`` entry; raises ValueError when it is not one this version can use."""
        if not isinstance(data, dict) or data.get("version") != SETTINGS_VERSION:
            raise ValueError("not a doubt entry of this version")
        names = tuple(str(name) for name in data["features"])
        if not set(names) <= set(FEATURES):
            raise ValueError("unknown features")
        mean = tuple(float(value) for value in data["mean"])
        scale = tuple(float(value) for value in data["scale"])
        layers = tuple(
            (tuple(tuple(float(value) for value in row) for row in weights), tuple(float(value) for value in bias))
            for weights, bias in data["layers"]
        )
        settings = cls(
            feature_names=names,
            mean=mean,
            scale=scale,
            layers=layers,
            threshold=float(data["threshold"]),
            method=str(data.get("method", cls.method)),
            fitted_on=dict(data.get("fitted_on") or {}),
            rates=dict(data.get("rates") or {}),
            detector_limit=None if data.get("detector_limit") is None else float(data["detector_limit"]),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise ValueError unless the shapes chain up and every number is finite."""
        width = len(self.feature_names)
        if not self.layers or len(self.mean) != width or len(self.scale) != width:
            raise ValueError("features, mean and scale differ in length")
        for weights, bias in self.layers:
            matrix = np.asarray(weights, dtype=np.float64)
            if matrix.ndim != 2 or matrix.shape[0] != width or matrix.shape[1] != len(bias):
                raise ValueError("layer shapes do not chain")
            width = matrix.shape[1]
        if width != 1:
            raise ValueError("the last layer must give one score")
        if self.detector_limit is not None and not self.uses_detector:
            raise ValueError("a detector limit without the detector among the features")
        numbers = [
            self.threshold,
            *self.mean,
            *self.scale,
            *([] if self.detector_limit is None else [self.detector_limit]),
        ] + [v for w, b in self.layers for row in w for v in row]
        if not np.isfinite(numbers).all() or min(self.scale) <= 0:
            raise ValueError("non-finite numbers or a zero scale")

    @property
    def uses_probabilities(self) -> bool:
        """Whether the score reads the model's probabilities (then it is specific to that model)."""
        return any(name in PROBABILITY_FEATURES for name in self.feature_names)

    @property
    def uses_detector(self) -> bool:
        """Whether the score reads the not-a-digit detector (then it needs the shipped detector file)."""
        return any(name in DETECTOR_FEATURES for name in self.feature_names)


class Scorer:
    """Runs a :class:`DoubtSettings` network on images and probabilities (numpy, under a millisecond per image)."""

    def __init__(self, settings: DoubtSettings) -> None:
        self.settings = settings
        self._columns = [FEATURES.index(name) for name in settings.feature_names]
        self._mean = np.asarray(settings.mean, np.float64)
        self._scale = np.asarray(settings.scale, np.float64)
        self._layers = [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in settings.layers]
        self._detector_column = FEATURES.index(DETECTOR_FEATURES[0])

    def feature_rows(self, images28: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """(n, len(FEATURES)) features of ``images28`` and ``probabilities``."""
        return features(images28, probabilities, with_detector=self.settings.uses_detector)

    def scores_from_features(self, rows: np.ndarray) -> np.ndarray:
        """(n, len(FEATURES)) features -> (n,) scores in [0, 1] (1 = surely not a digit)."""
        values = (np.asarray(rows, np.float64)[:, self._columns] - self._mean) / self._scale
        for index, (weights, bias) in enumerate(self._layers):
            values = values @ weights + bias
            if index < len(self._layers) - 1:
                values = np.maximum(values, 0.0)
        scores = 1.0 / (1.0 + np.exp(-np.clip(values[:, 0], -60, 60)))
        if self.settings.detector_limit is not None:  # the detector alone is sure enough
            scores[np.asarray(rows, np.float64)[:, self._detector_column] >= self.settings.detector_limit] = 1.0
        return scores

    def scores(self, images28: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """(n,) scores of images and their probabilities."""
        return self.scores_from_features(self.feature_rows(images28, probabilities))


__all__ = ["DoubtSettings", "Scorer", "image_features", "probability_features"]
