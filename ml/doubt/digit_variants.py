"""Digits written the ways real writers write them and MNIST rarely shows: a slashed or dotted 0, a 7 with a bar
through its stem, a 1 with a flag and a base, an open-top 4, a 6 or 9 with a straight stem, a 2 with a loop at its
foot; drawn with a hand's wobble, slant and pen pressure, some photographed on paper.

Each variant is a program with random proportions (not one template), so the not-a-digit detector learns the idea
(a 0 with a slash through it is still a 0) rather than one drawing. The held-out benchmark's other hand
(``ml.doubt.templates.DIGITS_OTHER``) is not used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml.doubt.drawing import draw_strokes, written_by_hand
from ml.doubt.material import DIGIT, Family, family, maybe_photo, random_box

Strokes = list[list[tuple[float, float]]]


def _oval(rng: np.random.Generator, cx: float = 0.5, cy: float = 0.5) -> list[tuple[float, float]]:
    """A 0's oval, started near the top and closed with a small overlap (or a small gap), as a pen writes it."""
    rx, ry = rng.uniform(0.28, 0.45), rng.uniform(0.42, 0.5)
    start = rng.uniform(-120, -60)
    span = rng.uniform(340, 385)
    angles = np.deg2rad(np.linspace(start, start + span, 16) * rng.choice([-1, 1]))
    return [(cx + rx * float(np.cos(a)), cy + ry * float(np.sin(a))) for a in angles]


def slashed_zero(rng: np.random.Generator) -> tuple[Strokes, int]:
    """A 0 with a slash through it (mostly "/", sometimes "\\"), inside the oval or reaching past it."""
    reach = rng.uniform(0.25, 0.62)
    tilt = reach * rng.uniform(0.5, 0.9)  # never upright: a 0 with an upright bar is a Greek phi
    sign = 1 if rng.random() < 0.8 else -1
    top, bottom = (0.5 + sign * tilt, 0.5 - reach), (0.5 - sign * tilt, 0.5 + reach)
    return [_oval(rng), [top, bottom]], 0


def dotted_zero(rng: np.random.Generator) -> tuple[Strokes, int]:
    """A 0 with a dot in its middle."""
    x, y = 0.5 + rng.uniform(-0.05, 0.05), 0.5 + rng.uniform(-0.06, 0.06)
    return [_oval(rng), [(x, y), (x + rng.uniform(0.0, 0.03), y + rng.uniform(0.0, 0.03))]], 0


def barred_seven(rng: np.random.Generator) -> tuple[Strokes, int]:
    """A 7 with a bar across its stem, its top sometimes with a small hook down at the left."""
    left, top_y = rng.uniform(0.0, 0.15), rng.uniform(0.0, 0.08)
    right, foot = (rng.uniform(0.85, 1.0), 0.0), (rng.uniform(0.3, 0.55), 1.0)
    head = [(left, top_y + rng.uniform(0.08, 0.2))] if rng.random() < 0.3 else []
    stroke = [*head, (left, top_y), right, foot]
    height = rng.uniform(0.42, 0.62)
    stem_x = right[0] + (foot[0] - right[0]) * height
    half = rng.uniform(0.15, 0.3)
    shift = rng.uniform(-0.08, 0.08)
    return [stroke, [(stem_x - half + shift, height), (stem_x + half + shift, height + rng.uniform(-0.04, 0.04))]], 7


def flagged_one(rng: np.random.Generator) -> tuple[Strokes, int]:
    """A 1 with a long flag at its top and (mostly) a base serif."""
    top = (rng.uniform(0.45, 0.6), 0.0)
    foot = (top[0] + rng.uniform(-0.08, 0.04), 1.0)
    flag = (top[0] - rng.uniform(0.2, 0.4), rng.uniform(0.15, 0.4))
    strokes = [[flag, top, foot]]
    if rng.random() < 0.7:
        half = rng.uniform(0.15, 0.3)
        strokes.append([(foot[0] - half, 1.0), (foot[0] + half, 1.0 + rng.uniform(-0.03, 0.03))])
    return strokes, 1


