"""Stroke templates in the unit square (x right, y down): letters, shapes and digits as a hand draws them.

Each template is a list of strokes; each stroke a list of points that a smooth curve passes through. The tuning
material uses some of them and the held-out benchmark others (see ``TUNING_*`` and ``HELD_OUT_*``).
"""

from __future__ import annotations

import numpy as np

Template = list[list[tuple[float, float]]]


def ellipse_arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, points: int = 9) -> list:
    """Points on an ellipse's arc from ``start`` to ``end`` degrees (0 = right, 90 = down)."""
    angles = np.deg2rad(np.linspace(start, end, points))
    return [(cx + rx * float(np.cos(a)), cy + ry * float(np.sin(a))) for a in angles]


def _polygon(corners: int, radius: float = 0.5, turn: float = -90.0, inner: float | None = None) -> list:
    """A closed regular polygon (or a star when ``inner`` is the inner radius) centred in the unit square."""
    points = []
    steps = corners * 2 if inner is not None else corners
    for index in range(steps + 1):
        angle = np.deg2rad(turn + 360.0 * index / steps)
        r = radius if inner is None or index % 2 == 0 else inner
        points.append((0.5 + r * float(np.cos(angle)), 0.5 + r * float(np.sin(angle))))
    return points


LETTERS: dict[str, Template] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.22, 0.6), (0.78, 0.6)]],
    "E": [[(0.9, 0), (0, 0), (0, 1), (0.9, 1)], [(0, 0.5), (0.7, 0.5)]],
    "F": [[(0.9, 0), (0, 0), (0, 1)], [(0, 0.5), (0.7, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(0.9, 0), (0.05, 0.55)], [(0.3, 0.4), (1, 1)]],
    "M": [[(0, 1), (0.05, 0), (0.5, 0.65), (0.95, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0)], [(0, 0), (1, 1)], [(1, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "R": [[(0, 1), (0, 0)], [(0, 0), (0.6, 0), (0.9, 0.25), (0.6, 0.5), (0, 0.5)], [(0.35, 0.5), (1, 1)]],
    "L": [[(0, 0), (0, 1), (0.8, 1)]],
    "Y": [[(0, 0), (0.5, 0.5)], [(1, 0), (0.5, 0.5)], [(0.5, 0.5), (0.5, 1)]],
    "k": [[(0.1, 0), (0.1, 1)], [(0.8, 0.35), (0.1, 0.7)], [(0.35, 0.6), (0.9, 1)]],
    "m": [
        [(0, 1), (0, 0.35)],
        [(0, 0.5), (0.25, 0.3), (0.5, 0.5), (0.5, 1)],
        [(0.5, 0.5), (0.75, 0.3), (1, 0.5), (1, 1)],
    ],
    "w": [[(0, 0.3), (0.2, 1), (0.5, 0.5), (0.8, 1), (1, 0.3)]],
    "x": [[(0.1, 0.3), (0.9, 1)], [(0.9, 0.3), (0.1, 1)]],
    "e": [[(0.1, 0.6), (0.9, 0.6), *ellipse_arc(0.5, 0.65, 0.42, 0.35, -10, 330, 10)[1:]]],
    "h": [[(0.15, 0), (0.15, 1)], [(0.15, 0.6), (0.45, 0.38), (0.8, 0.5), (0.85, 1)]],
    "P": [[(0.1, 1), (0.1, 0)], [(0.1, 0), *ellipse_arc(0.45, 0.25, 0.45, 0.25, -90, 90, 7)[1:], (0.1, 0.5)]],
    "U": [[(0.05, 0), (0.05, 0.6), *ellipse_arc(0.5, 0.6, 0.45, 0.4, 180, 0, 9)[1:], (0.95, 0)]],
    "u": [[(0.1, 0.35), (0.1, 0.8), (0.35, 1), (0.8, 0.85)], [(0.85, 0.35), (0.85, 1)]],
}
"""Letters that cannot pass for a digit (no O, I, l, Z, S, B, G, b, g, q, T: those look like 0, 1, 2, 5, 8, 6, 9, 7)."""

SHAPES: dict[str, Template] = {
    "square": [_polygon(4, 0.55, -45.0)],
    "triangle": [_polygon(3, 0.55, -90.0)],
    "star": [_polygon(5, 0.5, -90.0, inner=0.2)],
    "cross": [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "rectangle": [[(0, 0.25), (1, 0.25), (1, 0.75), (0, 0.75), (0, 0.25)]],
    "hexagon": [_polygon(6, 0.5, 0.0)],
    "diamond": [[(0.5, 0), (0.85, 0.5), (0.5, 1), (0.15, 0.5), (0.5, 0)]],
    "heart": [
        [(0.5, 0.3), (0.3, 0.05), (0.05, 0.2), (0.1, 0.55), (0.5, 1), (0.9, 0.55), (0.95, 0.2), (0.7, 0.05), (0.5, 0.3)]
    ],
    "arrow": [[(0, 0.5), (1, 0.5)], [(0.65, 0.2), (1, 0.5), (0.65, 0.8)]],
    "six_star": [_polygon(3, 0.5, -90.0), _polygon(3, 0.5, 90.0)],
    "smiley": [
        ellipse_arc(0.5, 0.5, 0.5, 0.5, 0, 360, 17),
        [(0.33, 0.35), (0.34, 0.37)],
        [(0.66, 0.35), (0.67, 0.37)],
        ellipse_arc(0.5, 0.55, 0.25, 0.2, 20, 160, 7),
    ],
    "check": [[(0, 0.55), (0.35, 0.95), (1, 0)]],
    "hash": [[(0.35, 0), (0.25, 1)], [(0.75, 0), (0.65, 1)], [(0, 0.33), (1, 0.33)], [(0, 0.67), (1, 0.67)]],
    "plus_in_box": [_polygon(4, 0.6, -45.0), [(0.5, 0.2), (0.5, 0.8)], [(0.2, 0.5), (0.8, 0.5)]],
    "pentagon": [_polygon(5, 0.55, -90.0)],
    "house": [[(0.1, 0.45), (0.1, 1), (0.9, 1), (0.9, 0.45), (0.1, 0.45), (0.5, 0), (0.9, 0.45)]],
    "hourglass": [[(0.1, 0), (0.9, 0), (0.1, 1), (0.9, 1), (0.1, 0)]],
    "trapezoid": [[(0.25, 0.2), (0.75, 0.2), (1, 0.8), (0, 0.8), (0.25, 0.2)]],
}
"""Shapes a person doodles (no circle or ellipse alone: that is a fair 0)."""

DIGITS_PLAIN: dict[str, Template] = {
    "0": [ellipse_arc(0.5, 0.5, 0.38, 0.5, -90, 275, 13)],
    "1": [[(0.45, 0.05), (0.55, 0), (0.5, 1)]],
    "2": [[*ellipse_arc(0.5, 0.3, 0.38, 0.3, 190, 370, 6), (0.7, 0.5), (0.05, 1), (0.95, 1)]],
    "3": [[*ellipse_arc(0.5, 0.26, 0.38, 0.26, 200, 430, 7), *ellipse_arc(0.5, 0.74, 0.42, 0.26, -90, 150, 7)]],
    "4": [[(0.65, 0), (0.05, 0.65), (0.95, 0.65)], [(0.7, 0.3), (0.7, 1)]],
    "5": [[(0.9, 0), (0.2, 0), (0.15, 0.45), *ellipse_arc(0.5, 0.68, 0.4, 0.32, -100, 150, 7)]],
    "6": [[(0.75, 0), (0.35, 0.3), *ellipse_arc(0.5, 0.7, 0.38, 0.3, 190, 540, 10)]],
    "7": [[(0.05, 0), (0.95, 0), (0.4, 1)]],
    "8": [[*ellipse_arc(0.5, 0.26, 0.32, 0.26, 90, 450, 10), *ellipse_arc(0.5, 0.74, 0.4, 0.26, -90, 270, 10)]],
    "9": [[*ellipse_arc(0.45, 0.3, 0.38, 0.3, 0, 360, 10), (0.83, 0.3), (0.7, 1)]],
}
"""One plain way to write each digit (the tuning style)."""

DIGITS_OTHER: dict[str, Template] = {
    "0": [ellipse_arc(0.5, 0.5, 0.3, 0.5, -60, 300, 13), [(0.72, 0.12), (0.28, 0.88)]],
    "1": [[(0.25, 0.25), (0.55, 0), (0.55, 1)], [(0.3, 1), (0.8, 1)]],
    "2": [
        [
            (0.1, 0.25),
            (0.45, 0),
            (0.85, 0.2),
            (0.7, 0.5),
            (0.2, 0.85),
            *ellipse_arc(0.25, 0.9, 0.12, 0.1, 0, 340, 7),
            (0.95, 0.95),
        ]
    ],
    "3": [[(0.1, 0), (0.9, 0), (0.45, 0.4), *ellipse_arc(0.5, 0.7, 0.42, 0.3, -90, 160, 8)]],
    "4": [[(0.6, 0), (0.05, 0.6), (0.95, 0.6)], [(0.7, 0.05), (0.7, 1)]],
    "5": [[(0.25, 0), (0.15, 0.45), *ellipse_arc(0.5, 0.68, 0.4, 0.32, -100, 150, 7)], [(0.25, 0), (0.9, 0)]],
    "6": [[(0.8, 0.05), (0.3, 0.4), (0.15, 0.75), *ellipse_arc(0.5, 0.72, 0.35, 0.27, 180, 540, 10)]],
    "7": [[(0.05, 0.1), (0.95, 0), (0.45, 1)], [(0.3, 0.5), (0.85, 0.5)]],
    "8": [
        [
            (0.8, 0.1),
            *ellipse_arc(0.5, 0.25, 0.3, 0.25, -30, 130, 5),
            (0.8, 0.75),
            *ellipse_arc(0.5, 0.78, 0.32, 0.22, 0, 180, 6),
            (0.8, 0.1),
        ]
    ],
    "9": [[*ellipse_arc(0.5, 0.28, 0.35, 0.28, 0, 360, 10), (0.85, 0.28), (0.85, 1)]],
}
"""Another way to write each digit (a crossed 0, a 1 with a base, a looped 2, a flat-topped 3, a 7 with a bar,
a two-stroke 5, a straight-stemmed 9): held out of tuning."""

TUNING_LETTERS = ("A", "E", "H", "K", "X", "k", "m")
HELD_OUT_LETTERS = ("F", "M", "N", "W", "R", "L", "Y", "w", "x", "e", "h")
TUNING_SHAPES = ("square", "triangle", "star", "cross")
DETECTOR_LETTERS = (*TUNING_LETTERS, "P", "U", "u")
"""The detector's drawn letters: the tuning ones and a few more, none of them held out."""
DETECTOR_SHAPES = (*TUNING_SHAPES, "pentagon", "house", "hourglass", "trapezoid")
HELD_OUT_SHAPES = (
    "rectangle",
    "hexagon",
    "diamond",
    "heart",
    "arrow",
    "six_star",
    "smiley",
    "check",
    "hash",
    "plus_in_box",
)
