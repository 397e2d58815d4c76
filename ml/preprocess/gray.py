"""Pixels to gray: any decoded image or array as 2-D float32 in [0, 1], reduced band by band."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image

from ml.preprocess.colour import ink_by_colour, luma_may_hide_ink

_BAND_BYTES = 16 * 1024 * 1024
"""Full-size images are converted and reduced in bands of about this size, never as a whole-image copy."""
_NUMERIC_MODES = ("I", "F", "I;16", "I;16L", "I;16B", "I;16N", "I;16S")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_GRAY_MODES = ("1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N", "I;16S")
_EXIF_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def reduced_pixels(image: Image.Image, max_side: int | None, color: bool) -> np.ndarray:
    """The loaded image as float32 gray (or RGB), box-reduced while converting so no full-size copy is made."""
    factor = max(1, max(image.size) // max_side) if max_side else 1
    transpose = _EXIF_TRANSPOSES.get(_exif_orientation(image))
    if image.mode in _NUMERIC_MODES:
        gray = _stretch(_block_means(image, factor))
        if transpose is not None:
            gray = np.asarray(Image.fromarray(gray, mode="F").transpose(transpose), dtype=np.float32)
        return np.repeat(gray[..., None], 3, axis=-1) if color else gray
    has_alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
    target = "RGB" if color else ("RGBA" if has_alpha else "L")
    reduced = _reduce_in_bands(image, target, factor)
    if transpose is not None:
        reduced = reduced.transpose(transpose)
    pixels = np.asarray(reduced, dtype=np.float32) / np.float32(255.0)
    if target == "RGBA":
        luminance = composite_on_paper(_luma(pixels[..., :3]), pixels[..., 3])
        opaque = float(pixels[..., 3].min()) >= 0.99
        return _or_by_colour(luminance, lambda: pixels[..., :3]) if opaque else luminance
    if color or image.mode in _GRAY_MODES:
        return pixels

    def colours() -> np.ndarray:
        rgb = _reduce_in_bands(image, "RGB", factor)
        return np.asarray(rgb if transpose is None else rgb.transpose(transpose))

    return _or_by_colour(pixels, colours)


def _or_by_colour(luminance: np.ndarray, colours: Callable[[], np.ndarray]) -> np.ndarray:
    """``luminance``, or the gray by colour (:func:`ink_by_colour`) when the luma hides ink that the colours
    (``colours()``, an (H, W, 3) uint8 or float array, fetched only then) show."""
    if not luma_may_hide_ink(luminance):
        return luminance
    by_colour = ink_by_colour(colours(), luminance)
    return luminance if by_colour is None else by_colour


def _exif_orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block should not stop the picture itself from being read
        return 1


def _band_rows(image: Image.Image, factor: int, bytes_per_pixel: int) -> int:
    """Rows per band: a multiple of ``factor`` holding about ``_BAND_BYTES``."""
    rows = max(1, _BAND_BYTES // max(1, image.size[0] * bytes_per_pixel))
    return max(factor, rows - rows % factor)


def _reduce_in_bands(image: Image.Image, target: str, factor: int) -> Image.Image:
    """``image.convert(target).reduce(factor)``, one band at a time (alpha is premultiplied by reduce).

    Where converting commutes with averaging (the same mode, or only copying channels), bands are reduced before
    they are converted, and an image without alpha is reduced whole, straight from its pixels (no copy at all)."""
    width, height = image.size
    if factor == 1 and height * width * 4 <= _BAND_BYTES:
        return _converted(image, target)
    commutes = factor > 1 and _conversion_commutes(image, target)
    if commutes and image.mode not in _ALPHA_MODES:  # Pillow premultiplies alpha into a whole-image copy first
        return _converted(image.reduce(factor), target)
    reduced = Image.new(target, (math.ceil(width / factor), math.ceil(height / factor)))
    rows = _band_rows(image, factor, 4)
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(height, top + rows)))
        if not commutes and band.mode != target:
            band = _converted(band, target)
        if factor > 1:
            band = band.reduce(factor)
        reduced.paste(band if band.mode == target else _converted(band, target), (0, top // factor))
    return reduced


_CHANNEL_COPIES = (("LA", "RGBA"), ("L", "RGB"))
"""Conversions that copy channels only, so averaging before or after gives the same pixels (RGBA to RGB does not:
reduce weighs colour by alpha)."""


def _conversion_commutes(image: Image.Image, target: str) -> bool:
    if "transparency" in image.info:  # a transparent colour key is not an average
        return False
    return image.mode == target or (image.mode, target) in _CHANNEL_COPIES


def _converted(image: Image.Image, target: str) -> Image.Image:
    if image.mode == target:
        return image.copy()
    try:
        return image.convert(target)
    except ValueError:  # no direct conversion (e.g. LAB, HSV): go through RGB
        return image.convert("RGBA" if "A" in image.mode else "RGB").convert(target)


def _block_means(image: Image.Image, factor: int) -> np.ndarray:
    """Means of ``factor`` x ``factor`` blocks of a 16/32-bit integer or float image, in float64 per band."""
    width, height = image.size
    columns = np.arange(0, width, factor)
    column_counts = np.diff(np.append(columns, width))
    means = np.empty((math.ceil(height / factor), len(columns)), dtype=np.float64)
    rows = _band_rows(image, factor, 8)
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(height, top + rows)))
        values = np.asarray(band.convert("I") if band.mode.startswith("I;16") else band)
        starts = np.arange(0, values.shape[0], factor)
        row_counts = np.diff(np.append(starts, values.shape[0]))
        row_sums = np.add.reduceat(values, starts, axis=0, dtype=np.float64)  # float64 sums, no float64 copy
        sums = np.add.reduceat(row_sums, columns, axis=1)
        means[top // factor : top // factor + len(starts)] = sums / np.outer(row_counts, column_counts)
    return means


def image_to_gray(image: Image.Image) -> np.ndarray:
    """Any Pillow image as 2-D float32 gray in [0, 1]; transparency is composited onto the paper colour."""
    mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        return composite_on_paper(_luma(rgba[..., :3]), rgba[..., 3])
    if mode in ("I", "F") or mode.startswith("I;16"):
        values = np.asarray(image.convert("I") if mode.startswith("I;16") else image)
        return _stretch(values.astype(np.float64))
    try:
        gray = image.convert("L")
    except ValueError:
        gray = image.convert("RGB").convert("L")
    return np.asarray(gray, dtype=np.float32) / np.float32(255.0)


def composite_on_paper(luminance: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Blend transparent pixels into the paper: the opaque part's own paper (also a sticker's or a badge's, which
    holds marks of another shade), or a colour contrasting the ink."""
    if alpha.size == 0 or float(alpha.min()) >= 0.99:
        return luminance.astype(np.float32)
    opaque = alpha > 0.5
    if opaque.mean() >= 0.5:
        paper = float(np.median(luminance[opaque]))
    elif (shape_paper := _opaque_shape_paper(luminance, opaque)) is not None:
        paper = shape_paper
    else:
        coverage = float(alpha.sum())
        ink = float((luminance * alpha).sum()) / coverage if coverage > 0 else 0.0
        paper = 1.0 if ink < 0.5 else 0.0
    return (alpha * luminance + (1.0 - alpha) * np.float32(paper)).astype(np.float32)


