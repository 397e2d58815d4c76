"""Evaluate a model on an :class:`~ml.evaluation.sets.EvaluationSet`, in batches, with progress and stop.

The caller (the window's evaluation worker, the CLI) passes plain callables: ``progress(done, total)`` after
each batch and ``should_stop()`` before each; a stop raises :class:`EvaluationStopped`. What comes back is numpy
and plain data only, so it can cross threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ml.errors import DigitLabError
from ml.evaluation.metrics import EvaluationReport, evaluate_probabilities
from ml.evaluation.sets import EvaluationSet
from ml.inference.calibration import apply_temperature
from ml.inference.model_input import prepare_color_for_model, prepare_for_model
from ml.inference.scoring import BatchScorer

DEFAULT_BATCH_SIZE = 512

Progress = Callable[[int, int], None]
ShouldStop = Callable[[], bool]


class EvaluationStopped(DigitLabError):
    """The user stopped an evaluation before it finished; nothing was measured."""


class EvaluationFailed(DigitLabError):
    """The model could not score the set (it raised, or gave NaN or infinite scores)."""


@dataclass
class Evaluation:
    """One model judged on one set: per-image probabilities and predictions, and the report of every figure.

    ``probabilities`` are the ones Digit Lab shows (calibrated when the card has a temperature);
    ``raw_probabilities`` the model's own. ``confidence`` is the top probability of ``probabilities``.
    """

    model_name: str
    set_name: str
    set_title: str
    class_names: list[str]
    labels: np.ndarray
    predictions: np.ndarray
    confidence: np.ndarray
    probabilities: np.ndarray
    raw_probabilities: np.ndarray
    report: EvaluationReport

    @property
    def correct(self) -> np.ndarray:
        """(n,) True where the prediction is right."""
        return self.predictions == self.labels


def model_batches(loaded, eval_set: EvaluationSet, pixels: np.ndarray | None = None):
    """A function ``(start, stop) -> the prepared model batch`` of ``pixels`` (default: the set's own)."""
    pixels = eval_set.pixels if pixels is None else pixels
    input_shape, metadata = tuple(loaded.input_shape), loaded.metadata
    if pixels.shape[-1] == 3:
        return lambda start, stop: prepare_color_for_model(pixels[start:stop], input_shape, metadata)
    return lambda start, stop: prepare_for_model(pixels[start:stop, ..., 0], input_shape, metadata)


def score_set(
    loaded,
    eval_set: EvaluationSet,
    *,
    pixels: np.ndarray | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    scorer: BatchScorer | None = None,
) -> np.ndarray:
    """The model's raw (uncalibrated) probabilities (n, k) for the set, or for ``pixels`` (n, h, w, c) in its place.

    Raises EvaluationStopped when ``should_stop()`` turns true, EvaluationFailed when the model cannot score it.
    """
    scorer = scorer or BatchScorer(loaded)
    batch_of = model_batches(loaded, eval_set, pixels)
    total = len(eval_set) if pixels is None else len(pixels)
    rows = []
    for start in range(0, total, batch_size):
        if should_stop is not None and should_stop():
            raise EvaluationStopped("Evaluation stopped; nothing was measured.")
        try:
            rows.append(np.asarray(scorer.raw_probabilities(batch_of(start, start + batch_size)), np.float32))
        except Exception as error:  # noqa: BLE001 - a model Keras loaded but cannot run: one clear line
            message = " ".join(str(error).split())[:300]
            raise EvaluationFailed(f"{loaded.display_name} cannot score {eval_set.title}: {message}") from error
        if progress is not None:
            progress(min(start + batch_size, total), total)
    if not rows:
        return np.zeros((0, loaded.num_classes), np.float32)
    probabilities = np.concatenate(rows)
    if not np.isfinite(probabilities).all():
        raise EvaluationFailed(
            f"{loaded.display_name} gives NaN or infinite scores on {eval_set.title}; no accuracy can be measured."
        )
    return probabilities


def evaluate(
    loaded,
    eval_set: EvaluationSet,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    scorer: BatchScorer | None = None,
) -> Evaluation:
    """Score every image of ``eval_set`` and compute every figure (accuracy and its interval, top-2, per-class,
    confusion, reliability and ECE before and after the card's temperature)."""
    raw = score_set(loaded, eval_set, batch_size=batch_size, progress=progress, should_stop=should_stop, scorer=scorer)
    return evaluation_from_probabilities(loaded, eval_set, raw)


def evaluation_from_probabilities(loaded, eval_set: EvaluationSet, raw_probabilities: np.ndarray) -> Evaluation:
    """An :class:`Evaluation` from raw probabilities already computed (e.g. cached) for ``eval_set``."""
    temperature = loaded.metadata.temperature
    shown = apply_temperature(raw_probabilities, temperature)
    report = evaluate_probabilities(eval_set.labels, raw_probabilities, eval_set.class_names, temperature)
    return Evaluation(
        model_name=loaded.display_name,
        set_name=eval_set.name,
        set_title=eval_set.title,
        class_names=list(report.class_names),
        labels=np.asarray(eval_set.labels, np.int64),
        predictions=raw_probabilities.argmax(axis=1).astype(np.int64),
        confidence=shown.max(axis=1) if len(shown) else np.zeros(0, np.float32),
        probabilities=shown,
        raw_probabilities=raw_probabilities,
        report=report,
    )
