"""Material to fit and check the not-a-digit decision: non-digits and digits in many styles, drawn on a canvas or
photographed on paper, and read to 28x28 exactly as the window reads a drawing.

Each family draws ``count`` images from a seed. The tuning families (:func:`tuning_families`) use some letters,
shapes, fonts and styles; the held-out benchmark (``bench/doubt_heldout.py``) uses the same makers with other letters,
shapes, fonts, styles and seeds, so the figures it prints come from material the fit never saw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ml.doubt.drawing import (
    as_photo,
    densify,
    digit_on_canvas,
    draw_strokes,
    draw_text,
    find_font,
    jitter_strokes,
    read_as_window,
)
from ml.doubt.templates import (
    DETECTOR_LETTERS,
    DETECTOR_SHAPES,
    DIGITS_PLAIN,
    LETTERS,
    SHAPES,
    TUNING_LETTERS,
    TUNING_SHAPES,
    Template,
)

DIGIT = "digit"
NOT_A_DIGIT = "not_a_digit"
RAW_NOISE = "noise at 28x28"

TUNING_FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "NimbusSans-Regular.otf")
TUNING_SYMBOLS = "+=#@%*<>"
DETECTOR_FONTS = (
    *TUNING_FONTS,
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-ExtraLight.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "NimbusSans-Bold.otf",
    "NimbusSans-Italic.otf",
)
"""The detector's fonts: the tuning fonts and their bold, light and slanted cuts (no held-out family)."""
DETECTOR_PRINTED_LETTERS = "AEHKXkmCPUcrtu"  # no w or x: held-out letters are drawn as w and x
DETECTOR_SYMBOLS = TUNING_SYMBOLS + "$[]ΔΣΠπμλΦΨ"


@dataclass(frozen=True)
class Material:
    """Images of one family as the window reads them: ``images`` (n, 28, 28) float32, their ``labels`` (digits) or
    -1, and how many drawings read as blank (the window says "No digit found": refused before any model)."""

    family: str
    kind: str
    images: np.ndarray
    labels: np.ndarray
    blank: int


@dataclass(frozen=True)
class Family:
    """A named maker of material: ``make(count, seed)``."""

    name: str
    kind: str
    make: Callable[[int, int], Material]


def collect(
    family: str, kind: str, count: int, seed: int, draw_one: Callable[[np.random.Generator], tuple]
) -> Material:
    """Call ``draw_one(rng) -> (canvas uint8 or None, label)`` until ``count`` drawings are made; read each one."""
    rng = np.random.default_rng(seed)
    images, labels, blank, attempts = [], [], 0, 0
    while len(images) + blank < count and attempts < count * 4:
        attempts += 1
        canvas, label = draw_one(rng)
        if canvas is None:
            continue
        image = read_as_window(canvas)
        if image is None:
            blank += 1
            continue
        images.append(image.astype(np.float32))
        labels.append(label)
    stacked = np.stack(images) if images else np.zeros((0, 28, 28), np.float32)
    return Material(family, kind, stacked, np.asarray(labels, dtype=np.int64), blank)


def maybe_photo(canvas: np.ndarray | None, rng: np.random.Generator, photo_share: float) -> np.ndarray | None:
    """The canvas as it is, or (``photo_share`` of the time) as a photo of paper."""
    if canvas is None or rng.random() >= photo_share:
        return canvas
    return as_photo(canvas, rng)


def random_box(rng: np.random.Generator, aspect: tuple[float, float]) -> tuple[float, float, float, float]:
    """Where a drawing lands on the 280 px canvas: 110-220 px tall, width/height in ``aspect``, anywhere inside."""
    height = rng.uniform(110, 220)
    width = height * rng.uniform(*aspect)
    width = min(width, 250.0)
    x = rng.uniform(10, max(11.0, 270 - width))
    y = rng.uniform(10, max(11.0, 270 - height))
    return (x, y, width, height)


