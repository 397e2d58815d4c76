"""A model's card: class names, input convention, training facts; saved inside the file."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ml.plurals import plural

METADATA_ENTRY = "digitlab.json"  # the card's entry in a .keras zip; Keras's loader reads only its own entries
INPUT_SCALES = ("0-1", "0-255", "-1-1", "0-16", "standardize")
INPUT_POLARITIES = ("white_on_black", "black_on_white")


def _default_class_names() -> list[str]:
    return [str(digit) for digit in range(10)]


@dataclass
class ModelMetadata:
    """What Digit Lab knows about a model beyond its weights: classes, expected input, provenance."""

    class_names: list[str] = field(default_factory=_default_class_names)
    input_polarity: str = "white_on_black"
    input_scale: str = "0-1"
    input_mean: list[float] | None = None
    input_std: list[float] | None = None
    dataset: str | None = None
    preset: str | None = None
    hyperparameters: dict = field(default_factory=dict)
    test_accuracy: float | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    created: str | None = None
    digitlab_version: str | None = None
    temperature: float | None = None
    """Temperature scaling fitted on the validation split: shown probabilities are softmax(log p / T); None: raw."""
    calibration: dict = field(default_factory=dict)
    """How the temperature was fitted: split, images, ece_before/ece_after, nll_before/nll_after (validation)."""
    doubt: dict = field(default_factory=dict)
    """The not-a-digit decision fitted for this model (``ml.doubt.scorer.DoubtSettings.as_dict``); empty: default."""

    def to_json(self) -> str:
        """Serialise to a JSON object (all fields)."""
        return json.dumps(dataclasses.asdict(self), indent=2)

    def calibration_note(self) -> str | None:
        """One sentence for the model card: whether its probabilities are calibrated, and with which temperature."""
        if self.temperature is None:
            return None
        images = self.calibration.get("images")
        where = (
            f" on {plural(int(images), 'validation image')}"
            if isinstance(images, int | float)
            else " on validation data"
        )
        return f"Probabilities are calibrated by temperature scaling (T = {self.temperature:.3g}, fitted{where})."

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelMetadata:
        """Parse ``to_json`` output; unknown keys are ignored and malformed fields fall back to defaults."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("Digit Lab metadata must be a JSON object.")
        values: dict[str, Any] = {}
        for name, parse in _FIELD_PARSERS.items():
            if name not in data:
                continue
            with contextlib.suppress(TypeError, ValueError):
                values[name] = parse(data[name])
        return cls(**values)


def _parse_string_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValueError("expected a non-empty list")
    return [str(item) for item in value]


def _parse_float_list_or_none(value: Any) -> list[float] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError("expected a list of numbers")
    return [float(item) for item in value]


def _parse_choice(choices: tuple[str, ...]) -> Any:
    def parse(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"expected one of {choices}")
        return value

    return parse


def _parse_string_or_none(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _parse_float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    return float(value)


def _parse_temperature(value: Any) -> float | None:
    temperature = _parse_float_or_none(value)
    if temperature is not None and not (math.isfinite(temperature) and 0.01 <= temperature <= 100.0):
        raise ValueError("a temperature must be a finite number between 0.01 and 100")
    return temperature


def _parse_dict(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    return value


def _parse_history(value: Any) -> dict[str, list[float]]:
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    return {str(key): [float(item) for item in series] for key, series in value.items()}


_FIELD_PARSERS: dict[str, Any] = {
    "class_names": _parse_string_list,
    "input_polarity": _parse_choice(INPUT_POLARITIES),
    "input_scale": _parse_choice(INPUT_SCALES),
    "input_mean": _parse_float_list_or_none,
    "input_std": _parse_float_list_or_none,
    "dataset": _parse_string_or_none,
    "preset": _parse_string_or_none,
    "hyperparameters": _parse_dict,
    "test_accuracy": _parse_float_or_none,
    "history": _parse_history,
    "created": _parse_string_or_none,
    "digitlab_version": _parse_string_or_none,
    "temperature": _parse_temperature,
    "calibration": _parse_dict,
    "doubt": _parse_dict,
}