def open_four(rng: np.random.Generator) -> tuple[Strokes, int]:
    """A 4 whose top is open: the left stroke down and across, the stem apart from it."""
    start = (rng.uniform(0.1, 0.35), 0.0)
    corner = (rng.uniform(0.0, 0.15), rng.uniform(0.5, 0.65))
    end = (rng.uniform(0.85, 1.0), corner[1] + rng.uniform(-0.05, 0.05))
    stem_x = rng.uniform(0.6, 0.78)
    stem = [(stem_x, rng.uniform(0.0, 0.2)), (stem_x + rng.uniform(-0.05, 0.05), 1.0)]
    return [[start, corner, end], stem], 4


def straight_stemmed_six(rng: np.random.Generator) -> tuple[Strokes, int]:
    """A 6: a straight stem from the top down into its loop."""
    radius_x, radius_y = rng.uniform(0.3, 0.42), rng.uniform(0.22, 0.3)
    cy = 1.0 - radius_y
    top = (rng.uniform(0.55, 0.8), 0.0)
    loop = [
        (0.5 + radius_x * float(np.cos(a)), cy + radius_y * float(np.sin(a)))
        for a in np.deg2rad(np.linspace(180, 540 + rng.uniform(-40, 10), 14))
    ]
    return [[top, *loop]], 6


def straight_stemmed_nine(rng: np.random.Generator) -> tuple[Strokes, int]:
    """A 9: a round head and a straight stem down from its right side."""
    radius_x, radius_y = rng.uniform(0.3, 0.42), rng.uniform(0.22, 0.3)
    cx, cy = 0.5, radius_y
    right = cx + radius_x
    head = [
        (cx + radius_x * float(np.cos(a)), cy + radius_y * float(np.sin(a)))
        for a in np.deg2rad(np.linspace(0, -360, 14))
    ]
    return [[*head, (right + rng.uniform(-0.12, 0.02), 1.0)]], 9


def looped_two(rng: np.random.Generator) -> tuple[Strokes, int]:
    """A 2 with a small loop where its diagonal meets its foot."""
    loop_x, loop_y, size = rng.uniform(0.1, 0.3), rng.uniform(0.82, 0.9), rng.uniform(0.07, 0.13)
    head = [(0.1, rng.uniform(0.15, 0.3)), (0.45, 0.0), (rng.uniform(0.75, 0.95), 0.2), (0.65, 0.5)]
    loop = [
        (loop_x + size * float(np.cos(a)), loop_y + size * float(np.sin(a)))
        for a in np.deg2rad(np.linspace(-60, 280, 8))
    ]
    return [[*head, *loop, (rng.uniform(0.85, 1.0), rng.uniform(0.9, 1.0))]], 2


VARIANTS: tuple[tuple[Callable[[np.random.Generator], tuple[Strokes, int]], float], ...] = (
    (slashed_zero, 0.24),
    (dotted_zero, 0.08),
    (barred_seven, 0.14),
    (flagged_one, 0.12),
    (open_four, 0.1),
    (straight_stemmed_six, 0.1),
    (straight_stemmed_nine, 0.1),
    (looped_two, 0.12),
)
"""Each variant and its share of the family (the slashed zero most: it is the most common and the most easily taken
for a crossed-out digit)."""


def writers_variants(photo_share: float = 0.35) -> Callable[[np.random.Generator], tuple]:
    """A drawer of the variants, with a hand's wobble and slant, pen widths 5-44 px, some photographed on paper."""
    makers = [maker for maker, _ in VARIANTS]
    shares = np.asarray([share for _, share in VARIANTS])
    shares = shares / shares.sum()

    def draw_one(rng: np.random.Generator) -> tuple:
        strokes, label = makers[int(rng.choice(len(makers), p=shares))](rng)
        strokes = written_by_hand(strokes, rng, slant=0.4)
        width = float(rng.uniform(5, 28 if label == 0 else 44))  # a thicker pen fills a 0's middle, slash and all
        canvas = draw_strokes(strokes, width, box=random_box(rng, (0.45, 0.95)), smooth=False)
        return maybe_photo(canvas, rng, photo_share), label

    return draw_one


VARIANT_FAMILIES = ("digits in writers' variants",)


def variant_families() -> list[Family]:
    """The detector's family of digits in writers' variants."""
    return [family(VARIANT_FAMILIES[0], DIGIT, writers_variants())]
