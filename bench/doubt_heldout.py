"""Held-out material for bench_doubt.py: letters, symbols, shapes, scribbles and noise, and digits in other styles,
none of which the not-a-digit fit sees (other letters, shapes, fonts and hands, other seeds; MNIST test digits and
scikit-learn's 8x8 digits where the fit uses MNIST training and validation digits)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from ml.doubt.drawing import digit_on_canvas, draw_strokes, find_font
from ml.doubt.material import (
    DIGIT,
    NOT_A_DIGIT,
    Family,
    family,
    hand_drawn,
    maybe_photo,
    printed,
    random_box,
    redrawn_digits,
)
from ml.doubt.templates import DIGITS_OTHER, HELD_OUT_LETTERS, HELD_OUT_SHAPES, LETTERS, SHAPES

HELD_OUT_FONTS = (
    "URWBookman-Light.otf",
    "C059-Roman.otf",
    "P052-Italic.otf",
    "NimbusMonoPS-Regular.otf",
    "URWGothic-Book.otf",
    "Z003-MediumItalic.otf",
    "NimbusSansNarrow-Bold.otf",
    "NimbusRoman-Regular.otf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerifCondensed-Italic.ttf",
)
HELD_OUT_PRINTED_LETTERS = "FLMNRVWYaefhn"
HELD_OUT_SYMBOLS = "×÷&?~^{}€£¥§©®♥♣♠✓★∞≠±√Ω"
HELD_OUT_SEED = 1001  # the fit draws its material with seeds 11 and 12


def missing_fonts_note() -> str | None:
    """Which held-out fonts this machine lacks (the printed families leave them out, so their figures move), or None."""
    missing = [name for name in HELD_OUT_FONTS if find_font(name) is None]
    return f"fonts missing here (the printed drawings leave them out): {', '.join(missing)}" if missing else None


def zigzag_or_loops(rng: np.random.Generator) -> tuple:
    """A zigzag, a row of cursive loops, hatching, or a scribble of several strokes."""
    kind = int(rng.integers(4))
    if kind == 0:
        turns = int(rng.integers(4, 9))
        strokes = [[(i / turns, float(i % 2)) for i in range(turns + 1)]]
        smooth = False
    elif kind == 1:
        loops = int(rng.integers(3, 6))
        t = np.linspace(0, loops * 2 * np.pi, loops * 12)
        x = (t / t[-1]) * 0.8 + 0.1 + 0.12 * np.cos(t)
        y = 0.5 - 0.35 * np.sin(t)
        strokes, smooth = [list(zip(x, y, strict=True))], True
    elif kind == 2:
        lines = int(rng.integers(4, 8))
        slope = float(rng.uniform(-0.3, 0.3))
        strokes = [[(0.0, i / lines + slope), (1.0, i / lines - slope)] for i in range(lines)]
        smooth = False
    else:
        strokes = [[tuple(point) for point in rng.uniform(0, 1, (int(rng.integers(3, 6)), 2))] for _ in range(3)]
        smooth = True
    canvas = draw_strokes(strokes, float(rng.uniform(6, 30)), box=random_box(rng, (0.8, 1.6)), smooth=smooth)
    return maybe_photo(canvas, rng, 0.2), -1


def dabs_and_paper(rng: np.random.Generator) -> tuple:
    """Many small dabs of the pen, or a photo of textured paper with a few marks."""
    count = int(rng.integers(15, 60))
    strokes = [[tuple(point), tuple(point + rng.normal(0, 0.01, 2))] for point in rng.uniform(0, 1, (count, 2))]
    canvas = draw_strokes(strokes, float(rng.uniform(5, 16)), box=(20, 20, 240, 240), smooth=False)
    if rng.random() < 0.4:
        canvas = np.clip(canvas.astype(np.float32) - rng.normal(0, 40, canvas.shape).clip(0, None), 0, 255)
        canvas = canvas.astype(np.uint8)
    return canvas, -1


def slanted_digits(images28: np.ndarray, labels: np.ndarray):
    """MNIST test digits sheared left or right (a slanted hand), drawn on the canvas."""

    def draw_one(rng: np.random.Generator) -> tuple:
        index = int(rng.integers(len(images28)))
        shear = float(rng.choice([-1, 1]) * rng.uniform(0.25, 0.5))
        picture = Image.fromarray(images28[index].astype(np.float32), mode="F")
        sheared = picture.transform((28, 28), Image.Transform.AFFINE, (1, shear, -14 * shear, 0, 1, 0), Image.BILINEAR)
        return digit_on_canvas(np.asarray(sheared), rng, width_change=int(rng.integers(-2, 4))), int(labels[index])

    return draw_one


def sklearn_digits(rng_images: np.ndarray, labels: np.ndarray):
    """scikit-learn's 8x8 digits (another set of writers, scanned in 1998), upscaled and drawn on the canvas."""

    def draw_one(rng: np.random.Generator) -> tuple:
        index = int(rng.integers(len(rng_images)))
        return digit_on_canvas(rng_images[index], rng), int(labels[index])

    return draw_one


def held_out_drawers(test_images: np.ndarray, test_labels: np.ndarray) -> list[tuple[str, str, Callable]]:
    """(name, kind, ``draw_one(rng) -> (canvas, label)``) of each of :func:`held_out_families`, as whole canvases."""
    from sklearn.datasets import load_digits

    from ml.data.datasets import upscale_digits

    digits8 = load_digits()
    images8 = (digits8.images.astype(np.float32) / 16.0)[..., None]
    sklearn28 = upscale_digits(images8)[..., 0]
    return [
        ("letters drawn", NOT_A_DIGIT, hand_drawn(LETTERS, HELD_OUT_LETTERS, aspect=(0.6, 1.2), photo_share=0.3)),
        ("letters printed", NOT_A_DIGIT, printed(HELD_OUT_PRINTED_LETTERS, HELD_OUT_FONTS, photo_share=0.4)),
        ("symbols printed", NOT_A_DIGIT, printed(HELD_OUT_SYMBOLS, HELD_OUT_FONTS, photo_share=0.4)),
        ("shapes drawn", NOT_A_DIGIT, hand_drawn(SHAPES, HELD_OUT_SHAPES, aspect=(0.6, 1.5), photo_share=0.3)),
        ("scribbles", NOT_A_DIGIT, zigzag_or_loops),
        ("noise", NOT_A_DIGIT, dabs_and_paper),
        (
            "digits drawn",
            DIGIT,
            hand_drawn(DIGITS_OTHER, tuple(DIGITS_OTHER), widths=(5.0, 48.0), slant=0.4, aspect=(0.4, 0.95)),
        ),
        ("digits printed", DIGIT, printed("0123456789", HELD_OUT_FONTS, photo_share=0.4)),
        ("MNIST test redrawn", DIGIT, redrawn_digits(test_images, test_labels, (-4, -2, 3, 6), 0.4)),
        ("MNIST test slanted", DIGIT, slanted_digits(test_images, test_labels)),
        ("scikit-learn 8x8", DIGIT, sklearn_digits(sklearn28, digits8.target)),
    ]


def held_out_families(test_images: np.ndarray, test_labels: np.ndarray) -> list[Family]:
    """The benchmark's families: non-digits that no tuning family draws, and digits in other styles."""
    return [family(name, kind, draw_one) for name, kind, draw_one in held_out_drawers(test_images, test_labels)]
