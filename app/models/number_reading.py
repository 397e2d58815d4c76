"""The model thread's number reading: every digit of a drawing or an opened image, as plain data for the window.

Runs after the single-digit prediction, and only when the ink may hold several digits: for the canvas that is read
from the pen strokes' x-ranges alone (no pixels), so a lone digit pays nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

SEVERAL_DIGITS_ASPECT = 0.95
"""Strokes all in one x-cluster may still hold several digits when their ink is wider than this times its height."""


def may_hold_several_digits(strokes: Sequence[Any] | None) -> bool:
    """True unless the pen strokes form one cluster in x no wider than a digit (None: an image, always True)."""
    if strokes is None:
        return True
    pens = [stroke for stroke in strokes if not stroke.erases and stroke.points]
    if len(pens) == 0:
        return False
    spans = sorted(
        (min(x for x, _ in stroke.points) - stroke.width / 2, max(x for x, _ in stroke.points) + stroke.width / 2)
        for stroke in pens
    )
    right = spans[0][1]
    for left, stroke_right in spans[1:]:
        if left > right:
            return True  # a gap in x: two clusters
        right = max(right, stroke_right)
    top = min(y for stroke in pens for _, y in stroke.points) - max(stroke.width for stroke in pens) / 2
    bottom = max(y for stroke in pens for _, y in stroke.points) + max(stroke.width for stroke in pens) / 2
    return (right - spans[0][0]) > SEVERAL_DIGITS_ASPECT * max(bottom - top, 1.0)


class NumberReader:
    """Reads numbers with the active model's predictor; the not-a-digit judge is built once per model."""

    def __init__(self) -> None:
        self._judged_model: Any = None
        self._judge: Any = None

    def read(self, slot: Any, drawing: np.ndarray, strokes: Sequence[Any] | None) -> dict | None:
        """The number in ``drawing`` as plain data, or None when it holds one digit or none, or when its parts look
        like pieces of one drawing, not digits (shown as today: the drawing's own verdict, "not a digit" for a letter).

        A failure is logged and reads as None: the single-digit prediction already made still shows.
        """
        if slot is None or not may_hold_several_digits(strokes):
            return None
        try:
            from ml.numbers.reader import read_number

            reading = read_number(drawing, slot.predictor, strokes=strokes, judge=self._judge_for(slot.loaded))
        except Exception:  # noqa: BLE001 - the digit's own prediction stands
            logger.exception("Reading the number failed")
            return None
        if len(reading.digits) < 2 or reading.not_a_number:
            return None
        return {
            "number": reading.number,
            "reason": reading.reason,
            "split": reading.split,
            "digits": [
                {
                    "box": tuple(digit.box),
                    "image": digit.image28,
                    "stages": [(stage.name, stage.image) for stage in digit.stages],
                    "probabilities": np.asarray(digit.probabilities, dtype=np.float64),
                    "prediction": digit.prediction,
                    "label": digit.label,
                    "confidence": digit.confidence,
                    "verdict": digit.verdict,
                }
                for digit in reading.digits
            ],
            "separators": [{"mark": mark.mark, "after": mark.after} for mark in reading.separators],
        }

    def _judge_for(self, loaded: Any) -> Any:
        """``ml.doubt``'s judge for ``loaded`` (None until that room provides one, or when it cannot judge)."""
        if loaded is not self._judged_model:
            self._judged_model, self._judge = loaded, None
            try:
                from ml.doubt.verdict import DoubtJudge

                self._judge = DoubtJudge(loaded)
            except ImportError:
                pass
            except Exception:  # noqa: BLE001 - numbers are still read, without refusals
                logger.exception("The not-a-digit judge could not be built for number reading")
        return self._judge
