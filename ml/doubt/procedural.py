"""Procedural material for the not-a-digit detector: many kinds of non-digits made by programs rather than taken
from a few templates (random stroke programs, polygons, stars and doodles drawn open or filled, glyphs of several
scripts in many fonts, letters warped elastically, digits crossed out or squeezed in pairs), and digits as varied
(MNIST training digits warped, slanted, thinner or thicker; digits printed in every training font).

Nothing here draws what the held-out benchmark (``bench/doubt_heldout.py``) draws: none of its hand-drawn templates
(letters, shapes, the pictograms heart, arrow, tick, smiley, hash, plus in a box), none of its fonts' families, no
digit in its other hand, no seed of it. Its letters and printed signs (a heart and a tick among them) are printed, in
the training fonts only, by one family of common characters (since 7 December; the scripts below still leave them
and their look-alikes out). Characters and shapes that read as a digit (O, I, l, Z, S, B, G, b, g, q, З, Ч, δ, θ, a
lone line or circle) are left out, so no digit is taught as a non-digit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ml.doubt.drawing import CANVAS, digit_on_canvas, draw_text, find_font, render_pen
from ml.doubt.material import DIGIT, NOT_A_DIGIT, Family, family, maybe_photo, random_box

LATIN = "ACEHKPUXÆŒcdkmprtuyç"
GREEK = "ακλξπρτφψμΔΛΞΠΣΦΨ"
CYRILLIC = "ЖДЛФЮЯЦЙИКЫжлфюяцйикы"
SIGNS = "+=#@%*<>$[]≤≥≡≈∑∏∇∈∀∃¬⊂⊃∪∩¶†‡¢‰⇒⇔←↑↓↔↕■□▲△▼▽●◐❖✿❀❄✂✈☂☯♪♫⚑✗✘✦✧⌂∠⊥"
"""Printed non-digits. Left out: the benchmark's letters and symbols and their look-alikes (F L M N R V W Y a e f h n w
x, Cyrillic М У п е а х ш, Greek Μ Ν Υ η ω χ ν, the benchmark's signs × ÷ & ? ~ ^ { } € £ ¥ § © ® ♥ ♣ ♠ ✓ ★ ∞ ≠ ± √ Ω),
and glyphs that read as digits."""
TRAINING_SCRIPTS = LATIN + GREEK + SIGNS
COMMON_CHARACTERS = "FLMNRVWYaefhnvwx×÷&?~^{}€£¥§©®♥♣♠✓★∞≠±√Ω"
"""Letters and signs people write often that the scripts above left out because the benchmark prints or draws them:
learnt since 7 December, printed in the training fonts only (the benchmark keeps its fonts, hands, drawings and
seeds; it no longer holds these characters out)."""
VALIDATION_SCRIPTS = CYRILLIC
"""Cyrillic is kept out of the detector's training: it checks how the detector does on a script it never saw."""

TRAINING_FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSans-ExtraLight.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuMathTeXGyre.ttf",
    "DroidSansFallbackFull.ttf",
    "NimbusSans-Regular.otf",
    "NimbusSans-Bold.otf",
    "NimbusSans-Italic.otf",
    "NimbusSans-BoldItalic.otf",
    "StandardSymbolsPS.otf",
)
"""Fonts of families the benchmark does not use (it holds out URW Bookman, C059, P052, Nimbus Mono, URW Gothic,
Z003, Nimbus Sans Narrow, Nimbus Roman, DejaVu Sans Mono and DejaVu Serif Condensed whole)."""
VALIDATION_FONTS = (
    "DejaVuSansCondensed.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansCondensed-Oblique.ttf",
    "NotoSansMono-Regular.ttf",
    "NotoSansMono-Bold.ttf",
    "NotoMono-Regular.ttf",
)
"""Fonts kept out of the detector's training, for checking it on fonts it never saw."""

Path2 = list[tuple[float, float]]