_SHAPE_PAPER_TOLERANCE = 0.1
"""An opaque pixel within this of its shape's outline shade is the shape's paper."""
_SHAPE_MARK_CONTRAST = 0.25
"""A pixel inside the shape at least this far from the outline's shade is a mark on it (a digit on a sticker)."""
_SHAPE_MARK_SHARE = 0.01
"""...and such marks make up at least this share of the shape (not a stray pixel of another shade)."""


def _opaque_shape_paper(luminance: np.ndarray, opaque: np.ndarray) -> float | None:
    """The shade of an opaque shape on transparency that is itself paper: a sticker or badge whose outline is one
    shade, most of whose pixels share it, and which holds marks of another shade inside; None for ink alone (strokes
    on transparency are one shade with nothing inside them, or not mostly their outline's shade)."""
    inner = opaque.copy()
    inner[1:-1, 1:-1] &= opaque[:-2, 1:-1] & opaque[2:, 1:-1] & opaque[1:-1, :-2] & opaque[1:-1, 2:]
    outline = opaque & ~inner  # opaque pixels beside a transparent one (the frame does not count)
    if not outline.any() or not inner.any():
        return None
    level = float(np.median(luminance[outline]))
    if np.mean(np.abs(luminance[outline] - level) <= _SHAPE_PAPER_TOLERANCE) < 0.8:
        return None  # an outline of many shades: a picture or a gradient, not a plain shape
    if np.mean(np.abs(luminance[opaque] - level) <= _SHAPE_PAPER_TOLERANCE) < 0.5:
        return None  # mostly another shade than its outline: ink (a thick stroke's light rim, a gradient)
    marks = np.count_nonzero(np.abs(luminance[inner] - level) >= _SHAPE_MARK_CONTRAST)
    return level if marks >= _SHAPE_MARK_SHARE * np.count_nonzero(opaque) else None


