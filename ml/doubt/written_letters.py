"""Lowercase letters as people write them with a pen: an "e" (a bar and a round stroke, or a cursive loop), an "a"
(one storey or two), an "n", an "m", an "h", an "r" and a "w"; each drawn with a hand's wobble, slant and pen width,
some photographed on paper, for the not-a-digit detector to learn as non-digits.

Each letter is a program with random proportions (not one template), as :mod:`ml.doubt.digit_variants` draws its
digits. None shares a shape with a digit: no "o" (a 0), "l" (a 1), "z" (a 2), "s" (a 5), "b" (a 6), "g" or "q" (a 9).
The held-out benchmark's hand-drawn templates (``ml.doubt.templates.LETTERS``) are not used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml.doubt.digit_variants import Strokes
from ml.doubt.drawing import densify, draw_strokes, written_by_hand
from ml.doubt.material import NOT_A_DIGIT, Family, family, maybe_photo, random_box
from ml.doubt.templates import ellipse_arc


def printed_e(rng: np.random.Generator) -> Strokes:
    """An "e": a bar across the middle from left to right, then up, over, down the left and round the bottom, open at
    the lower right."""
    bar_y = rng.uniform(0.42, 0.6)
    rx, ry = rng.uniform(0.38, 0.48), rng.uniform(0.42, 0.5)
    left = 0.5 - rx * rng.uniform(0.85, 1.0)
    bar = [(left, bar_y), (0.5 + rx, bar_y + rng.uniform(-0.04, 0.04))]
    bowl = ellipse_arc(0.5, 0.5, rx, ry, 0.0, -rng.uniform(300, 335), 16)  # anticlockwise on the page, from the right
    return [[*densify(bar, 1), *bowl[1:]]]


def cursive_e(rng: np.random.Generator) -> Strokes:
    """A cursive "e": in from the lower left, up into a small loop at the top, down the left and out at the right."""
    entry = (rng.uniform(0.0, 0.15), rng.uniform(0.55, 0.75))
    loop_right = (rng.uniform(0.7, 0.9), rng.uniform(0.3, 0.45))
    top = (rng.uniform(0.45, 0.6), 0.0)
    back = (rng.uniform(0.1, 0.25), rng.uniform(0.35, 0.55))
    bottom = (rng.uniform(0.4, 0.55), 1.0)
    out = (rng.uniform(0.85, 1.0), rng.uniform(0.7, 0.9))
    return [[entry, loop_right, top, back, (rng.uniform(0.12, 0.25), 0.85), bottom, out]]


def one_storey_a(rng: np.random.Generator) -> Strokes:
    """An "a": a round bowl drawn anticlockwise from its upper right, then the stem down its right side (sometimes
    with a small tail)."""
    rx, ry = rng.uniform(0.3, 0.4), rng.uniform(0.4, 0.5)
    cx = rng.uniform(0.4, 0.48)
    bowl = ellipse_arc(cx, 0.5, rx, ry, -30, -370, 16)
    stem_x = cx + rx + rng.uniform(-0.04, 0.06)
    stem = [(stem_x, rng.uniform(0.0, 0.12)), (stem_x, 1.0)]
    if rng.random() < 0.5:
        stem.append((stem_x + rng.uniform(0.08, 0.15), rng.uniform(0.88, 0.98)))
    return [bowl, stem] if rng.random() < 0.5 else [[*bowl, *stem]]


def two_storey_a(rng: np.random.Generator) -> Strokes:
    """A two-storey "a": a hook over the top into the stem, and a bowl at the stem's lower left."""
    stem_x = rng.uniform(0.7, 0.85)
    hook = [(rng.uniform(0.1, 0.25), rng.uniform(0.15, 0.3)), (0.45, 0.0), (stem_x, rng.uniform(0.15, 0.25))]
    stem = [(stem_x, 1.0)]
    bowl_top = rng.uniform(0.4, 0.55)
    bowl = [
        (stem_x, bowl_top),
        (rng.uniform(0.1, 0.25), bowl_top + rng.uniform(0.05, 0.15)),
        (rng.uniform(0.0, 0.1), 0.8),
        (0.4, 1.0),
        (stem_x, rng.uniform(0.75, 0.9)),
    ]
    return [[*hook, *stem], bowl]


