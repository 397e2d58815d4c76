"""The evaluation report's pictures, drawn with Pillow (ml/ cannot use Qt, and matplotlib is not a dependency):
the confusion matrix, the reliability diagram, the robustness curves and a grid of the most confident mistakes.

Each function returns a PIL image; :mod:`ml.evaluation.report` writes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (255, 255, 255)
INK = (33, 37, 41)
GRID = (222, 226, 230)
MUTED = (108, 117, 125)
BLUE = (31, 119, 180)
ORANGE = (230, 120, 30)
RED = (200, 40, 40)
GREEN = (44, 160, 44)
CURVE_COLOURS = [BLUE, ORANGE, GREEN, RED, (148, 103, 189)]


def font(size: int = 13) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` pixels."""
    return ImageFont.load_default(size=size)


def text_width(draw: ImageDraw.ImageDraw, text: str, face) -> int:
    """Width in pixels of ``text`` in ``face``."""
    left, _, right, _ = draw.textbbox((0, 0), text, font=face)
    return int(right - left)


def _blend(low: tuple[int, int, int], high: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    amount = float(np.clip(amount, 0.0, 1.0))
    return tuple(int(round(a + (b - a) * amount)) for a, b in zip(low, high, strict=True))


def _ink_for(fill: tuple[int, int, int]) -> tuple[int, int, int]:
    return INK if sum(fill) > 420 else BACKGROUND


def draw_confusion(confusion: np.ndarray, class_names: Sequence[str], title: str) -> Image.Image:
    """A heat map of counts (rows: true class, columns: predicted): the diagonal in blue by its row's rate, the
    mistakes in red on a log scale of their count (so that a single error shows); each cell shows its count."""
    k = len(class_names)
    cell = max(28, min(56, 560 // max(k, 1)))
    label_face, cell_face, title_face = font(12), font(max(9, min(14, cell // 3))), font(15)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    names = [str(name)[:14] for name in class_names]
    left = 40 + max(text_width(probe, name, label_face) for name in names)
    top = 56
    width, height = left + k * cell + 24, top + k * cell + 70
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((16, 12), title, fill=INK, font=title_face)
    totals = np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    rates = confusion / totals
    largest_mistake = max(1, int((confusion - np.diag(np.diag(confusion))).max(initial=0)))
    for row in range(k):
        for column in range(k):
            x, y = left + column * cell, top + row * cell
            rate = float(rates[row, column])
            if row == column:
                fill = _blend((235, 243, 251), BLUE, rate)
            else:
                count = int(confusion[row, column])
                strength = 0.2 + 0.6 * np.log1p(count) / np.log1p(largest_mistake)  # every mistake shows
                fill = _blend(BACKGROUND, RED, strength) if count else BACKGROUND
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=fill, outline=GRID)
            count = int(confusion[row, column])
            if count:
                text = str(count)
                draw.text(
                    (x + (cell - text_width(draw, text, cell_face)) / 2, y + cell / 2 - 7),
                    text,
                    fill=_ink_for(fill),
                    font=cell_face,
                )
    for index, name in enumerate(names):
        draw.text(
            (left - 8 - text_width(draw, name, label_face), top + index * cell + cell / 2 - 7),
            name,
            fill=INK,
            font=label_face,
        )
        draw.text(
            (left + index * cell + (cell - text_width(draw, name, label_face)) / 2, top + k * cell + 6),
            name,
            fill=INK,
            font=label_face,
        )
    caption = "predicted class"
    draw.text(
        (left + (k * cell - text_width(draw, caption, label_face)) / 2, top + k * cell + 30),
        caption,
        fill=MUTED,
        font=label_face,
    )
    side = Image.new("RGB", (text_width(draw, "true class", label_face) + 4, 16), BACKGROUND)
    ImageDraw.Draw(side).text((2, 0), "true class", fill=MUTED, font=label_face)
    rotated = side.rotate(90, expand=True)
    image.paste(rotated, (6, top + (k * cell - rotated.height) // 2))
    return image


class _Axes:
    """A plot area mapping data coordinates to pixels, with a frame, grid and tick labels."""

    def __init__(self, draw, box, x_range, y_range) -> None:
        self.draw, self.box, self.x_range, self.y_range = draw, box, x_range, y_range

    def point(self, x: float, y: float) -> tuple[float, float]:
        left, top, right, bottom = self.box
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        return left + (x - x0) / (x1 - x0 or 1) * (right - left), bottom - (y - y0) / (y1 - y0 or 1) * (bottom - top)

    def frame(self, x_ticks, y_ticks, x_format="{:g}", y_format="{:.0%}") -> None:
        face = font(11)
        left, top, right, bottom = self.box
        for value in y_ticks:
            _, y = self.point(self.x_range[0], value)
            self.draw.line([left, y, right, y], fill=GRID)
            label = y_format.format(value)
            self.draw.text((left - 6 - text_width(self.draw, label, face), y - 7), label, fill=MUTED, font=face)
        for value in x_ticks:
            x, _ = self.point(value, self.y_range[0])
            self.draw.line([x, bottom, x, bottom + 4], fill=MUTED)
            label = x_format.format(value)
            self.draw.text((x - text_width(self.draw, label, face) / 2, bottom + 6), label, fill=MUTED, font=face)
        self.draw.rectangle(self.box, outline=MUTED)


def draw_reliability(panels: Sequence[tuple[str, object]], title: str) -> Image.Image:
    """One reliability diagram per (caption, :class:`~ml.inference.calibration.Reliability`) side by side: each
    bin's accuracy as a bar against the diagonal of perfect calibration, the gap shaded, the counts beneath."""
    panel_width, panel_height = 360, 380
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = max(24 + panel_width * len(panels), 32 + text_width(probe, title, font(15)))
    image = Image.new("RGB", (width, panel_height + 60), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((16, 12), title, fill=INK, font=font(15))
    for index, (caption, bins) in enumerate(panels):
        left = 64 + index * panel_width
        axes = _Axes(draw, (left, 70, left + panel_width - 84, 70 + 250), (0.0, 1.0), (0.0, 1.0))
        axes.frame([0, 0.2, 0.4, 0.6, 0.8, 1.0], [0, 0.25, 0.5, 0.75, 1.0], x_format="{:.1f}")
        edges = bins.edges
        for low, high, count, accuracy, confidence in zip(
            edges[:-1], edges[1:], bins.counts, bins.accuracy, bins.mean_confidence, strict=True
        ):
            if count == 0:
                continue
            x0, y_accuracy = axes.point(low, accuracy)
            x1, y_confidence = axes.point(high, confidence)
            _, base = axes.point(low, 0.0)
            draw.rectangle([x0 + 1, y_accuracy, x1 - 1, base], fill=_blend(BACKGROUND, BLUE, 0.75), outline=BLUE)
            gap_top, gap_bottom = sorted((y_accuracy, y_confidence))
            if gap_bottom - gap_top >= 1:
                draw.rectangle([x0 + 1, gap_top, x1 - 1, gap_bottom], fill=_blend(BACKGROUND, RED, 0.45))
        draw.line([axes.point(0, 0), axes.point(1, 1)], fill=MUTED, width=1)
        draw.text((left, 48), f"{caption}: ECE {100 * bins.ece:.2f} %", fill=INK, font=font(13))
        draw.text((left, 70 + 274), "confidence (top class)", fill=MUTED, font=font(11))
        counts = np.asarray(bins.counts, np.float64)
        if counts.sum() > 0:
            scale = np.log1p(counts) / np.log1p(counts.max())
            for low, high, height in zip(edges[:-1], edges[1:], scale, strict=True):
                x0, _ = axes.point(low, 0)
                x1, _ = axes.point(high, 0)
                draw.rectangle([x0 + 1, 70 + 318 - 26 * height, x1 - 1, 70 + 318], fill=GRID)
            draw.text((left, 70 + 322), "images per bin (log scale)", fill=MUTED, font=font(10))
    return image


def _dashed(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], colour, dash: float = 6.0) -> None:
    """A dashed polyline (Pillow draws only solid ones)."""
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        length = max(1e-9, float(np.hypot(x1 - x0, y1 - y0)))
        steps = np.arange(0.0, length, 2 * dash)
        for start in steps:
            stop = min(start + dash, length)
            draw.line(
                [
                    x0 + (x1 - x0) * start / length,
                    y0 + (y1 - y0) * start / length,
                    x0 + (x1 - x0) * stop / length,
                    y0 + (y1 - y0) * stop / length,
                ],
                fill=colour,
                width=2,
            )


def draw_robustness(
    curves: dict, units: dict[str, str], title: str, other: dict | None = None, ece: dict | None = None
) -> Image.Image:
    """One small chart per kind of shift: accuracy against the level (solid), the ECE of the probabilities shown
    there (``ece``, dashed), and a second model's accuracy (``other``, grey)."""
    kinds = list(curves)
    columns = min(3, max(1, len(kinds)))
    rows = (len(kinds) + columns - 1) // columns
    cell_width, cell_height = 330, 250
    image = Image.new("RGB", (24 + columns * cell_width, 48 + rows * cell_height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((16, 12), title, fill=INK, font=font(15))
    legend = [("accuracy", "solid")] + ([("ECE (calibration error)", "dashed")] if ece else [])
    legend += [("the other model's accuracy", "grey")] if other else []
    legend_x = 24 + columns * cell_width - 16 - sum(60 + text_width(draw, name, font(12)) for name, _ in legend)
    for name, style in legend:
        y = 20
        if style == "dashed":
            _dashed(draw, [(legend_x, y), (legend_x + 40, y)], INK)
        else:
            draw.line([legend_x, y, legend_x + 40, y], fill=MUTED if style == "grey" else INK, width=2)
        draw.text((legend_x + 46, y - 8), name, fill=INK, font=font(12))
        legend_x += 60 + text_width(draw, name, font(12))
    for index, kind in enumerate(kinds):
        column, row = index % columns, index // columns
        left, top = 70 + column * cell_width, 78 + row * cell_height
        levels = [level for level, _ in curves[kind]]
        axes = _Axes(
            draw,
            (left, top, left + cell_width - 100, top + cell_height - 90),
            (min(levels), max(levels) if max(levels) > min(levels) else min(levels) + 1),
            (0.0, 1.0),
        )
        ticks = list(dict.fromkeys(levels[:: max(1, len(levels) // 5)] + [levels[-1]]))
        axes.frame(ticks, [0, 0.5, 1.0])
        draw.text((left, top - 22), f"{kind} ({units.get(kind, '')})", fill=INK, font=font(13))
        colour = CURVE_COLOURS[index % 5]
        if other and other.get(kind):
            draw.line([axes.point(level, value) for level, value in other[kind]], fill=MUTED, width=2)
        if ece and ece.get(kind):
            _dashed(draw, [axes.point(level, value) for level, value in ece[kind]], colour)
        points = [axes.point(level, accuracy) for level, accuracy in curves[kind]]
        draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
    return image


def draw_mistakes(images: np.ndarray, captions: Sequence[str], title: str, columns: int = 8) -> Image.Image:
    """A grid of images (n, h, w) in [0, 1], each enlarged to 84 px with nearest pixels, captioned beneath."""
    thumb, caption_height = 84, 30
    columns = max(1, min(columns, len(images))) if len(images) else 1
    rows = (len(images) + columns - 1) // columns
    cell_width = thumb + 20
    image = Image.new("RGB", (24 + columns * cell_width, 48 + max(rows, 1) * (thumb + caption_height + 8)), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((16, 12), title, fill=INK, font=font(15))
    if not len(images):
        draw.text((16, 48), "No mistakes: every image was classified correctly.", fill=MUTED, font=font(13))
    face = font(11)
    for index, (picture, caption) in enumerate(zip(images, captions, strict=True)):
        column, row = index % columns, index // columns
        x, y = 16 + column * cell_width, 44 + row * (thumb + caption_height + 8)
        pixels = (np.clip(np.asarray(picture, np.float32), 0, 1) * 255).astype(np.uint8)
        tile = Image.fromarray(pixels, mode="L").resize((thumb, thumb), Image.Resampling.NEAREST)
        image.paste(tile.convert("RGB"), (x, y))
        for line_index, line in enumerate(caption.split("\n")[:2]):
            draw.text((x, y + thumb + 2 + 13 * line_index), line, fill=INK if line_index == 0 else RED, font=face)
    return image


def draw_message(title: str, message: str) -> Image.Image:
    """A small picture that only says something (a report part that was not measured)."""
    image = Image.new("RGB", (640, 90), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((16, 12), title, fill=INK, font=font(15))
    draw.text((16, 48), message, fill=MUTED, font=font(13))
    return image
