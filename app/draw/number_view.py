"""A view of a number read from the canvas: a box round each digit, the number large, and one digit in detail.

The model worker's prediction result carries ``number`` (plain data, ``app/models/number_reading.py``) when the ink
holds several digits. This view boxes them on the canvas, puts the number in the prediction panel, and shows the
chosen digit's 28x28, probabilities and preprocessing stages; clicking a box's tab on the canvas chooses another.
A single digit is left to the prediction panel as it always was.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal, SignalInstance, Slot

from app.draw.canvas import DrawingCanvas
from app.draw.prediction_view import PredictionPanel, format_probability
from app.draw.strokes import is_flat


def unsure_digits(digits: Sequence[dict], names: Sequence[str]) -> list[str]:
    """Each digit whose verdict is unsure, in words: "digit 3 (5 or 0)"."""
    doubts = []
    for index, digit in enumerate(digits):
        verdict = digit.get("verdict") or {}
        runner_up = verdict.get("runner_up")
        if verdict.get("status") == "unsure" and runner_up is not None and int(runner_up) < len(names):
            doubts.append(f"digit {index + 1} ({digit['label']} or {names[int(runner_up)]})")
    return doubts


class NumberView(QObject):
    """Shows the number in a prediction result on the canvas and in the prediction panel."""

    digit_chosen = Signal(int)  # the digit shown in detail (its index, left to right)

    def __init__(
        self,
        canvas: DrawingCanvas,
        panel: PredictionPanel,
        results: SignalInstance | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``results``: the model's ``prediction_finished``, connected after the panel has been (so this view has
        the last word on a number)."""
        super().__init__(parent)
        self._canvas = canvas
        self._panel = panel
        self._number: dict | None = None
        self._chosen = 0
        self._source = canvas.drawing.source  # the opened image read (None: the pen's own drawing)
        canvas.number_box_clicked.connect(self._on_box_clicked)
        canvas.changed.connect(self._on_canvas_changed)
        if results is not None:
            results.connect(self.show_result)

    @property
    def number(self) -> dict | None:
        """The number shown (the result's ``number`` entry), or None."""
        return self._number

    @property
    def chosen(self) -> int | None:
        """The index of the digit shown in detail, or None without a number."""
        return None if self._number is None else self._chosen

    @Slot(dict)
    def show_result(self, result: dict) -> None:
        """Show ``result["number"]`` (after the panel has shown the result as one digit), or clear the boxes."""
        if result.get("error"):
            return  # the window reports it; what is shown stays
        number = result.get("number")
        if not number or not number.get("digits"):
            self._clear()
            return
        same_count = self._number is not None and len(self._number["digits"]) == len(number["digits"])
        self._number = number
        self._chosen = min(self._chosen, len(number["digits"]) - 1) if same_count else 0
        self._show()

    def choose(self, index: int) -> None:
        """Show digit ``index`` in detail."""
        if self._number is not None and 0 <= index < len(self._number["digits"]):
            self._chosen = index
            self._show()

    @Slot(int)
    def _on_box_clicked(self, index: int) -> None:
        self.choose(index)

    @Slot()
    def _on_canvas_changed(self) -> None:
        if self._canvas.drawing.source is not self._source:  # another image: its number starts at its first digit
            self._source = self._canvas.drawing.source
            self._chosen = 0
        if self._number is not None and is_flat(self._canvas.prediction_input()):
            self._clear()  # a cleared canvas predicts nothing, so no result would take the boxes away

    def _clear(self) -> None:
        if self._number is not None or self._canvas.number_boxes:
            self._number = None
            self._canvas.set_number_digits([])

    def _show(self) -> None:
        assert self._number is not None
        digits = self._number["digits"]
        digit = digits[self._chosen]
        self._canvas.set_number_digits(digits, self._chosen)
        self._panel.show_prediction(digit["image"], digit["probabilities"], digit["stages"])
        readable = self._number["number"] is not None
        refused = [(digit.get("verdict") or {}).get("status") == "not_a_digit" for digit in digits]
        marks = {mark["after"]: mark["mark"] for mark in self._number.get("separators", [])}
        text = "".join(
            marks.get(index, "") + ("?" if bad else str(digit["label"]))
            for index, (digit, bad) in enumerate(zip(digits, refused, strict=True))
        )
        verdict = digit.get("verdict") or {}
        names = self._panel.bars.class_names
        runner_up = verdict.get("runner_up")
        if refused[self._chosen]:
            detail = f"part {self._chosen + 1} of {len(digits)}: not a digit"  # as the reason names it
        elif verdict.get("status") == "unsure" and runner_up is not None and int(runner_up) < len(names):
            detail = f"digit {self._chosen + 1} of {len(digits)}: unsure, {digit['label']} or {names[int(runner_up)]}"
        else:
            detail = (
                f"digit {self._chosen + 1} of {len(digits)}: {digit['label']} · "
                f"{format_probability(float(digit['confidence']))}"
            )
        if readable:
            note = "Click a digit's tab on the canvas to see it here."
            doubts = unsure_digits(digits, names)
            if doubts:  # else the number reads as sure as any: a coin-flip digit showed only in its own detail
                note = f"Unsure: {', '.join(doubts)}. {note}"
        else:
            reason = self._number["reason"] or "this number cannot be read"
            ending = "" if reason.endswith((".", "?", "!")) else "."
            note = f"{reason[:1].upper()}{reason[1:]}{ending}"  # a sentence, as the panel writes one digit's reason
        self._panel.show_number(text, detail, note, readable)
        self.digit_chosen.emit(self._chosen)