def _arches(rng: np.random.Generator, count: int, tall_stem: bool) -> Strokes:
    """A stem and ``count`` arches down to the baseline, as an "n", an "m" or (with a tall stem) an "h" is written."""
    shoulder = rng.uniform(0.45, 0.6) if tall_stem else rng.uniform(0.0, 0.12)
    stroke = [(0.05, 0.0), (0.05, 1.0)]
    width = 0.95 / count
    for arch in range(count):
        left = 0.05 + arch * width
        right = left + width * rng.uniform(0.85, 1.0)
        stroke += [
            (left + 0.02, shoulder + 0.12),
            ((left + right) / 2, shoulder),
            (right, shoulder + rng.uniform(0.1, 0.2)),
            (right, 1.0),
        ]
    return [stroke]


def written_n(rng: np.random.Generator) -> Strokes:
    """An "n": a short stem, back up it and one arch down."""
    return _arches(rng, 1, tall_stem=False)


def written_m(rng: np.random.Generator) -> Strokes:
    """An "m": a short stem, back up it and two arches down."""
    return _arches(rng, 2, tall_stem=False)


def written_h(rng: np.random.Generator) -> Strokes:
    """An "h": a tall stem, back up half of it and one arch down."""
    return _arches(rng, 1, tall_stem=True)


def written_r(rng: np.random.Generator) -> Strokes:
    """An "r": a stem, back up it and a short shoulder out to the right."""
    stem_x = rng.uniform(0.1, 0.25)
    shoulder_y = rng.uniform(0.1, 0.25)
    return [
        [
            (stem_x, 0.0),
            (stem_x, 1.0),
            (stem_x, shoulder_y + 0.15),
            (stem_x + 0.3, 0.0),
            (rng.uniform(0.8, 1.0), rng.uniform(0.02, 0.15)),
        ]
    ]


def written_w(rng: np.random.Generator) -> Strokes:
    """A "w": down, up, down and up again, pointed or rounded at the bottom."""
    middle = rng.uniform(0.0, 0.4)
    return [[(0.0, 0.0), (0.22, 1.0), (0.5, middle), (0.78, 1.0), (1.0, 0.0)]]


LETTER_PROGRAMS: tuple[tuple[Callable[[np.random.Generator], Strokes], str, float], ...] = (
    (printed_e, "e", 0.22),
    (cursive_e, "e", 0.13),
    (one_storey_a, "a", 0.14),
    (two_storey_a, "a", 0.08),
    (written_n, "n", 0.1),
    (written_m, "m", 0.1),
    (written_h, "h", 0.08),
    (written_r, "r", 0.08),
    (written_w, "w", 0.07),
)
"""Each program, its letter and its share of the family ("e", the commonest letter, the most)."""


def written_letters(photo_share: float = 0.3) -> Callable[[np.random.Generator], tuple]:
    """A drawer of the letters (label -1), with a hand's wobble and slant, pen widths 5-36 px, some photographed."""
    makers = [maker for maker, _, _ in LETTER_PROGRAMS]
    shares = np.asarray([share for _, _, share in LETTER_PROGRAMS])
    shares = shares / shares.sum()

    def draw_one(rng: np.random.Generator) -> tuple:
        strokes = written_by_hand(makers[int(rng.choice(len(makers), p=shares))](rng), rng, slant=0.35)
        canvas = draw_strokes(strokes, float(rng.uniform(5, 36)), box=random_box(rng, (0.6, 1.3)), smooth=False)
        return maybe_photo(canvas, rng, photo_share), -1

    return draw_one


WRITTEN_LETTERS_FAMILY = "letters written"


def written_letters_family() -> Family:
    """The detector's family of lowercase letters written with a pen."""
    return family(WRITTEN_LETTERS_FAMILY, NOT_A_DIGIT, written_letters())
