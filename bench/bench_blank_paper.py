"""Ink detection on photographed paper: false digits on blank sheets, and missed digits on real ones.

Generates blank sheets (grey paper, lighting gradients, vignetting, sensor noise, shadows, JPEG artefacts) and
digit images (MNIST test digits rendered on such paper, thin pen strokes, light pencil, photographed canvases), runs
each through ``ml.preprocess.pipeline.preprocess_file`` (what ``digitlab predict`` and the window's Open do) and
prints how often a blank sheet yields a digit and how often a digit is reported blank: as shipped, and in the same
run without the second reading against the local paper model (``estimate_local_background``, tried when the
quadratic paper finds nothing or only faint ink), with the time per image of each.

    python bench/bench_blank_paper.py [--blank 240] [--digits 600] [--seed 0]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ml.preprocess.pipeline as pipeline  # noqa: E402
from ml.assets import bundled_mnist_path  # noqa: E402
from ml.preprocess.pipeline import preprocess_file, render_mnist_on_canvas, to_mnist  # noqa: E402


def lighting(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A sheet's brightness: a paper level, a linear gradient, some vignetting and maybe a soft shadow."""
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    rows, columns = rows / max(height - 1, 1) - 0.5, columns / max(width - 1, 1) - 0.5
    level = rng.uniform(0.45, 0.92)
    angle = rng.uniform(0, 2 * np.pi)
    gradient = rng.uniform(0.0, 0.3) * (np.cos(angle) * columns + np.sin(angle) * rows)
    vignette = -rng.uniform(0.0, 0.25) * (rows**2 + columns**2) * 2
    sheet = level + gradient + vignette
    if rng.random() < 0.35:  # a hand's or phone's shadow: a soft dark half-plane from one side
        shadow_angle = rng.uniform(0, 2 * np.pi)
        distance = np.cos(shadow_angle) * columns + np.sin(shadow_angle) * rows - rng.uniform(0.1, 0.45)
        softness = rng.uniform(0.03, 0.15)
        sheet = sheet - rng.uniform(0.05, 0.2) / (1 + np.exp(-distance / softness))
    return sheet.astype(np.float32)