def hand_drawn(
    templates: dict[str, Template],
    names: Sequence[str],
    *,
    widths: tuple[float, float] = (8.0, 36.0),
    slant: float = 0.25,
    aspect: tuple[float, float] = (0.55, 1.0),
    photo_share: float = 0.2,
) -> Callable[[np.random.Generator], tuple]:
    """A drawer of ``templates[name]`` for the given names, jittered as a hand draws; label = int(name) for digits."""

    def draw_one(rng: np.random.Generator) -> tuple:
        name = names[int(rng.integers(len(names)))]
        strokes = jitter_strokes(
            [densify(stroke) for stroke in templates[name]],
            rng,
            wobble=float(rng.uniform(0.01, 0.04)),
            slant=float(rng.uniform(-slant, slant)),
            squash=float(rng.uniform(0.85, 1.1)),
            rotation_degrees=float(rng.uniform(-10, 10)),
        )
        canvas = draw_strokes(strokes, float(rng.uniform(*widths)), box=random_box(rng, aspect))
        return maybe_photo(canvas, rng, photo_share), int(name) if name.isdigit() else -1

    return draw_one


def printed(
    characters: str, fonts: Sequence[str], *, photo_share: float = 0.3, bold_share: float = 0.2
) -> Callable[[np.random.Generator], tuple]:
    """A drawer of ``characters`` printed in one of ``fonts`` (file names; missing fonts are skipped)."""
    paths = [path for path in (find_font(name) for name in fonts) if path is not None] or [None]

    def draw_one(rng: np.random.Generator) -> tuple:
        character = characters[int(rng.integers(len(characters)))]
        font = paths[int(rng.integers(len(paths)))]
        offset = (int(rng.integers(-30, 31)), int(rng.integers(-30, 31)))
        stroke = int(rng.integers(2, 7)) if rng.random() < bold_share else 0
        canvas = draw_text(character, font, height=int(rng.integers(110, 200)), offset=offset, stroke_width=stroke)
        return maybe_photo(canvas, rng, photo_share), int(character) if character.isdigit() else -1

    return draw_one


def scribble(rng: np.random.Generator, points: int) -> list[list[tuple[float, float]]]:
    """One stroke wandering through ``points`` random points of the unit square."""
    return [[(float(x), float(y)) for x, y in rng.uniform(0.0, 1.0, (points, 2))]]


def scribbles(photo_share: float = 0.1) -> Callable[[np.random.Generator], tuple]:
    """One-stroke scribbles through 5-12 random points."""

    def draw_one(rng: np.random.Generator) -> tuple:
        strokes = scribble(rng, int(rng.integers(5, 13)))
        canvas = draw_strokes(strokes, float(rng.uniform(6, 34)), box=random_box(rng, (0.6, 1.4)))
        return maybe_photo(canvas, rng, photo_share), -1

    return draw_one


