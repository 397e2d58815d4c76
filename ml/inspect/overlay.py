"""Evidence drawn over the 28x28 digit as a PNG: orange for the class, blue against it (the window's colours)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ml.atomic_files import write_bytes_atomically

FOR_RGB = (234, 88, 12)  # evidence for the class (app.common.evidence.FOR_COLOR)
AGAINST_RGB = (37, 99, 235)  # evidence against it (AGAINST_COLOR)
FAINT = 0.15  # evidence under this share of its maximum is not drawn, so the digit stays readable
OPACITY = 0.75
SCALE = 10  # each of the 28x28 pixels becomes a 10x10 block
CAPTION_HEIGHT = 22


def overlay_rgb(
    image28: np.ndarray, positive: np.ndarray, negative: np.ndarray, opacity: float = OPACITY
) -> np.ndarray:
    """(28, 28, 3) uint8: the grey digit with the stronger of the two evidences blended over each pixel."""
    digit = np.clip(np.asarray(image28, dtype=np.float32), 0.0, 1.0)
    base = np.repeat((digit * 200.0 + 20.0)[..., None], 3, axis=-1)  # ink light grey, paper near black
    strength_for, strength_against = _unit(positive), _unit(negative)
    against_wins = strength_against > strength_for
    strength = np.where(against_wins, strength_against, strength_for)
    alpha = (np.clip((strength - FAINT) / (1.0 - FAINT), 0.0, 1.0) * float(np.clip(opacity, 0.0, 1.0)))[..., None]
    colour = np.where(against_wins[..., None], np.array(AGAINST_RGB, np.float32), np.array(FOR_RGB, np.float32))
    return np.round(base * (1.0 - alpha) + colour * alpha).astype(np.uint8)


def _unit(values: np.ndarray) -> np.ndarray:
    array = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0).clip(0.0, None)
    top = float(array.max()) if array.size else 0.0
    return array / top if top > 0 else np.zeros_like(array)


def overlay_image(image28: np.ndarray, positive: np.ndarray, negative: np.ndarray, caption: str) -> Image.Image:
    """The overlay upscaled with crisp pixels (280x280), a caption and a for/against key below it."""
    pixels = overlay_rgb(image28, positive, negative)
    side = pixels.shape[0] * SCALE
    picture = Image.new("RGB", (side, side + CAPTION_HEIGHT), (255, 255, 255))
    picture.paste(Image.fromarray(pixels, "RGB").resize((side, side), Image.Resampling.NEAREST), (0, 0))
    draw = ImageDraw.Draw(picture)
    top = side + 5
    draw.text((6, top), caption, fill=(30, 30, 30))
    key_left = side - 118
    draw.rectangle((key_left, top + 1, key_left + 10, top + 11), fill=FOR_RGB)
    draw.text((key_left + 14, top), "for", fill=(30, 30, 30))
    draw.rectangle((key_left + 44, top + 1, key_left + 54, top + 11), fill=AGAINST_RGB)
    draw.text((key_left + 58, top), "against", fill=(30, 30, 30))
    return picture


def write_png_atomically(picture: Image.Image, path: Path) -> Path:
    """Save ``picture`` as ``path`` through a temporary file in the same folder, so no half-written PNG is left."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return write_bytes_atomically(path, buffer.getvalue())