def photographed(rng: np.random.Generator, ink: np.ndarray, contrast: float) -> bytes:
    """``ink`` (0..1 coverage) on a lit sheet with noise, as PNG or JPEG bytes."""
    height, width = ink.shape
    sheet = lighting(rng, height, width)
    picture = sheet * (1.0 - contrast * ink) + rng.normal(0.0, rng.uniform(0.002, 0.03), ink.shape)
    pixels = np.clip(np.round(picture * 255.0), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    if rng.random() < 0.4:  # colour paper, as from a phone
        tint = rng.uniform(0.9, 1.0, 3)
        image = Image.fromarray(np.clip(pixels[..., None] * tint, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    if rng.random() < 0.5:
        image.convert("RGB").save(buffer, format="JPEG", quality=int(rng.integers(50, 95)))
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def sheet_size(rng: np.random.Generator) -> tuple[int, int]:
    side = int(rng.integers(200, 700))
    aspect = rng.uniform(0.7, 1.4)
    return side, max(64, int(side * aspect))


def blank_sheets(rng: np.random.Generator, count: int) -> list[tuple[str, bytes]]:
    """Photos of paper with nothing on it."""
    return [("blank", photographed(rng, np.zeros(sheet_size(rng), np.float32), 0.0)) for _ in range(count)]


def mnist_on_paper(rng: np.random.Generator, digit: np.ndarray) -> np.ndarray:
    """An MNIST digit painted somewhere on a sheet, as ink coverage."""
    height, width = sheet_size(rng)
    side = int(min(height, width) * rng.uniform(0.25, 0.8))
    x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
    canvas = np.zeros((height, width), np.float32)
    scaled = Image.fromarray(np.ascontiguousarray(digit), mode="F").resize((side, side), Image.Resampling.BICUBIC)
    canvas[y : y + side, x : x + side] = np.clip(np.asarray(scaled), 0.0, 1.0)
    return canvas


def pen_digit(rng: np.random.Generator) -> np.ndarray:
    """A 1, 7, 0 or 4 drawn with a thin pen (1-4 px) on a sheet, as ink coverage."""
    height, width = sheet_size(rng)
    picture = Image.new("L", (width, height), 0)
    pen = ImageDraw.Draw(picture)
    side = min(height, width) * rng.uniform(0.3, 0.7)
    x0, y0 = rng.uniform(0, width - side * 0.7), rng.uniform(0, height - side)
    stroke = int(rng.integers(1, 5))
    shape = rng.integers(0, 4)
    if shape == 0:
        pen.line([(x0 + side * 0.35, y0), (x0 + side * 0.3, y0 + side)], fill=255, width=stroke)
    elif shape == 1:
        pen.line([(x0, y0), (x0 + side * 0.6, y0), (x0 + side * 0.25, y0 + side)], fill=255, width=stroke)
    elif shape == 2:
        pen.ellipse((x0, y0, x0 + side * 0.6, y0 + side), outline=255, width=stroke)
    else:
        pen.line([(x0 + side * 0.4, y0 + side), (x0 + side * 0.4, y0), (x0, y0 + side * 0.65)], fill=255, width=stroke)
        pen.line([(x0, y0 + side * 0.65), (x0 + side * 0.6, y0 + side * 0.65)], fill=255, width=stroke)
    if rng.random() < 0.5:
        picture = picture.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return np.asarray(picture, dtype=np.float32) / 255.0


def digit_images(rng: np.random.Generator, count: int) -> list[tuple[str, bytes, np.ndarray]]:
    """Digits on paper (MNIST on photographed sheets, dark ink and light pencil; thin pens; clean canvases).

    Each comes with its clean ink (white on black), whose MNIST-style image is what the photo should give.
    """
    with np.load(bundled_mnist_path()) as archive:
        digits = archive["x_test"].astype(np.float32) / 255.0
    images: list[tuple[str, bytes, np.ndarray]] = []
    for index in range(count):
        kind = ("mnist photo", "light pencil", "thin pen", "clean canvas")[index % 4]
        digit = digits[int(rng.integers(0, len(digits)))]
        if kind in ("mnist photo", "light pencil"):
            ink = mnist_on_paper(rng, digit)
            contrast = rng.uniform(0.4, 0.9) if kind == "mnist photo" else rng.uniform(0.12, 0.3)
            images.append((kind, photographed(rng, ink, contrast), ink))
        elif kind == "thin pen":
            ink = pen_digit(rng)
            images.append((kind, photographed(rng, ink, rng.uniform(0.3, 0.9)), ink))
        else:
            buffer = io.BytesIO()
            Image.fromarray(render_mnist_on_canvas(digit)).save(buffer, format="PNG")
            images.append((kind, buffer.getvalue(), digit))
    return images


def found_the_digit(image: np.ndarray, ink: np.ndarray) -> bool:
    """Whether the MNIST-style image is the digit: close to what its clean ink gives (correlation over 0.6)."""
    reference = to_mnist(ink).image
    if reference is None:
        return False
    return float(np.corrcoef(image.ravel(), reference.ravel())[0, 1]) > 0.6


def main() -> None:
    """Generate both sets, preprocess each image and print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blank", type=int, default=240, help="blank sheets (default 240)")
    parser.add_argument("--digits", type=int, default=600, help="digit images (default 600)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    blanks = blank_sheets(rng, args.blank)
    digits = digit_images(rng, args.digits)
    shipped = pipeline._or_on_local_paper
    for label, second_reading in (("as shipped", shipped), ("without the local paper", lambda result, *_: result)):
        pipeline._or_on_local_paper = second_reading
        try:
            report(label, blanks, digits, args.seed)
        finally:
            pipeline._or_on_local_paper = shipped


def report(label: str, blanks: list[tuple[str, bytes]], digits: list[tuple[str, bytes, np.ndarray]], seed: int) -> None:
    """Read every image and print the rates and the time per image."""
    start = time.perf_counter()
    false_digits = sum(not preprocess_file(data).blank for _, data in blanks)
    missed: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for kind, data, ink in digits:
        totals[kind] += 1
        result = preprocess_file(data)
        if result.blank:
            missed[kind] += 1
        elif not found_the_digit(result.image, ink):
            wrong[kind] += 1
    elapsed = time.perf_counter() - start
    print(f"{label}:")
    print(f"blank sheets: {false_digits}/{len(blanks)} read as a digit ({false_digits / len(blanks):.1%})")
    total_missed, total_wrong = sum(missed.values()), sum(wrong.values())
    print(f"digit images: {total_missed}/{len(digits)} missed ({total_missed / len(digits):.1%}), ", end="")
    print(f"{total_wrong} found something else (shading, not the digit)")
    for kind in totals:
        print(f"  {kind:13s} {missed[kind]}/{totals[kind]} missed, {wrong[kind]} something else")
    print(f"{elapsed / (len(blanks) + len(digits)) * 1e3:.1f} ms per image (seed {seed})")


if __name__ == "__main__":
    main()
