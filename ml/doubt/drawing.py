"""Draw what people put on a digit canvas or on paper (strokes, font glyphs, photos of paper), then read it as the
window does: through ``ml.preprocess.pipeline.to_mnist`` to MNIST's 28x28.

The material for choosing and checking the not-a-digit decision is made from these primitives (``ml.doubt.material``
for tuning, ``bench/doubt_heldout.py`` for the held-out benchmark).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ml.preprocess.pipeline import render_mnist_on_canvas, to_mnist

CANVAS = 280  # the window's drawing is 280x280 document pixels
Stroke = Sequence[tuple[float, float]]  # points in the unit square, x to the right and y down

FONT_FOLDERS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")


def find_font(file_name: str) -> Path | None:
    """The path of an installed font file called ``file_name`` (e.g. "DejaVuSans.ttf"), or None."""
    for folder in FONT_FOLDERS:
        if folder.is_dir():
            for found in folder.rglob(file_name):
                return found
    return None


def smooth_stroke(points: Stroke, samples: int = 6) -> list[tuple[float, float]]:
    """A Catmull-Rom curve through ``points`` (the hand's smooth path through its turning points)."""
    points = [tuple(map(float, point)) for point in points]
    if len(points) < 3:
        return points
    padded = [points[0], *points, points[-1]]
    curve: list[tuple[float, float]] = []
    for index in range(1, len(padded) - 2):
        p0, p1, p2, p3 = (np.asarray(padded[index + offset]) for offset in (-1, 0, 1, 2))
        for t in np.linspace(0.0, 1.0, samples, endpoint=False):
            point = 0.5 * (
                2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
            curve.append((float(point[0]), float(point[1])))
    curve.append(points[-1])
    return curve


def densify(stroke: Stroke, extra: int = 2) -> list[tuple[float, float]]:
    """``extra`` points added evenly on each segment, so a smooth curve through them keeps straight lines straight."""
    points = [tuple(map(float, point)) for point in stroke]
    dense: list[tuple[float, float]] = []
    for start, end in zip(points, points[1:], strict=False):
        for t in np.linspace(0.0, 1.0, extra + 1, endpoint=False):
            dense.append((start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t))
    dense.append(points[-1])
    return dense


def jitter_strokes(
    strokes: Sequence[Stroke],
    rng: np.random.Generator,
    *,
    wobble: float = 0.03,
    slant: float = 0.0,
    squash: float = 1.0,
    rotation_degrees: float = 0.0,
) -> list[list[tuple[float, float]]]:
    """Strokes moved as a hand would: each point wobbled, the whole slanted (x += slant * (1 - y)), squashed in x and
    turned about the centre."""
    angle = np.deg2rad(rotation_degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    moved = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64)
        drift = rng.normal(0.0, wobble, (2, 2))  # a hand wanders smoothly from the template along the stroke
        along = np.linspace(0.0, 1.0, len(points))[:, None]
        points = points + drift[0] * (1 - along) + drift[1] * along + rng.normal(0.0, wobble / 4, points.shape)
        x = 0.5 + (points[:, 0] - 0.5) * squash + slant * (0.5 - points[:, 1])
        y = points[:, 1]
        cx, cy = x - 0.5, y - 0.5
        moved.append([(0.5 + cos * a - sin * b, 0.5 + sin * a + cos * b) for a, b in zip(cx, cy, strict=True)])
    return moved


def written_by_hand(
    strokes: Sequence[Stroke], rng: np.random.Generator, slant: float
) -> list[list[tuple[float, float]]]:
    """A pen program's strokes as a hand writes them: straight runs densified, wobbled, slanted by up to ``slant``
    either way, squashed and turned a little (:func:`jitter_strokes`), then smoothed (:func:`smooth_stroke`)."""
    moved = jitter_strokes(
        [densify(stroke) if len(stroke) < 6 else stroke for stroke in strokes],
        rng,
        wobble=float(rng.uniform(0.01, 0.035)),
        slant=float(rng.uniform(-slant, slant)),
        squash=float(rng.uniform(0.85, 1.1)),
        rotation_degrees=float(rng.uniform(-10, 10)),
    )
    return [smooth_stroke(stroke) for stroke in moved]


def draw_strokes(
    strokes: Sequence[Stroke],
    width: float,
    *,
    box: tuple[float, float, float, float] = (40, 30, 200, 220),
    smooth: bool = True,
    size: int = CANVAS,
) -> np.ndarray:
    """Round-capped black strokes on a white canvas (uint8, ``size`` square), as the window's pen draws them.

    ``box`` (x, y, w, h) in canvas pixels is where the unit square goes.
    """
    x0, y0, box_width, box_height = box
    paths = []
    for stroke in strokes:
        path = smooth_stroke(stroke) if smooth else list(stroke)
        paths.append(([(x0 + x * box_width, y0 + y * box_height) for x, y in path], width))
    return render_pen(paths, (size, size))


def render_pen(paths: Sequence[tuple[Sequence[tuple[float, float]], float]], shape: tuple[int, int]) -> np.ndarray:
    """Round-capped black pen paths ((pixel points, width) each) on white paper of ``shape`` (rows, columns), uint8."""
    picture = Image.new("L", (shape[1], shape[0]), 255)
    pen = ImageDraw.Draw(picture)
    for points, width in paths:
        points = list(points)
        radius = width / 2
        if len(points) > 1:
            pen.line(points, fill=0, width=max(1, round(width)), joint="curve")
        for px, py in (points[0], points[-1]) if len(points) > 1 else points:
            pen.ellipse((px - radius, py - radius, px + radius, py + radius), fill=0)
    return np.asarray(picture)


def draw_text(
    text: str,
    font_path: Path | str | None,
    *,
    height: int = 190,
    size: int = CANVAS,
    offset: tuple[int, int] = (0, 0),
    stroke_width: int = 0,
) -> np.ndarray | None:
    """``text`` printed in black on a white canvas (uint8); None when the font lacks the glyph (nothing drawn)."""
    try:
        font = ImageFont.truetype(str(font_path), height) if font_path else ImageFont.load_default(height)
    except OSError:
        return None
    picture = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(picture)
    left, top, right, bottom = pen.textbbox((0, 0), text, font=font, stroke_width=stroke_width)
    x = (size - (right - left)) / 2 - left + offset[0]
    y = (size - (bottom - top)) / 2 - top + offset[1]
    pen.text((x, y), text, fill=0, font=font, stroke_width=stroke_width, stroke_fill=0)
    canvas = np.asarray(picture)
    if (canvas < 128).sum() < 30:
        return None
    if _is_missing_glyph_box(canvas):
        return None
    return canvas


def _is_missing_glyph_box(canvas: np.ndarray) -> bool:
    """A font's "no such glyph" box: a hollow rectangle whose ink lies only on its frame."""
    ink = canvas < 128
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1], columns[0], columns[-1]
    if bottom - top < 10 or right - left < 10:
        return False
    inside = ink[top + 4 : bottom - 3, left + 4 : right - 3]
    return inside.size > 0 and inside.mean() < 0.01 and ink[top, left : right + 1].mean() > 0.9


def digit_on_canvas(image28: np.ndarray, rng: np.random.Generator, *, width_change: int = 0) -> np.ndarray:
    """An MNIST-style 28x28 drawn large on a white canvas, its strokes made thicker (width_change > 0) or thinner."""
    canvas = render_mnist_on_canvas(image28, CANVAS)
    if width_change:
        picture = Image.fromarray(canvas)
        kernel = 2 * abs(width_change) + 1
        picture = picture.filter(ImageFilter.MinFilter(kernel) if width_change > 0 else ImageFilter.MaxFilter(kernel))
        canvas = np.asarray(picture)
    return canvas


def as_photo(canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A white canvas with black ink as a photo of paper: grey uneven light, softer ink, blur, noise, a slight turn,
    JPEG."""
    ink = 1.0 - canvas.astype(np.float32) / 255.0
    picture = Image.fromarray(np.round(ink * 255).astype(np.uint8))
    picture = picture.rotate(float(rng.uniform(-8, 8)), resample=Image.Resampling.BILINEAR)
    picture = picture.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.6, 2.0))))
    ink = np.asarray(picture, dtype=np.float32) / 255.0
    height, width = ink.shape
    ramp_y, ramp_x = np.mgrid[0:height, 0:width].astype(np.float32) / max(height, width)
    paper = float(rng.uniform(0.62, 0.92)) + float(rng.uniform(-0.12, 0.12)) * (ramp_x - 0.5)
    paper = paper + float(rng.uniform(-0.1, 0.1)) * (ramp_y - 0.5)
    ink_level = float(rng.uniform(0.05, 0.35))
    photo = paper * (1.0 - ink) + ink_level * ink
    photo = photo + rng.normal(0.0, float(rng.uniform(0.005, 0.03)), photo.shape)
    encoded = Image.fromarray(np.round(np.clip(photo, 0, 1) * 255).astype(np.uint8))
    from io import BytesIO

    buffer = BytesIO()
    encoded.save(buffer, format="JPEG", quality=int(rng.integers(35, 90)))
    return np.asarray(Image.open(BytesIO(buffer.getvalue())).convert("L"))


def read_as_window(canvas: np.ndarray) -> np.ndarray | None:
    """The 28x28 the window would predict from ``canvas`` (uint8 or float gray), or None when it reads as blank."""
    return to_mnist(canvas).image
