"""How far a model's confidence can be trusted: reliability bins, ECE, and temperature scaling on validation data.

The numpy math (reliability bins, ECE, the temperature fit) lives in :mod:`ml.inference.calibration`, which the
Predictor and the training run use too, and is re-exported here; ``calibrate_model`` scores the model's validation split
(never the test set), fits the temperature and stores it in the model's card, so that every probability shown
from then on (bars, CLI, JSON, evaluation) is calibrated and the card says so.
"""

from __future__ import annotations

from collections.abc import Callable

from ml.inference.calibration import (
    RELIABILITY_BINS,
    CalibrationResult,
    Reliability,
    apply_temperature,
    expected_calibration_error,
    fit_on_validation,
    fit_temperature,
    negative_log_likelihood,
    reliability,
)

__all__ = [
    "RELIABILITY_BINS",
    "CalibrationResult",
    "Reliability",
    "apply_temperature",
    "calibrate_model",
    "expected_calibration_error",
    "fit_on_validation",
    "fit_temperature",
    "negative_log_likelihood",
    "reliability",
]


def calibrate_model(
    loaded,
    *,
    data_file: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    store: bool = True,
) -> CalibrationResult:
    """Fit ``loaded``'s temperature on its validation split and (``store``) write it into ``loaded.metadata``.

    The split is the one its training run held out (the card's dataset, seed and validation size); a model without
    a card uses MNIST's 5,000 validation images. Raises ``DatasetError`` when that data cannot be read, and
    ``EvaluationStopped`` when ``should_stop()`` turns true. Save the model afterwards to keep the temperature.
    A fit that is not applied (too few images, a bound or worse fit: ``fit_on_validation``) stores none.
    """
    from ml.evaluation.run import score_set
    from ml.evaluation.sets import load_validation_set

    validation = load_validation_set(loaded, data_file=data_file)
    raw = score_set(loaded, validation, progress=progress, should_stop=should_stop)
    result = fit_on_validation(raw, validation.labels, validation.title)
    if store:  # a refused fit (``result.applied`` False) leaves the model uncalibrated, whatever it carried
        loaded.metadata.temperature = result.temperature if result.applied else None
        loaded.metadata.calibration = result.as_metadata()
    return result