def to_gray(image: np.ndarray) -> np.ndarray:
    """A 2-D gray, HxWx1, HxWx2 (LA), HxWx3 (RGB) or HxWx4 (RGBA) array of any real dtype as float32 in [0, 1]."""
    array = np.asarray(image)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"Cannot use an image array of dtype {array.dtype}; expected numbers.")
    if array.size == 0:
        raise ValueError(f"Cannot use an empty image array (shape {array.shape}).")
    if array.ndim == 3 and array.shape[2] in (1, 2, 3, 4):
        channels = array.shape[2]
        if channels == 3 and array.dtype == np.uint8:
            luminance = np.asarray(Image.fromarray(np.ascontiguousarray(array)).convert("L"), np.float32) / 255.0
            return _or_by_colour(luminance, lambda: array)
        values = _normalize_values(array)
        if channels == 1:
            return values[..., 0].copy()
        if channels == 2:
            return composite_on_paper(values[..., 0], values[..., 1])
        luminance = _luma(values[..., :3])
        if channels == 4 and float(values[..., 3].min()) < 0.99:
            return composite_on_paper(luminance, values[..., 3])
        return _or_by_colour(luminance, lambda: values[..., :3])
    if array.ndim != 2:
        raise ValueError(f"Cannot use an image array of shape {array.shape}; expected HxW, HxWx3 or HxWx4.")
    return _normalize_values(array)


def limit_size(gray: np.ndarray, max_side: int) -> np.ndarray:
    """Box-downscale a gray image so its longer side is at most ``max_side`` (unchanged when smaller)."""
    height, width = gray.shape
    if max(height, width) <= max_side:
        return gray
    factor = max_side / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    picture = Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32), mode="F")
    return np.asarray(picture.resize(size, Image.Resampling.BOX, reducing_gap=2.0), dtype=np.float32)


def _luma(rgb: np.ndarray) -> np.ndarray:
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (rgb.astype(np.float32, copy=False) @ weights).astype(np.float32, copy=False)


def _normalize_values(array: np.ndarray) -> np.ndarray:
    """Map an array of any real dtype to float32 in [0, 1]: uint8 and bool as is, others by their range."""
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.float32) * np.float32(1.0 / 255.0)
    if array.dtype.kind == "f":
        low, high = float(array.min()), float(array.max())  # NaN if any value is NaN
        if 0.0 <= low and high <= 1.0:
            return array.astype(np.float32)
    values = array.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        fill = float(np.median(values[finite])) if finite.any() else 0.0
        values = np.where(finite, values, fill)
    low, high = float(values.min()), float(values.max())
    if array.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        return values.astype(np.float32)
    if array.dtype.kind in "iu" and low >= 0 and high <= 255:
        return (values / 255.0).astype(np.float32)
    return _stretch(values)


def _stretch(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape, dtype=np.float32)
    largest = float(np.abs(values[finite]).max())
    if largest > 0:
        values = values / largest  # finite values now in [-1, 1]: no overflow below
    if not finite.all():
        values = np.where(finite, values, float(np.median(values[finite])))
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.full(values.shape, 1.0 if high > 0 else 0.0, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)