def elastic_warp(image: np.ndarray, rng: np.random.Generator, alpha: float, sigma: float) -> np.ndarray:
    """``image`` (2-D) moved by a smooth random field (Simard et al. 2003): ``alpha`` pixels, smoothness ``sigma``."""
    from scipy.ndimage import gaussian_filter, map_coordinates

    height, width = image.shape
    dx = gaussian_filter(rng.uniform(-1, 1, (height, width)), sigma)
    dy = gaussian_filter(rng.uniform(-1, 1, (height, width)), sigma)
    dx *= alpha / max(np.abs(dx).max(), 1e-6)
    dy *= alpha / max(np.abs(dy).max(), 1e-6)
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    warped = map_coordinates(image.astype(np.float32), [rows + dy, columns + dx], order=1, mode="nearest")
    return warped.astype(image.dtype) if image.dtype != np.uint8 else np.clip(warped, 0, 255).astype(np.uint8)


def pressure_pen(strokes: Sequence[Path2], width: float, rng: np.random.Generator, box) -> np.ndarray:
    """Strokes (unit-square points) drawn with a pen whose width changes along each stroke, as pressure does."""
    x0, y0, box_width, box_height = box
    paths = []
    for stroke in strokes:
        points = [(x0 + x * box_width, y0 + y * box_height) for x, y in stroke]
        if rng.random() < 0.5 or len(points) < 6:
            paths.append((points, width))
            continue
        start, end = width * rng.uniform(0.5, 1.3), width * rng.uniform(0.5, 1.3)
        pieces = max(2, len(points) // 4)
        bounds = np.linspace(0, len(points) - 1, pieces + 1).astype(int)
        for index in range(pieces):
            t = index / max(pieces - 1, 1)
            paths.append((points[bounds[index] : bounds[index + 1] + 1], max(2.0, start + (end - start) * t)))
    return render_pen(paths, (CANVAS, CANVAS))


def _arc(rng: np.random.Generator, full: bool = False) -> Path2:
    cx, cy = rng.uniform(0.25, 0.75, 2)
    rx, ry = rng.uniform(0.1, 0.45), rng.uniform(0.1, 0.45)
    start = rng.uniform(0, 2 * np.pi)
    span = 2 * np.pi if full else rng.uniform(0.4, 1.7) * np.pi
    angles = np.linspace(start, start + span, 24)
    return [(float(cx + rx * np.cos(a)), float(cy + ry * np.sin(a))) for a in angles]


def _bezier(rng: np.random.Generator) -> Path2:
    p = rng.uniform(0, 1, (4, 2))
    t = np.linspace(0, 1, 24)[:, None]
    curve = (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2] + t**3 * p[3]
    return [(float(x), float(y)) for x, y in curve]


def _line(rng: np.random.Generator) -> Path2:
    a, b = rng.uniform(0, 1, (2, 2))
    return [(float(a[0] + (b[0] - a[0]) * t), float(a[1] + (b[1] - a[1]) * t)) for t in np.linspace(0, 1, 8)]


def _zigzag(rng: np.random.Generator) -> Path2:
    turns = int(rng.integers(3, 8))
    a, b = rng.uniform(0.05, 0.95, (2, 2))
    direction = b - a
    normal = np.array([-direction[1], direction[0]]) / max(np.linalg.norm(direction), 1e-6)
    amplitude = rng.uniform(0.08, 0.3)
    points = [a + direction * i / turns + normal * amplitude * (1 if i % 2 else -1) for i in range(turns + 1)]
    return [(float(x), float(y)) for x, y in points]


def _spiral(rng: np.random.Generator) -> Path2:
    turns = rng.uniform(1.5, 3.5)
    angles = np.linspace(0, turns * 2 * np.pi, int(turns * 20))
    radius = np.linspace(rng.uniform(0.0, 0.05), rng.uniform(0.3, 0.48), len(angles))
    sign = rng.choice([-1, 1])
    return [
        (0.5 + float(r * np.cos(sign * a)), 0.5 + float(r * np.sin(sign * a)))
        for r, a in zip(radius, angles, strict=True)
    ]


def _wave(rng: np.random.Generator) -> Path2:
    cycles = rng.uniform(1.5, 4.0)
    x = np.linspace(0.05, 0.95, 40)
    y = rng.uniform(0.3, 0.7) + rng.uniform(0.08, 0.25) * np.sin(x * cycles * 2 * np.pi + rng.uniform(0, 6))
    return [(float(a), float(b)) for a, b in zip(x, y, strict=True)]


def _loops(rng: np.random.Generator) -> Path2:
    count = int(rng.integers(2, 6))
    t = np.linspace(0, count * 2 * np.pi, count * 14)
    size = rng.uniform(0.08, 0.2)
    x = 0.1 + 0.8 * t / t[-1] + size * np.cos(t)
    y = 0.5 - size * 1.5 * np.sin(t)
    return [(float(a), float(b)) for a, b in zip(x, y, strict=True)]


def _cross(rng: np.random.Generator) -> list[Path2]:
    centre, size = rng.uniform(0.3, 0.7, 2), rng.uniform(0.1, 0.35)
    angle = rng.uniform(0, np.pi)
    strokes = []
    for turn in (angle, angle + np.pi / 2 + rng.uniform(-0.3, 0.3)):
        offset = size * np.array([np.cos(turn), np.sin(turn)])
        strokes.append([tuple(map(float, centre - offset)), tuple(map(float, centre + offset))])
    return strokes


LONE_PRIMITIVES = (_zigzag, _spiral, _wave, _loops)
"""A stroke program of one stroke uses only these: a lone line, arc or curve could be a 1, 0, 6 or 7."""
ANY_PRIMITIVES = (_line, _arc, _bezier, *LONE_PRIMITIVES)


def stroke_program(rng: np.random.Generator) -> tuple:
    """1-4 strokes of lines, arcs, Bezier curves, loops, zigzags, waves, crosses and spirals, with pen pressure."""
    count = int(rng.choice([1, 2, 2, 3, 3, 4]))
    if count == 1:
        strokes = [LONE_PRIMITIVES[int(rng.integers(len(LONE_PRIMITIVES)))](rng)]
    else:
        strokes = []
        while len(strokes) < count:
            if rng.random() < 0.12:
                strokes.extend(_cross(rng))
            else:
                strokes.append(ANY_PRIMITIVES[int(rng.integers(len(ANY_PRIMITIVES)))](rng))
    canvas = pressure_pen(strokes, float(rng.uniform(5, 40)), rng, random_box(rng, (0.6, 1.5)))
    return maybe_photo(canvas, rng, 0.25), -1


def _polygon_points(rng: np.random.Generator) -> Path2:
    regular = rng.random() < 0.5
    corners = int(rng.integers(3, 6 if regular else 8))  # a regular polygon of many corners would pass for a 0
    if regular:
        angles = np.linspace(0, 2 * np.pi, corners, endpoint=False) + rng.uniform(0, 2 * np.pi)
        radii = np.full(corners, 0.48)
    else:
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        radii = rng.uniform(0.25, 0.5, corners)
    star = rng.random() < 0.35 and corners >= 4 and corners != 6
    if star:
        inner = np.asarray(angles) + np.pi / corners
        angles = np.ravel(np.column_stack([angles, inner]))
        radii = np.ravel(np.column_stack([radii, radii * rng.uniform(0.25, 0.55)]))
    points = [(0.5 + r * float(np.cos(a)), 0.5 + r * float(np.sin(a))) for r, a in zip(radii, angles, strict=True)]
    return [*points, points[0]]


def _doodle(rng: np.random.Generator) -> list[Path2]:
    """A small picture people doodle: a sun, a flower, a stick figure, a tree, an envelope, a cloud, nested shapes."""
    kind = int(rng.integers(7))
    circle = lambda cx, cy, r, n=20: [  # noqa: E731
        (cx + r * float(np.cos(a)), cy + r * float(np.sin(a))) for a in np.linspace(0, 2 * np.pi, n)
    ]
    if kind == 0:  # sun: a disc and rays
        rays = int(rng.integers(5, 12))
        strokes = [circle(0.5, 0.5, 0.2)]
        for a in np.linspace(0, 2 * np.pi, rays, endpoint=False):
            strokes.append(
                [(0.5 + 0.28 * np.cos(a), 0.5 + 0.28 * np.sin(a)), (0.5 + 0.48 * np.cos(a), 0.5 + 0.48 * np.sin(a))]
            )
        return strokes
    if kind == 1:  # flower: petals round a centre, a stem
        petals = int(rng.integers(4, 9))
        strokes = [circle(0.5, 0.3, 0.07, 10)]
        for a in np.linspace(0, 2 * np.pi, petals, endpoint=False):
            px, py = 0.5 + 0.16 * np.cos(a), 0.3 + 0.16 * np.sin(a)
            strokes.append(circle(px, py, 0.08, 12))
        return [*strokes, [(0.5, 0.46), (0.48, 0.75), (0.5, 1.0)], [(0.49, 0.8), (0.3, 0.65)]]
    if kind == 2:  # stick figure
        return [
            circle(0.5, 0.15, 0.13),
            [(0.5, 0.28), (0.5, 0.65)],
            [(0.2, 0.42), (0.8, 0.42)],
            [(0.5, 0.65), (0.25, 1.0)],
            [(0.5, 0.65), (0.75, 1.0)],
        ]
    if kind == 3:  # tree: a crown and a trunk
        crown = _polygon_points(rng) if rng.random() < 0.5 else circle(0.5, 0.35, 0.33)
        crown = [(x, y * 0.7) for x, y in crown]
        return [crown, [(0.45, 0.68), (0.45, 1.0)], [(0.55, 0.68), (0.55, 1.0)]]
    if kind == 4:  # envelope
        return [[(0, 0.2), (1, 0.2), (1, 0.85), (0, 0.85), (0, 0.2)], [(0, 0.2), (0.5, 0.6), (1, 0.2)]]
    if kind == 5:  # cloud: bumps along an arc
        bumps = int(rng.integers(3, 7))
        path: Path2 = []
        for index in range(bumps):
            cx = 0.12 + 0.76 * index / max(bumps - 1, 1)
            path += [
                (cx + 0.13 * float(np.cos(a)), 0.5 + 0.18 * float(np.sin(a))) for a in np.linspace(np.pi, 2 * np.pi, 8)
            ]
        return [[*path, (0.95, 0.65), (0.05, 0.65), path[0]]]
    inner = [(0.5 + (x - 0.5) * 0.5, 0.5 + (y - 0.5) * 0.5) for x, y in _polygon_points(rng)]
    return [_polygon_points(rng), inner]


def shapes_and_doodles(rng: np.random.Generator) -> tuple:
    """Polygons and stars (regular or not), open or filled, or a doodle; with pen pressure, some photographed."""
    box = random_box(rng, (0.6, 1.5))
    if rng.random() < 0.3:
        strokes = _doodle(rng)
    else:
        strokes = [_polygon_points(rng) for _ in range(1 if rng.random() < 0.8 else 2)]
    width = float(rng.uniform(5, 36))
    if rng.random() < 0.25 and len(strokes) <= 2:  # filled
        picture = Image.new("L", (CANVAS, CANVAS), 255)
        pen = ImageDraw.Draw(picture)
        x0, y0, w, h = box
        for stroke in strokes:
            pen.polygon([(x0 + x * w, y0 + y * h) for x, y in stroke], fill=int(rng.integers(0, 60)), outline=0)
        canvas = np.asarray(picture)
    else:
        canvas = pressure_pen(strokes, width, rng, box)
    return maybe_photo(canvas, rng, 0.25), -1


def has_glyph(font: ImageFont.FreeTypeFont, character: str) -> bool:
    """Whether ``font`` draws ``character`` itself, not its "missing glyph" box or nothing."""
    mask = font.getmask(character)
    if mask.getbbox() is None:
        return False
    missing = font.getmask("\U000f0000")
    return mask.size != missing.size or bytes(mask) != bytes(missing)


def printed_glyphs(characters: str, fonts: Sequence[str], *, warp_share: float = 0.5) -> Callable:
    """A drawer of ``characters`` printed in ``fonts`` (only fonts that have the glyph), bold or thin, some warped
    elastically, slanted or photographed."""
    paths = [path for path in (find_font(name) for name in fonts) if path is not None]
    probes = [ImageFont.truetype(str(path), 48) for path in paths]
    choices = [(c, [p for p, probe in zip(paths, probes, strict=True) if has_glyph(probe, c)]) for c in characters]
    choices = [(character, usable) for character, usable in choices if usable]

    def draw_one(rng: np.random.Generator) -> tuple:
        character, usable = choices[int(rng.integers(len(choices)))]
        font = usable[int(rng.integers(len(usable)))]
        offset = (int(rng.integers(-30, 31)), int(rng.integers(-30, 31)))
        stroke = int(rng.integers(1, 8)) if rng.random() < 0.35 else 0
        canvas = draw_text(character, font, height=int(rng.integers(100, 210)), offset=offset, stroke_width=stroke)
        if canvas is None:
            return None, -1
        if rng.random() < warp_share:
            canvas = elastic_warp(canvas, rng, alpha=float(rng.uniform(6, 22)), sigma=float(rng.uniform(18, 40)))
        if rng.random() < 0.3:
            shear = float(rng.uniform(-0.35, 0.35))
            canvas = np.asarray(
                Image.fromarray(canvas).transform(
                    (CANVAS, CANVAS), Image.Transform.AFFINE, (1, shear, -CANVAS / 2 * shear, 0, 1, 0), fillcolor=255
                )
            )
        label = int(character) if character.isdigit() else -1
        return maybe_photo(canvas, rng, 0.3), label

    return draw_one


CROSSED_OUT_DIGITS = (1, 2, 3, 4, 5, 6, 8, 9)
"""Digits drawn crossed out: never a 0 (a 0 with a slash is a slashed zero, as many people write it); a 7 only with
two or more lines or a zigzag (one line across it is a barred 7)."""


def crossed_or_paired_digits(images28: np.ndarray, labels: np.ndarray) -> Callable:
    """Training digits crossed out (2-3 lines or a zigzag over them; one line only over a digit it cannot turn into
    another way of writing a digit), or two squeezed side by side into one box."""
    crossable = np.flatnonzero(np.isin(labels, (*CROSSED_OUT_DIGITS, 7)))

    def draw_one(rng: np.random.Generator) -> tuple:
        first, second = images28[rng.integers(len(images28), size=2)]
        if rng.random() < 0.5:
            gap = int(rng.integers(-5, 5))
            left, right = first[:, 4:24], second[:, 4:24]
            pair = np.zeros((28, 40 + gap), np.float32)
            pair[:, :20] = left
            pair[:, 20 + gap : 40 + gap] = np.maximum(pair[:, 20 + gap : 40 + gap], right)
            canvas = digit_on_canvas(_square(pair), rng)
            return maybe_photo(canvas, rng, 0.2), -1
        index = int(crossable[rng.integers(len(crossable))])
        canvas = digit_on_canvas(images28[index], rng)
        fewest = 2 if labels[index] == 7 else 1
        marks = [_line(rng) for _ in range(int(rng.integers(fewest, 4)))] if rng.random() < 0.6 else [_zigzag(rng)]
        box = (20.0, 20.0, 240.0, 240.0)
        lines = pressure_pen(marks, float(rng.uniform(12, 30)), rng, box)
        return maybe_photo(np.minimum(canvas, lines), rng, 0.2), -1

    return draw_one


def _square(image: np.ndarray) -> np.ndarray:
    """``image`` padded with black to a square, then resized to 28x28."""
    height, width = image.shape
    side = max(height, width)
    padded = np.zeros((side, side), np.float32)
    padded[(side - height) // 2 : (side - height) // 2 + height, (side - width) // 2 : (side - width) // 2 + width] = (
        image
    )
    picture = Image.fromarray(padded, mode="F").resize((28, 28), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(picture), 0, 1)


def warped_digits(images28: np.ndarray, labels: np.ndarray) -> Callable:
    """Training digits warped elastically, slanted, squeezed, thinner or thicker, some photographed."""

    def draw_one(rng: np.random.Generator) -> tuple:
        index = int(rng.integers(len(images28)))
        image = elastic_warp(images28[index].astype(np.float32), rng, float(rng.uniform(0.8, 2.5)), 4.0)
        shear, squash = float(rng.uniform(-0.45, 0.45)), float(rng.uniform(0.75, 1.15))
        picture = Image.fromarray(np.clip(image, 0, 1).astype(np.float32), mode="F")
        matrix = (1 / squash, shear, -14 * shear + 14 * (1 - 1 / squash), 0, 1, 0)
        image = np.asarray(picture.transform((28, 28), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR))
        canvas = digit_on_canvas(image, rng, width_change=int(rng.choice([-3, -2, -1, 0, 0, 1, 2, 4, 6])))
        return maybe_photo(canvas, rng, 0.3), int(labels[index])

    return draw_one


def procedural_families(digit_images: np.ndarray, digit_labels: np.ndarray) -> list[Family]:
    """The detector's procedural families (``digit_images``: training digits only)."""
    return [
        family("stroke programs", NOT_A_DIGIT, stroke_program),
        family("shapes and doodles", NOT_A_DIGIT, shapes_and_doodles),
        family("glyphs printed", NOT_A_DIGIT, printed_glyphs(TRAINING_SCRIPTS, TRAINING_FONTS)),
        family("digits crossed or paired", NOT_A_DIGIT, crossed_or_paired_digits(digit_images, digit_labels)),
        family("digits warped", DIGIT, warped_digits(digit_images, digit_labels)),
        family("digits printed (all fonts)", DIGIT, printed_glyphs("0123456789", TRAINING_FONTS[:-1], warp_share=0.3)),
    ]


def validation_families() -> list[Family]:
    """Material to choose the detector by, kept out of its training: a script and fonts it never saw."""
    return [
        family("unseen script", NOT_A_DIGIT, printed_glyphs(VALIDATION_SCRIPTS, TRAINING_FONTS + VALIDATION_FONTS)),
        family("unseen fonts", NOT_A_DIGIT, printed_glyphs(LATIN + GREEK, VALIDATION_FONTS)),
        family("digits in unseen fonts", DIGIT, printed_glyphs("0123456789", VALIDATION_FONTS, warp_share=0.3)),
    ]


PROCEDURAL_FAMILIES = (
    "stroke programs",
    "shapes and doodles",
    "glyphs printed",
    "digits crossed or paired",
    "digits warped",
    "digits printed (all fonts)",
)
VALIDATION_FAMILIES = ("unseen script", "unseen fonts", "digits in unseen fonts")
COMMON_FAMILY = "common characters"


def common_character_family() -> Family:
    """The common letters and signs (``COMMON_CHARACTERS``) printed in the training fonts, bold or thin as a pen,
    some warped, slanted or photographed."""
    return family(COMMON_FAMILY, NOT_A_DIGIT, printed_glyphs(COMMON_CHARACTERS, TRAINING_FONTS))