def pixel_noise() -> Callable[[np.random.Generator], tuple]:
    """A canvas of random grey pixels, uniform or in blotches."""

    def draw_one(rng: np.random.Generator) -> tuple:
        cell = int(rng.choice([1, 2, 4, 7]))
        small = rng.uniform(0, 255, (280 // cell + 1, 280 // cell + 1))
        canvas = np.kron(small, np.ones((cell, cell)))[:280, :280]
        return canvas.astype(np.uint8), -1

    return draw_one


GRAINY_KINDS = 4
"""The first kinds of :func:`noise_images` (uniform, blotchy, specks, Gaussian): those that may be confined to a box."""


def noise_images(count: int, seed: int, confined_share: float = 0.0) -> Material:
    """Noise as a model's own 28x28 input, never read off a canvas (an evaluation set or a 28x28 file can hold it):
    uniform, blotchy, sparse specks, Gaussian, smooth fields, stripes and checks, solid or half-filled frames, each at
    a random contrast; ``confined_share`` of the grainy ones (uniform, blotchy, specks, Gaussian: not the smooth
    fields, stripes or frames, which cut to a box can be a bold "1") confined to a box round the middle, where a
    digit's 20x20 lies. The detector never met a full frame of noise and called it a sure digit; it learns full
    frames, and the decisions (:func:`ml.doubt.fitting.decision_families`) learn noise in the digit's box too, which
    it accepts about half the time (a detector that learnt both lost about a point on drawn shapes and scribbles)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        kind = int(rng.integers(7))
        if kind == 0:
            image = rng.random((28, 28))
        elif kind == 1:  # blotches of 2-7 pixels
            cell = int(rng.integers(2, 8))
            image = np.kron(rng.random((28 // cell + 1, 28 // cell + 1)), np.ones((cell, cell)))[:28, :28]
        elif kind == 2:  # sparse specks
            image = (rng.random((28, 28)) < rng.uniform(0.03, 0.4)) * rng.uniform(0.5, 1.0, (28, 28))
        elif kind == 3:
            image = rng.normal(rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.4), (28, 28))
        elif kind == 4:  # a smooth random field
            small = rng.random((int(rng.integers(3, 8)),) * 2)
            image = np.asarray(Image.fromarray(small.astype(np.float32), mode="F").resize((28, 28), Image.BICUBIC))
        elif kind == 5:  # stripes or checks
            period = int(rng.integers(2, 7))
            rows, columns = np.indices((28, 28))
            image = ((rows // period + (columns // period) * int(rng.integers(2))) % 2).astype(float)
            image = image.T if rng.random() < 0.5 else image
        else:  # a solid frame, or part of one
            image = np.zeros((28, 28))
            top, left = int(rng.integers(0, 15)), int(rng.integers(0, 15))
            image[top : top + int(rng.integers(14, 29)), left : left + int(rng.integers(14, 29))] = 1.0
        if confined_share and kind < GRAINY_KINDS and rng.random() < confined_share:
            image = image * _central_box(rng)
        images.append(np.clip(image, 0, 1) * rng.uniform(0.3, 1.0))
    return Material(RAW_NOISE, NOT_A_DIGIT, np.asarray(images, dtype=np.float32), np.full(count, -1), 0)


def _central_box(rng: np.random.Generator) -> np.ndarray:
    """A 28x28 mask of ones in a box 12-22 pixels a side whose centre lies within 4 pixels of the middle."""
    mask = np.zeros((28, 28))
    height, width = (int(side) for side in rng.integers(12, 23, size=2))
    top = int(np.clip(14 - height // 2 + rng.integers(-4, 5), 0, 28 - height))
    left = int(np.clip(14 - width // 2 + rng.integers(-4, 5), 0, 28 - width))
    mask[top : top + height, left : left + width] = 1.0
    return mask


def digit_fragments(images28: np.ndarray) -> Callable[[np.random.Generator], tuple]:
    """Two digits mixed: one's left half beside another's right half, or both drawn over each other, shifted."""

    def draw_one(rng: np.random.Generator) -> tuple:
        first, second = images28[rng.integers(len(images28), size=2)]
        if rng.random() < 0.5:
            mixed = np.concatenate([first[:, :14], np.roll(second, int(rng.integers(-6, 7)), axis=0)[:, 14:]], axis=1)
        else:
            shift = (int(rng.integers(-9, 10)), int(rng.integers(-9, 10)))
            mixed = np.maximum(first, np.roll(second, shift, axis=(0, 1)))
        return digit_on_canvas(mixed, rng), -1

    return draw_one


def redrawn_digits(
    images28: np.ndarray, labels: np.ndarray, widths: Sequence[int] = (-3, -1, 0, 2, 5), photo_share: float = 0.2
) -> Callable[[np.random.Generator], tuple]:
    """MNIST-style digits drawn large on the canvas with thinner or thicker strokes, some photographed."""

    def draw_one(rng: np.random.Generator) -> tuple:
        index = int(rng.integers(len(images28)))
        canvas = digit_on_canvas(images28[index], rng, width_change=int(rng.choice(widths)))
        return maybe_photo(canvas, rng, photo_share), int(labels[index])

    return draw_one


def family(name: str, kind: str, draw_one: Callable[[np.random.Generator], tuple]) -> Family:
    """A :class:`Family` that collects ``draw_one``'s drawings."""
    return Family(name, kind, lambda count, seed: collect(name, kind, count, seed, draw_one))


def tuning_drawers(digit_images: np.ndarray, digit_labels: np.ndarray) -> list[tuple[str, str, Callable]]:
    """(name, kind, ``draw_one(rng) -> (canvas, label)``) of each tuning family: what :func:`tuning_families`
    collects, as whole canvases (the number reader's own check learns from those)."""
    return [
        ("letters drawn", NOT_A_DIGIT, hand_drawn(LETTERS, TUNING_LETTERS, aspect=(0.6, 1.2))),
        ("letters printed", NOT_A_DIGIT, printed("AEHKXkmwx", TUNING_FONTS)),
        ("symbols printed", NOT_A_DIGIT, printed(TUNING_SYMBOLS, TUNING_FONTS)),
        ("shapes drawn", NOT_A_DIGIT, hand_drawn(SHAPES, TUNING_SHAPES, aspect=(0.7, 1.3))),
        ("scribbles", NOT_A_DIGIT, scribbles()),
        ("noise", NOT_A_DIGIT, pixel_noise()),
        ("digit fragments", NOT_A_DIGIT, digit_fragments(digit_images)),
        ("digits drawn", DIGIT, hand_drawn(DIGITS_PLAIN, tuple(DIGITS_PLAIN), aspect=(0.45, 0.9))),
        ("digits printed", DIGIT, printed("0123456789", TUNING_FONTS)),
        ("digits redrawn", DIGIT, redrawn_digits(digit_images, digit_labels)),
    ]


def tuning_families(digit_images: np.ndarray, digit_labels: np.ndarray) -> list[Family]:
    """The families a fit learns from and sets its threshold on; ``digit_images`` are training or validation digits
    (never test digits), redrawn and mixed into fragments."""
    return [family(name, kind, draw_one) for name, kind, draw_one in tuning_drawers(digit_images, digit_labels)]


def low_resolution_digits(images28: np.ndarray, labels: np.ndarray) -> Callable[[np.random.Generator], tuple]:
    """Training digits scanned coarsely (shrunk to 7-14 px and enlarged again, blurry), drawn on the canvas."""
    from PIL import Image

    def draw_one(rng: np.random.Generator) -> tuple:
        index = int(rng.integers(len(images28)))
        size = int(rng.integers(7, 15))
        picture = Image.fromarray(images28[index].astype(np.float32), mode="F")
        coarse = picture.resize((size, size), Image.Resampling.BOX).resize((28, 28), Image.Resampling.BILINEAR)
        return digit_on_canvas(np.asarray(coarse), rng), int(labels[index])

    return draw_one


def sheared_digits(images28: np.ndarray, labels: np.ndarray) -> Callable[[np.random.Generator], tuple]:
    """Training digits slanted either way (shear up to 0.45), thinner or thicker, some photographed."""
    from PIL import Image

    def draw_one(rng: np.random.Generator) -> tuple:
        index = int(rng.integers(len(images28)))
        shear = float(rng.uniform(-0.45, 0.45))
        picture = Image.fromarray(images28[index].astype(np.float32), mode="F")
        matrix = (1, shear, -14 * shear, 0, 1, 0)
        sheared = picture.transform((28, 28), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR)
        canvas = digit_on_canvas(np.asarray(sheared), rng, width_change=int(rng.integers(-3, 5)))
        return maybe_photo(canvas, rng, 0.2), int(labels[index])

    return draw_one


def detector_families(digit_images: np.ndarray, digit_labels: np.ndarray) -> list[Family]:
    """The families the not-a-digit detector learns from: the tuning families with a few more letters, shapes,
    symbols and font cuts (none held out), and training digits redrawn, slanted and coarsely scanned.
    ``digit_images`` are training digits only."""
    thick = (8.0, 44.0)
    return [
        family("letters drawn", NOT_A_DIGIT, hand_drawn(LETTERS, DETECTOR_LETTERS, widths=thick, aspect=(0.5, 1.3))),
        family("letters printed", NOT_A_DIGIT, printed(DETECTOR_PRINTED_LETTERS, DETECTOR_FONTS, bold_share=0.3)),
        family("symbols printed", NOT_A_DIGIT, printed(DETECTOR_SYMBOLS, DETECTOR_FONTS, bold_share=0.3)),
        family("shapes drawn", NOT_A_DIGIT, hand_drawn(SHAPES, DETECTOR_SHAPES, widths=thick, aspect=(0.6, 1.4))),
        family("scribbles", NOT_A_DIGIT, scribbles(photo_share=0.2)),
        family("noise", NOT_A_DIGIT, pixel_noise()),
        family("digit fragments", NOT_A_DIGIT, digit_fragments(digit_images)),
        family(
            "digits drawn",
            DIGIT,
            hand_drawn(DIGITS_PLAIN, tuple(DIGITS_PLAIN), widths=thick, slant=0.35, aspect=(0.4, 0.95)),
        ),
        family("digits printed", DIGIT, printed("0123456789", DETECTOR_FONTS, bold_share=0.3)),
        family("digits redrawn", DIGIT, redrawn_digits(digit_images, digit_labels)),
        family("digits slanted", DIGIT, sheared_digits(digit_images, digit_labels)),
        family("digits coarse", DIGIT, low_resolution_digits(digit_images, digit_labels)),
    ]
