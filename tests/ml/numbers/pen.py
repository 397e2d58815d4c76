"""Numbers drawn with a simulated pen, as the canvas draws them: the image (black on white, uint8) and its strokes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.doubt.drawing import render_pen, smooth_stroke

# Digits in the unit square (x right, y down); several are drawn in two strokes, as people draw them.
SHAPES: dict[str, list[list[tuple[float, float]]]] = {
    "0": [[(0.5, 0), (0.1, 0.25), (0.08, 0.7), (0.5, 1), (0.9, 0.7), (0.88, 0.25), (0.5, 0)]],
    "1": [[(0.2, 0.2), (0.55, 0), (0.55, 1)]],
    "2": [[(0.1, 0.2), (0.5, 0), (0.9, 0.2), (0.85, 0.45), (0.1, 1), (0.95, 1)]],
    "3": [[(0.1, 0.1), (0.6, 0), (0.85, 0.22), (0.45, 0.48), (0.9, 0.72), (0.55, 1), (0.1, 0.9)]],
    "4": [[(0.6, 0), (0.05, 0.65), (0.95, 0.65)], [(0.72, 0.3), (0.72, 1)]],
    "5": [[(0.2, 0.02), (0.12, 0.45), (0.6, 0.4), (0.9, 0.7), (0.6, 1), (0.1, 0.9)], [(0.2, 0.02), (0.9, 0.02)]],
    "6": [[(0.75, 0), (0.25, 0.35), (0.12, 0.75), (0.45, 1), (0.85, 0.78), (0.5, 0.5), (0.15, 0.7)]],
    "7": [[(0.05, 0.05), (0.95, 0), (0.4, 1)], [(0.3, 0.5), (0.85, 0.5)]],
    "8": [
        [
            (0.85, 0.12),
            (0.5, 0),
            (0.15, 0.15),
            (0.5, 0.48),
            (0.88, 0.75),
            (0.5, 1),
            (0.12, 0.75),
            (0.5, 0.48),
            (0.85, 0.12),
        ]
    ],
    "9": [[(0.85, 0.25), (0.5, 0), (0.12, 0.22), (0.45, 0.48), (0.85, 0.25), (0.82, 1)]],
    "X": [[(0.05, 0.0), (0.95, 1.0)], [(0.95, 0.0), (0.05, 1.0)]],  # a letter, not a digit
}


@dataclass(frozen=True)
class PenStroke:
    """A pen stroke as the canvas records it."""

    points: tuple[tuple[float, float], ...]
    width: float
    erases: bool = False


def digit_strokes(digit: str, left: float, top: float, height: float, pen: float) -> list[PenStroke]:
    """One digit's strokes with its box's left edge at ``left`` (a "1" is a quarter as wide as tall)."""
    width = height * (0.3 if digit == "1" else 0.6)
    return [
        PenStroke(tuple(smooth_stroke([(left + u * width, top + v * height) for u, v in stroke])), pen)
        for stroke in SHAPES[digit]
    ]


def draw_number(
    digits: str,
    gaps: list[float] | None = None,
    *,
    height: float = 90,
    pen: float = 12,
    tops: list[float] | None = None,
) -> tuple[np.ndarray, list[PenStroke]]:
    """``digits`` side by side, ``gaps`` (pixels between their boxes; negative overlaps) and their tops given."""
    gaps = gaps if gaps is not None else [20.0] * (len(digits) - 1)
    tops = tops if tops is not None else [40.0] * len(digits)
    strokes: list[PenStroke] = []
    x = 20.0
    for index, digit in enumerate(digits):
        strokes += digit_strokes(digit, x, tops[index], height, pen)
        x += height * (0.3 if digit == "1" else 0.6) + pen + (gaps[index] if index < len(gaps) else 0.0)
    return render(strokes, (int(height + max(tops) + 60), int(x + height * 0.6 + 40))), strokes


HEIGHT, PEN, TOP = 90.0, 12.0, 40.0  # of :func:`written`


def tap(x: float, y: float, pen: float = PEN) -> PenStroke:
    """The pen put down and lifted: a stroke a hair long."""
    return PenStroke(((x, y), (x + 0.5, y + 0.5)), pen)


def written(text: str, pen: float = PEN, mark_height: float = 0.97) -> tuple[np.ndarray, list[PenStroke]]:
    """Digits and marks side by side: "." a tap on the line (at ``mark_height`` of the digits), "," a short flick
    down below it, ":" two taps, "-" a level stroke at mid-height, "'" a tap high up."""
    strokes: list[PenStroke] = []
    x = 20.0
    for character in text:
        if character.isdigit():
            strokes += digit_strokes(character, x, TOP, HEIGHT, pen)
            x += HEIGHT * (0.3 if character == "1" else 0.6) + pen + 18
            continue
        low = TOP + mark_height * HEIGHT
        if character == ".":
            strokes.append(tap(x, low, pen))
        elif character == ",":
            strokes.append(PenStroke(((x + 2, low - 2), (x, low + 6), (x - 3, low + 14)), pen))
        elif character == ":":
            strokes += [tap(x, TOP + 0.45 * HEIGHT, pen), tap(x, low, pen)]
        elif character == "-":
            strokes.append(PenStroke(((x - 8, TOP + 0.5 * HEIGHT), (x + 22, TOP + 0.52 * HEIGHT)), pen))
            x += 16
        elif character == "'":
            strokes.append(tap(x, TOP + 0.05 * HEIGHT, pen))
        x += 2 * pen + 14
    return render(strokes, (int(TOP + HEIGHT + 60), int(x + 40))), strokes


def draw_in_box(
    unit_strokes: list,
    box: tuple[float, float, float, float] = (20, 20, 240, 200),
    pen: float = 14,
    shape: tuple[int, int] = (260, 300),
) -> tuple[np.ndarray, list[PenStroke]]:
    """A drawing given in the unit square (a letter's template, a scribble) drawn with the pen into ``box`` (x, y, w,
    h) of a canvas of ``shape``: the image and its strokes."""
    x, y, width, height = box
    strokes = [
        PenStroke(tuple(smooth_stroke([(x + u * width, y + v * height) for u, v in stroke])), pen)
        for stroke in unit_strokes
    ]
    return render(strokes, shape), strokes


def render(strokes: list[PenStroke], shape: tuple[int, int]) -> np.ndarray:
    """Round-capped black strokes on white paper, ``shape`` (rows, columns)."""
    return render_pen([(stroke.points, stroke.width) for stroke in strokes], shape)
