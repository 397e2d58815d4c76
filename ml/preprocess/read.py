"""Open image files safely: allowed decoders only, regular files only, a pixel limit."""

from __future__ import annotations

import contextlib
import io
import math
import os
import stat
import typing
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ml.errors import ImageReadError
from ml.preprocess.gray import limit_size, reduced_pixels
from ml.regular_files import file_kind

READ_MAX_SIDE = 2048
ALLOWED_IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
"""The only decoders Digit Lab lets Pillow use: none of them runs an external program (EPS runs Ghostscript)."""
ALLOWED_FORMATS_TEXT = "PNG, JPEG, BMP, GIF, TIFF, WebP and PPM/PGM/PBM"
MAX_IMAGE_PIXELS = 100_000_000
"""Digit Lab's own limit on the pixels it decodes (10000x10000): at most ~0.4 GB decoded, well under 1 GB peak."""
_SIGNATURES = (  # (offset, magic bytes, name) of formats Digit Lab refuses, to name them in the message
    (0, b"%!PS-Adobe", "PostScript (EPS)"),
    (0, b"%!", "PostScript"),
    (0, b"\xc5\xd0\xd3\xc6", "PostScript (DOS EPS)"),
    (0, b"%PDF", "PDF"),
    (0, b"\x00\x00\x01\x00", "ICO (Windows icon)"),
    (0, b"\x00\x00\x02\x00", "CUR (Windows cursor)"),
    (0, b"icns", "ICNS (macOS icon)"),
    (0, b"8BPS", "PSD (Photoshop)"),
    (0, b"\x01\xda", "SGI"),
    (0, b"#define", "XBM"),
    (0, b"/* XPM */", "XPM"),
    (0, b"gimp xcf", "XCF (GIMP)"),
    (0, b"DDS ", "DDS"),
    (0, b"\x59\xa6\x6a\x95", "Sun raster"),
    (0, b"qoif", "QOI"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (0, b"SIMPLE  =", "FITS"),
    (0, b"BLP", "BLP"),
    (0, b"<svg", "SVG"),
    (0, b"<?xml", "XML (perhaps SVG)"),
    (4, b"ftypavif", "AVIF"),
    (4, b"ftyphei", "HEIF"),
    (4, b"ftypmif1", "HEIF"),
    (0, b"PK\x03\x04", "a zip archive"),
    (0, b"\x89HDF", "HDF5 (perhaps a model file)"),
)


def read_image(source: str | os.PathLike | bytes, *, max_side: int | None = READ_MAX_SIDE) -> np.ndarray:
    """Read an image file or encoded bytes into a 2-D float32 array in [0, 1] (1 = white).

    Only the formats in ``ALLOWED_IMAGE_FORMATS`` are decoded, only regular files are opened, and big images
    are reduced band by band while decoding, so no file can run a program, block or take gigabytes.
    """
    return _read(source, max_side, color=False)


def read_image_rgb(source: str | os.PathLike | bytes, *, max_side: int | None = READ_MAX_SIDE) -> np.ndarray:
    """:func:`read_image` in colour: an (H, W, 3) float32 array in [0, 1] (alpha dropped, as for a dataset)."""
    return _read(source, max_side, color=True)


def _read(source: str | os.PathLike | bytes, max_side: int | None, *, color: bool) -> np.ndarray:
    name = _describe_source(source)
    try:
        with _open_source(source, name) as handle, _open_allowed(handle, name) as image:
            if max_side:
                image.draft(None, _draft_size(image.size, max_side))  # JPEG decodes at 1/2, 1/4 or 1/8 size
            _check_pixel_count(image, name)
            image.load()
            pixels = reduced_pixels(image, max_side, color)
    except ImageReadError:
        raise
    except Image.DecompressionBombError:
        raise ImageReadError(
            f"Cannot read {name}: the image is far too large (hundreds of megapixels); Digit Lab opens images "
            f"of up to {MAX_IMAGE_PIXELS / 1e6:g} megapixels."
        ) from None
    except MemoryError:
        raise ImageReadError(f"Cannot read {name}: not enough memory to open it.") from None
    except Exception as error:  # Pillow's decoders raise many types (OSError, SyntaxError, struct.error, ...)
        raise ImageReadError(f"Cannot read {name}: the file is truncated or damaged ({error}).") from None
    if max_side and not color:
        return limit_size(pixels, max_side)
    if max_side:
        return np.stack([limit_size(pixels[..., channel], max_side) for channel in range(3)], axis=-1)
    return pixels


@contextlib.contextmanager
def _open_source(source: str | os.PathLike | bytes, name: str) -> Iterator[typing.BinaryIO]:
    """The bytes, or the file opened without blocking and checked to be a regular file before any read."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(source))
        return
    try:
        descriptor = os.open(os.fspath(source), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ImageReadError(f"Cannot read {name}: there is no such file.") from None
    except IsADirectoryError:
        raise ImageReadError(f"Cannot read {name}: it is a folder, not an image file.") from None
    except PermissionError:
        raise ImageReadError(f"Cannot read {name}: permission denied.") from None
    except OSError as error:
        raise ImageReadError(f"Cannot read {name}: {error.strerror or error}.") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        if stat.S_ISDIR(mode):
            raise ImageReadError(f"Cannot read {name}: it is a folder, not an image file.")
        raise ImageReadError(f"Cannot read {name}: it is not a regular file ({file_kind(mode)}).")
    if hasattr(os, "set_blocking"):
        os.set_blocking(descriptor, True)
    with os.fdopen(descriptor, "rb") as handle:
        yield handle


def _open_allowed(handle: typing.BinaryIO, name: str) -> Image.Image:
    """Open with the allowed decoders only; anything else is refused, naming what it seems to be."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # Digit Lab applies its own limit
            return Image.open(handle, formats=ALLOWED_IMAGE_FORMATS)
    except UnidentifiedImageError:
        pass
    handle.seek(0)
    detected = identify_format(handle.read(64))
    if detected is None:
        raise ImageReadError(
            f"Cannot read {name}: not an image file (or it is damaged). Digit Lab reads {ALLOWED_FORMATS_TEXT}."
        )
    raise ImageReadError(
        f"Cannot read {name}: it is {detected}, not an image format Digit Lab opens. "
        f"Digit Lab reads {ALLOWED_FORMATS_TEXT}; convert the file to PNG first."
    )


def identify_format(header: bytes) -> str | None:
    """The name of a refused format from a file's first bytes, by signature alone (nothing is decoded)."""
    for offset, magic, format_name in _SIGNATURES:
        if header[offset : offset + len(magic)] == magic:
            return format_name
    if len(header) >= 18 and header[0] == 0x0A and header[1] in (0, 2, 3, 4, 5) and header[2] == 1:
        return "PCX"
    return None


def _draft_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The smallest size with the image's shape whose longer side is ``max_side`` (draft keeps at least this)."""
    scale = min(1.0, max_side / max(size))
    return max(1, math.ceil(size[0] * scale)), max(1, math.ceil(size[1] * scale))


def _check_pixel_count(image: Image.Image, name: str) -> None:
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageReadError(
            f"Cannot read {name}: the image is {width}x{height} pixels ({width * height / 1e6:.3g} megapixels); "
            f"Digit Lab opens images of up to {MAX_IMAGE_PIXELS / 1e6:g} megapixels. Scale it down first."
        )


def _describe_source(source: object) -> str:
    if isinstance(source, bytes | bytearray | memoryview):
        return "the image data"
    try:
        return f"'{Path(os.fspath(source)).name}'"  # type: ignore[arg-type]
    except TypeError:
        return repr(source)
