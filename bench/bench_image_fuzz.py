"""Hostile images: a generated corpus through ``preprocess_file`` (what ``digitlab predict`` calls) and a sample of it
through ``digitlab predict --json``.

Each file is read in a forked child (``--jobs`` at a time) with a timeout, so a hang or a crash is counted instead of
stopping the run; the child's peak RSS comes from ``os.wait4``. Categories: valid images in every allowed format and
many modes (1x1 to 3000x3000, EXIF-rotated), corrupt and truncated files, pure random bytes under every image suffix,
broken EXIF blocks (garbage, self-referencing and 2,000-long IFD chains, 65,535-entry IFDs, mistyped and
out-of-range orientations, broken MPF indexes), float TIFFs full of NaN and inf, animated GIF/APNG/WebP and
multi-page TIFF with up to 1,000 frames, decompression-bomb headers of every format (up to 2^31 pixels a side in a
few bytes, and real zlib bombs), refused formats under ``.png`` names (PostScript that writes a marker file or loops
forever, PDF, ICO, PSD, ...), giant images (10000x10000 LA/RGBA/I;16 PNG, F/I TIFF, 13000x13000 RGBA) and paths
that are not regular files. A sample (``--cli-sample``) then goes through ``digitlab predict --json`` in a few child
processes of many files each, and each file's outcome there is compared with the reader's.

Prints one row per category: cases, accepted, refused with a clear message, crashes (any other exception, a dead
child, or a model input that is not 28x28 in [0, 1]), hangs (killed at ``--timeout``), reads over 5 s, external
programs started, max peak RSS and max time. The defaults write about 10,090 files (about 10 min on 2 cores); smaller
counts make a quick run:

    python bench/bench_image_fuzz.py [--seed 0] [--valid 2000] [--corrupt 2500] [--random 2600] [--exif 1200]
        [--float 600] [--animated 600] [--bombs 600] [--jobs 2] [--timeout 20] [--cli-sample 300] [--skip-giant]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import signal
import struct
import sys
import tempfile
import time
import traceback
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.errors import ImageReadError
from ml.preprocess.pipeline import preprocess_file

GIANT_SIDE = 10000
HUGE_SIDE = 13000


@dataclass
class Case:
    """One file (or path) to read, and the category it is counted under."""

    category: str
    path: Path


@dataclass
class Row:
    """What one category's cases did."""

    cases: int = 0
    accepted: int = 0
    refused: int = 0
    crashes: int = 0
    hangs: int = 0
    slow: int = 0
    programs_started: int = 0
    max_rss_mb: float = 0.0
    max_seconds: float = 0.0
    examples: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------- the corpus


def digit_picture(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """Dark strokes of a rough digit on light paper, in mode L."""
    width, height = size
    picture = Image.new("L", size, int(rng.integers(180, 256)))
    draw = ImageDraw.Draw(picture)
    stroke = max(1, min(size) // 12)
    points = [(float(rng.uniform(0.2, 0.8)) * width, float(rng.uniform(0.15, 0.85)) * height) for _ in range(4)]
    draw.line(points, fill=int(rng.integers(0, 90)), width=stroke)
    return picture


def as_mode(gray: Image.Image, mode: str) -> Image.Image:
    """``gray`` in ``mode``, with transparency and wide values where the mode has them."""
    if mode == "LA":
        return Image.merge("LA", (gray, gray.point(lambda value: 255 - value)))
    if mode == "RGBA":
        return Image.merge("RGBA", (*gray.convert("RGB").split(), gray.point(lambda value: 255 - value)))
    if mode == "P":
        return gray.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    if mode == "I;16":
        return Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257)
    if mode == "I":
        return Image.fromarray(np.asarray(gray, dtype=np.int32) * 100_000 - 2_000_000)
    if mode == "F":
        return Image.fromarray(np.asarray(gray, dtype=np.float32) * np.float32(3.5e3))
    return gray.convert(mode)


VALID_RECIPES: list[tuple[str, str, dict]] = [  # (Pillow format, mode, save options)
    *[("PNG", mode, {}) for mode in ("L", "LA", "RGB", "RGBA", "P", "1", "I;16")],
    ("PNG", "P", {"transparency": 0}),
    *[("JPEG", mode, {"quality": 85}) for mode in ("L", "RGB", "CMYK")],
    ("JPEG", "RGB", {"progressive": True}),
    *[("BMP", mode, {}) for mode in ("1", "L", "P", "RGB")],
    *[("GIF", mode, {}) for mode in ("L", "P")],
    *[("TIFF", mode, {}) for mode in ("L", "RGB", "RGBA", "I;16", "I", "F", "CMYK", "1")],
    ("TIFF", "RGB", {"compression": "tiff_lzw"}),
    ("TIFF", "L", {"compression": "tiff_adobe_deflate"}),
    *[("WEBP", mode, {}) for mode in ("RGB", "RGBA")],
    ("WEBP", "RGB", {"lossless": True}),
    *[("PPM", mode, {}) for mode in ("1", "L", "RGB")],
]
SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "GIF": ".gif", "TIFF": ".tif", "WEBP": ".webp", "PPM": ".ppm"}


def encode(picture: Image.Image, image_format: str, **options) -> bytes:
    """The encoded bytes of ``picture``."""
    buffer = io.BytesIO()
    picture.save(buffer, image_format, **options)
    return buffer.getvalue()


def random_size(rng: np.random.Generator) -> tuple[int, int]:
    """Mostly ordinary sizes, sometimes 1-pixel, thin or large ones."""
    kind = rng.integers(0, 10)
    if kind == 0:
        return int(rng.integers(1, 4)), int(rng.integers(1, 4))
    if kind == 1:
        return int(rng.integers(1, 8)), int(rng.integers(200, 900))
    if kind == 2:
        return int(rng.integers(1500, 3000)), int(rng.integers(1500, 3000))
    side = int(rng.integers(20, 600))
    return side, int(side * rng.uniform(0.5, 2.0)) or 1


def write_valid(folder: Path, count: int, rng: np.random.Generator) -> list[Case]:
    """``count`` valid images: each recipe in turn, random sizes and strokes; some JPEGs rotated by EXIF."""
    cases = []
    for index in range(count):
        image_format, mode, options = VALID_RECIPES[index % len(VALID_RECIPES)]
        picture = as_mode(digit_picture(random_size(rng), rng), mode)
        if image_format == "JPEG" and index % 3 == 0:
            exif = Image.Exif()
            exif[0x0112] = int(rng.integers(1, 9))
            options = {**options, "exif": exif.tobytes()}
        path = folder / f"valid-{index:04d}{SUFFIXES[image_format]}"
        path.write_bytes(encode(picture, image_format, **options))
        cases.append(Case(f"valid {image_format}", path))
    return cases


def write_corrupt(folder: Path, count: int, rng: np.random.Generator) -> list[Case]:
    """Truncated, bit-flipped, zero-filled and header-only files of the allowed formats."""
    cases = []
    for index in range(count):
        image_format, mode, options = VALID_RECIPES[int(rng.integers(0, len(VALID_RECIPES)))]
        data = bytearray(encode(as_mode(digit_picture((64, 80), rng), mode), image_format, **options))
        damage = index % 4
        if damage == 0:
            data = data[: int(rng.integers(0, len(data)))]
        elif damage == 1:
            for position in rng.integers(0, len(data), size=int(rng.integers(1, 12))):
                data[position] ^= int(rng.integers(1, 256))
        elif damage == 2:
            start = int(rng.integers(8, max(9, len(data) - 1)))
            data[start:] = bytes(len(data) - start)
        else:
            data = data[:16] + rng.integers(0, 256, int(rng.integers(0, 4000)), dtype=np.uint8).tobytes()
        path = folder / f"corrupt-{index:04d}{SUFFIXES[image_format]}"
        path.write_bytes(bytes(data))
        cases.append(Case("corrupt or truncated", path))
    return cases


def write_refused_formats(folder: Path, marker: Path) -> list[Case]:
    """Files of formats Digit Lab does not open, every one named ``.png``."""
    picture = digit_picture((40, 40), np.random.default_rng(1))
    files: dict[str, bytes] = {
        "eps-writes-marker": (
            b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 40 40\n"
            + f"({marker}) (w) file dup (written) writestring closefile\nshowpage\n".encode()
        ),
        "eps-loops-forever": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 40 40\n{} loop\n",
        "ps-plain": b"%!PS\n/Helvetica findfont 20 scalefont setfont 10 10 moveto (7) show showpage\n",
        "eps-binary-header": b"\xc5\xd0\xd3\xc6" + bytes(26) + b"%!PS-Adobe-3.0 EPSF-3.0\n{} loop\n",
        "psd": b"8BPS\x00\x01" + bytes(6) + b"\x00\x01\x00\x00\x00\x28\x00\x00\x00\x28\x00\x08\x00\x01" + bytes(64),
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><text y="30">7</text></svg>',
        "text": b"a note about the digit 7\n",
    }
    for name, (image_format, mode) in {
        "pdf": ("PDF", "L"),
        "ico": ("ICO", "RGBA"),
        "xbm": ("XBM", "1"),
        "sgi": ("SGI", "L"),
        "tga": ("TGA", "L"),
        "pcx": ("PCX", "L"),
        "dds": ("DDS", "RGB"),
        "im": ("IM", "L"),
        "jpeg2000": ("JPEG2000", "L"),
        "qoi": ("QOI", "RGB"),
        "icns": ("ICNS", "RGBA"),
    }.items():
        try:
            files[name] = encode(picture.convert(mode).resize((64, 64)), image_format)
        except (KeyError, OSError, ValueError):
            continue  # this Pillow cannot write the format
    cases = []
    for name, data in files.items():
        path = folder / f"{name}.png"
        path.write_bytes(data)
        cases.append(Case("refused formats (.png names)", path))
    return cases


GIANTS = [  # (name, side, mode, format)
    ("giant-LA.png", GIANT_SIDE, "LA", "PNG"),
    ("giant-RGBA.png", GIANT_SIDE, "RGBA", "PNG"),
    ("giant-I16.png", GIANT_SIDE, "I;16", "PNG"),
    ("giant-F.tif", GIANT_SIDE, "F", "TIFF"),
    ("giant-I.tif", GIANT_SIDE, "I", "TIFF"),
    ("giant-RGB.jpg", HUGE_SIDE, "RGB", "JPEG"),
    ("huge-RGBA.png", HUGE_SIDE, "RGBA", "PNG"),
]


def write_giant(path: Path, side: int, mode: str, image_format: str) -> None:
    """One giant image from uint8/uint16/int32/float32 planes (never float64), in a child so memory is freed."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            gray = digit_picture((side, side), np.random.default_rng(side))
            picture = as_mode(gray, mode)
            del gray
            options = {"compress_level": 1} if image_format == "PNG" else {}
            picture.save(path, image_format, **options)
            code = 0
        finally:
            os._exit(code)
    os.waitpid(pid, 0)


def write_giants(folder: Path) -> list[Case]:
    """The giant images of the issue, written once each."""
    cases = []
    for name, side, mode, image_format in GIANTS:
        path = folder / name
        started = time.perf_counter()
        write_giant(path, side, mode, image_format)
        size = path.stat().st_size / 1e6 if path.exists() else 0.0
        print(f"  wrote {name} ({size:.1f} MB) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        cases.append(Case("giant images", path))
    return cases


def write_not_regular(folder: Path) -> list[Case]:
    """A FIFO named like an image, a character device and a folder named like an image."""
    fifo = folder / "pipe.png"
    os.mkfifo(fifo)
    (folder / "folder.png").mkdir()
    return [
        Case("not regular files", fifo),
        Case("not regular files", Path("/dev/zero")),
        Case("not regular files", folder / "folder.png"),
    ]


SUFFIXES_ANY = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")


def write_random(folder: Path, count: int, rng: np.random.Generator) -> list[Case]:
    """Pure random bytes (0 bytes to 256 KB, log-uniform lengths) under every image suffix."""
    cases = []
    for index in range(count):
        length = 0 if index % 97 == 0 else int(np.exp(rng.uniform(0.0, np.log(256 * 1024))))
        path = folder / f"random-{index:05d}{SUFFIXES_ANY[index % len(SUFFIXES_ANY)]}"
        path.write_bytes(rng.integers(0, 256, length, dtype=np.uint8).tobytes())
        cases.append(Case("random bytes", path))
    return cases


def _ifd(entries: list[tuple[int, int, int, int]], next_offset: int = 0, count: int | None = None) -> bytes:
    """A little-endian TIFF IFD: (tag, type, count, value or offset) entries and the next IFD's offset."""
    body = struct.pack("<H", len(entries) if count is None else count)
    body += b"".join(struct.pack("<HHII", *entry) for entry in entries)
    return body + struct.pack("<I", next_offset)


TIFF_HEADER = b"II*\x00" + struct.pack("<I", 8)
SHORT, LONG, ASCII, RATIONAL = 3, 4, 2, 5


def broken_exif(kind: int, rng: np.random.Generator) -> bytes:
    """An EXIF block (TIFF structure, without the ``Exif`` prefix) broken in one of 16 ways."""
    orientation = (0x0112, SHORT, 1, int(rng.integers(1, 9)))
    junk = rng.integers(0, 256, int(rng.integers(0, 3000)), dtype=np.uint8).tobytes()
    blocks = [
        lambda: junk,  # pure garbage
        lambda: TIFF_HEADER + junk,  # a header, then garbage
        lambda: TIFF_HEADER + _ifd([orientation], next_offset=8),  # IFD0's next IFD is itself
        lambda: TIFF_HEADER + _ifd([orientation, (0x8769, LONG, 1, 8)]),  # the Exif IFD pointer points at IFD0
        lambda: TIFF_HEADER + _ifd([orientation, (0x8825, LONG, 1, 8)]),  # the GPS IFD pointer too
        lambda: TIFF_HEADER + _ifd([orientation], count=65535) + junk,  # claims 65,535 entries
        lambda: TIFF_HEADER + _ifd([(0x0112, SHORT, 0x7FFFFFFF, 8)]),  # a 2-billion-value orientation
        lambda: TIFF_HEADER + _ifd([orientation, (0x010E, ASCII, 100_000, 0xFFFFFF00)]),  # data past the end
        lambda: TIFF_HEADER + _ifd([(0x0112, ASCII, 4, int.from_bytes(b"abc\0", "little"))]),  # text orientation
        lambda: TIFF_HEADER + _ifd([(0x0112, RATIONAL, 1, 26)]) + struct.pack("<II", 7, 0),  # 7/0 orientation
        lambda: TIFF_HEADER + _ifd([(0x0112, SHORT, 1, int(rng.choice([0, 9, 255, 65535])))]),  # out of range
        lambda: TIFF_HEADER + _ifd([(0x0112, 99, 1, 6)]),  # an unknown field type
        lambda: b"II*\x00" + struct.pack("<I", 0xFFFFFFF0),  # IFD0 far past the end
        lambda: b"MM\x00*" + struct.pack("<I", 8) + _ifd([orientation]),  # big-endian header, little-endian IFD
        lambda: (
            TIFF_HEADER  # a chain of 2,000 IFDs, each pointing at the next, the last back at the first
            + b"".join(_ifd([orientation], next_offset=8 + 18 * (i + 1) if i < 1999 else 8) for i in range(2000))
        ),
        lambda: (TIFF_HEADER + _ifd([orientation, (0x8769, LONG, 1, 26)]) + _ifd([(0x9003, ASCII, 20, 0)]))[
            : int(rng.integers(4, 40))
        ],  # cut short
    ]
    return blocks[kind % len(blocks)]()


def _with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """``jpeg`` with an APPn segment inserted right after its start-of-image marker."""
    payload = payload[:65533]
    return jpeg[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def write_broken_exif(folder: Path, count: int, rng: np.random.Generator) -> list[Case]:
    """JPEG, PNG, WebP and TIFF files with garbage, looping, huge or mistyped EXIF blocks (and JPEG MPF blocks)."""
    cases = []
    for index in range(count):
        picture = digit_picture((int(rng.integers(8, 200)), int(rng.integers(8, 200))), rng)
        kind, container = index // 5, index % 5
        block = broken_exif(kind, rng)
        if container == 0:
            data, suffix = _with_segment(encode(picture, "JPEG"), 0xE1, b"Exif\x00\x00" + block), ".jpg"
        elif container == 1:
            data, suffix = encode(picture, "PNG", exif=b"Exif\x00\x00" + block), ".png"
        elif container == 2:
            data, suffix = encode(picture.convert("RGB"), "WEBP", exif=b"Exif\x00\x00" + block), ".webp"
        elif container == 3:  # the TIFF's own IFD: bad orientations, Exif/GPS pointers at IFD0, past the end
            tags = [{274: int(rng.choice([0, 9, 65535]))}, {34665: 8}, {34853: 8}, {34665: 0xFFFFFF00}]
            data, suffix = encode(picture, "TIFF", tiffinfo=tags[kind % len(tags)]), ".tif"
        else:  # a JPEG whose APP2 claims to be a multi-picture (MPO) index, with a broken body
            payload = b"MPF\x00" + (block if kind % 2 else TIFF_HEADER + _ifd([(0xB002, 7, 1000, 0xFFFF)]))
            data, suffix = _with_segment(encode(picture, "JPEG"), 0xE2, payload), ".jpg"
        path = folder / f"exif-{index:05d}{suffix}"
        path.write_bytes(data)
        cases.append(Case("broken EXIF", path))
    return cases


def write_float_tiffs(folder: Path, count: int, rng: np.random.Generator) -> list[Case]:
    """32-bit float TIFFs holding NaN, ±inf, ±3.4e38, denormals and -0.0, whole or in strokes or speckles."""
    big = np.finfo(np.float32).max
    cases = []
    for index in range(count):
        ink = 1.0 - np.asarray(digit_picture(random_size(rng) if index % 4 else (64, 64), rng), np.float32) / 255.0
        values = ink * np.float32(rng.choice([1.0, 255.0, 1e6, -1.0]))
        pattern = index % 12
        strokes = ink > 0.5
        if pattern == 0:
            values[:] = np.nan
        elif pattern == 1:
            values[:] = np.inf
        elif pattern == 2:
            values[:] = -np.inf
        elif pattern == 3:
            values[~strokes] = np.nan  # NaN paper, finite ink
        elif pattern == 4:
            values[strokes] = np.inf  # infinite ink
        elif pattern == 5:
            values[strokes] = np.nan  # NaN ink
        elif pattern == 6:
            values[rng.random(values.shape) < rng.choice([0.01, 0.5, 0.99])] = np.nan
        elif pattern == 7:
            values = np.where(strokes, big, -big).astype(np.float32)
        elif pattern == 8:
            values = (ink * np.float32(1e-45)).astype(np.float32)  # denormals only
        elif pattern == 9:
            values = np.where(strokes, np.float32(-0.0), np.float32(0.0))
        elif pattern == 10:
            values[:] = np.nan
            values[values.shape[0] // 2, values.shape[1] // 2] = 1.0  # one finite pixel in a sea of NaN
        else:
            values = np.where(rng.random(values.shape) < 0.5, np.inf, -np.inf).astype(np.float32)
        compression = [None, "tiff_lzw", "tiff_adobe_deflate"][index % 3]
        options = {"compression": compression} if compression else {}
        path = folder / f"float-{index:04d}.tif"
        path.write_bytes(encode(Image.fromarray(values.astype(np.float32), mode="F"), "TIFF", **options))
        cases.append(Case("NaN/inf float TIFF", path))
    return cases


def write_animated(folder: Path, count: int, rng: np.random.Generator) -> list[Case]:
    """Animated GIF, APNG and WebP and multi-page TIFF, 2 to 1,000 frames, frames of changing size and mode."""
    cases = []
    for index in range(count):
        frames_count = int(np.exp(rng.uniform(np.log(2), np.log(1000))))
        side = int(rng.integers(4, max(5, min(160, 4000 // frames_count))))
        first = digit_picture((side, side + int(rng.integers(0, 20))), rng)
        frames = [first.rotate(float(angle)) for angle in np.linspace(0, 360, frames_count)]
        image_format = ("GIF", "PNG", "TIFF", "WEBP")[index % 4]
        if index % 8 >= 4:  # frames of other sizes and modes
            frames = [
                frame.resize((max(1, side + i % 7 - 3), max(1, side - i % 5))).convert(("L", "RGB", "P")[i % 3])
                for i, frame in enumerate(frames)
            ]
        if image_format == "WEBP":  # libwebp wants every frame of the canvas's size
            frames = [frame.convert("RGB").resize(frames[0].size) for frame in frames]
        options: dict = {"save_all": True, "append_images": frames[1:]}
        if image_format in ("GIF", "PNG", "WEBP"):
            options.update(duration=int(rng.integers(0, 100)), loop=int(rng.integers(0, 3)))
        if image_format in ("GIF", "PNG"):
            options["disposal"] = int(rng.integers(0, 3))
        if image_format == "PNG":
            options["blend"] = int(rng.integers(0, 2))
            options["default_image"] = bool(index % 3 == 0)
        try:
            data = encode(frames[0], image_format, **options)
        except (OSError, ValueError, RuntimeError):
            continue  # this Pillow cannot write that mix (WebP wants frames of one size)
        path = folder / f"animated-{index:04d}-{frames_count}frames{SUFFIXES[image_format]}"
        path.write_bytes(data)
        cases.append(Case("animated / multi-page", path))
    return cases


BOMB_SIZES = [
    (100_000, 100_000),
    (65_535, 65_535),
    (2**31 - 1, 1),
    (1, 2**31 - 1),
    (10_001, 10_000),
    (10_000, 10_000),
    (50_000, 2_000),
    (16_384, 16_384),
    (0, 0),
    (30_000, 30_000),
]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb(image_format: str, size: tuple[int, int], rng: np.random.Generator) -> bytes:
    """A tiny file whose header claims ``size`` pixels."""
    width, height = size
    tail = rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8).tobytes()
    if image_format == "PNG":
        depth, color = [(8, 0), (16, 0), (8, 2), (16, 2), (8, 6), (16, 6), (1, 0), (8, 3), (16, 4)][
            int(rng.integers(0, 9))
        ]
        ihdr = struct.pack(">IIBBBBB", min(width, 2**31 - 1), min(height, 2**31 - 1), depth, color, 0, 0, 0)
        chunks = _png_chunk(b"IHDR", ihdr)
        if color == 3:
            chunks += _png_chunk(b"PLTE", bytes(range(48)))
        body = zlib.compress(b"\0" * int(rng.integers(1, 1 << 20)), 9)
        return b"\x89PNG\r\n\x1a\n" + chunks + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")
    if image_format == "GIF":
        screen = struct.pack("<HH", min(width, 65535), min(height, 65535))
        descriptor = b"," + struct.pack("<HHHH", 0, 0, min(width, 65535), min(height, 65535)) + b"\x00"
        return b"GIF89a" + screen + b"\x80\x00\x00" + bytes(6) + descriptor + b"\x02\x02\x44\x01\x00;" + tail
    if image_format == "BMP":
        bits = int(rng.choice([1, 4, 8, 24, 32]))
        height_field = -min(height, 2**31 - 1) if rng.random() < 0.5 else min(height, 2**31 - 1)
        info = struct.pack("<IiiHHIIiiII", 40, min(width, 2**31 - 1), height_field, 1, bits, 0, 0, 2835, 2835, 0, 0)
        palette = bytes(4 * (1 << bits)) if bits <= 8 else b""
        offset = 14 + len(info) + len(palette)
        return b"BM" + struct.pack("<IHHI", offset + len(tail), 0, 0, offset) + info + palette + tail
    if image_format == "TIFF":
        entries = [
            (256, LONG, 1, min(width, 2**32 - 1)),
            (257, LONG, 1, min(height, 2**32 - 1)),
            (258, SHORT, 1, int(rng.choice([1, 8, 16, 32]))),
            (259, SHORT, 1, int(rng.choice([1, 5, 8, 32773]))),
            (262, SHORT, 1, 1),
            (273, LONG, 1, 8 + 2 + 12 * 8 + 4),
            (278, LONG, 1, min(height, 2**32 - 1)),
            (279, LONG, 1, len(tail)),
        ]
        return TIFF_HEADER + _ifd(entries) + tail
    if image_format == "JPEG":
        data = bytearray(encode(digit_picture((16, 16), rng), "JPEG"))
        sof = data.find(b"\xff\xc0")
        data[sof + 5 : sof + 9] = struct.pack(">HH", min(height, 65535), min(width, 65535))
        return bytes(data[: int(rng.integers(sof + 9, len(data) + 1))])
    if image_format == "WEBP":
        data = bytearray(encode(Image.new("RGB", (10, 10)), "WEBP", lossless=True))
        bits = (min(width, 16384) - 1) & 0x3FFF | ((min(height, 16384) - 1) & 0x3FFF) << 14
        data[21:25] = struct.pack("<I", bits | (int.from_bytes(data[21:25], "little") & 0xF0000000))
        return bytes(data)
    kind, maxval = [(b"P4", 1), (b"P5", 255), (b"P5", 65535), (b"P6", 255), (b"P6", 65535)][int(rng.integers(0, 5))]
    header = kind + f"\n{width} {height}\n".encode() + (f"{maxval}\n".encode() if kind != b"P4" else b"")
    return header + tail


def write_bombs(folder: Path, count: int, rng: np.random.Generator) -> list[Case]:
    """Decompression bombs: tiny files of every allowed format whose headers claim up to 2^31 pixels a side, and
    PNGs whose zlib data really inflates to 100 megapixels."""
    cases = []
    formats = ("PNG", "GIF", "BMP", "TIFF", "JPEG", "WEBP", "PPM")
    for index in range(count):
        image_format = formats[index % len(formats)]
        if index % 50 == 49:  # a real zlib bomb: 9,999 x 9,999 zero pixels in about 100 KB
            side = 9_999
            rows = zlib.compress(b"\0" * ((side + 1) * side), 9)
            ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
            data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rows)
            data += _png_chunk(b"IEND", b"")
            image_format = "PNG"
        else:
            data = bomb(image_format, BOMB_SIZES[(index // len(formats)) % len(BOMB_SIZES)], rng)
        path = folder / f"bomb-{index:04d}{SUFFIXES[image_format]}"
        path.write_bytes(data)
        cases.append(Case("decompression bombs", path))
    return cases


# ----------------------------------------------------------------------------------------------- running


def read_in_child(case: Case) -> tuple[int, int]:
    """Fork a child that reads one case and writes its outcome to a pipe: (pid, read end of the pipe)."""
    results_read, results_write = os.pipe()
    pid = os.fork()
    if pid != 0:
        os.close(results_write)
        return pid, results_read
    os.close(results_read)
    warnings.simplefilter("ignore")  # Pillow's notes about damaged tags; the outcome is what counts
    outcome: dict = {"programs": 0}
    import subprocess

    def refuse_program(*args, **kwargs):
        outcome["programs"] += 1
        raise OSError("bench: external programs are not allowed")

    subprocess.Popen = refuse_program  # type: ignore[misc, assignment]
    subprocess.check_call = refuse_program  # type: ignore[assignment]
    subprocess.run = refuse_program  # type: ignore[assignment]
    try:
        result = preprocess_file(case.path)
        outcome["result"] = "accepted" if not result.blank else "accepted (blank)"
        image = result.image
        if image is not None and (
            image.shape != (28, 28) or not np.isfinite(image).all() or image.min() < 0 or image.max() > 1
        ):
            outcome["result"] = "crash"
            outcome["message"] = f"bad model input: shape {image.shape}, range {image.min()}..{image.max()}"
    except ImageReadError as error:
        outcome["result"] = "refused" if str(error).startswith("Cannot read") else "crash"
        outcome["message"] = str(error)[:400]
    except BaseException as error:  # noqa: BLE001 - anything else is a crash to count
        outcome["result"] = "crash"
        outcome["message"] = f"{type(error).__name__}: {error}"[:400]
    os.write(results_write, json.dumps(outcome).encode())
    os._exit(0)


def read_all(cases: list[Case], jobs: int, timeout: float) -> list[dict]:
    """Read every case in its own forked child, ``jobs`` at a time; the outcomes in the cases' order."""
    outcomes: list[dict] = [{} for _ in cases]
    running: dict[int, tuple[int, int, float]] = {}  # pid -> (case index, pipe, start)
    next_case = 0
    while next_case < len(cases) or running:
        while next_case < len(cases) and len(running) < jobs:
            pid, pipe = read_in_child(cases[next_case])
            running[pid] = (next_case, pipe, time.perf_counter())
            next_case += 1
        for pid, (index, pipe, started) in list(running.items()):
            finished, status, usage = os.wait4(pid, os.WNOHANG)
            seconds = time.perf_counter() - started
            if not finished and seconds > timeout:
                os.kill(pid, signal.SIGKILL)
                _, status, usage = os.wait4(pid, 0)
                outcome = {"result": "hang", "programs": 0}
            elif not finished:
                continue
            else:
                with os.fdopen(pipe, "rb") as reader:
                    data = reader.read()
                pipe = -1
                outcome = json.loads(data) if data else {"result": "crash", "message": f"child status {status}"}
            if pipe >= 0:
                os.close(pipe)
            outcome.update(rss_mb=usage.ru_maxrss / 1024, seconds=seconds)
            outcomes[index] = outcome
            del running[pid]
        time.sleep(0.002)
    return outcomes


WRITERS = {  # group -> function(folder, count, rng) writing its cases; counts come from the command line
    "valid": write_valid,
    "corrupt": write_corrupt,
    "random": write_random,
    "exif": write_broken_exif,
    "float": write_float_tiffs,
    "animated": write_animated,
    "bombs": write_bombs,
}


def write_corpus(folder: Path, marker: Path, args: argparse.Namespace) -> list[Case]:
    """Write every group of cases in forked children (``--jobs`` at a time), so the parent stays small."""
    groups = [(name, getattr(args, name)) for name in WRITERS] + [("fixed", 0)]
    if not args.skip_giant:
        groups.append(("giant", 0))
    running: dict[int, Path] = {}
    listings = []
    for number, (name, count) in enumerate(groups):
        while len(running) >= args.jobs:
            pid, _ = os.wait()
            running.pop(pid, None)
        listing = folder / f"cases-{name}.json"
        listings.append(listing)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                rng = np.random.default_rng([args.seed, number])
                if name == "fixed":
                    cases = write_refused_formats(folder, marker) + write_not_regular(folder)
                elif name == "giant":
                    cases = write_giants(folder)
                else:
                    cases = WRITERS[name](folder, count, rng)
                listing.write_text(json.dumps([[case.category, str(case.path)] for case in cases]))
                code = 0
            except BaseException:  # noqa: BLE001 - shown, then the parent stops with a clear message
                traceback.print_exc()
            finally:
                os._exit(code)
        running[pid] = listing
    while running:
        pid, _ = os.wait()
        running.pop(pid, None)
    missing = [listing.name for listing in listings if not listing.exists()]
    if missing:
        raise SystemExit(f"Could not write the corpus ({', '.join(missing)}; see above).")
    return [Case(category, Path(path)) for listing in listings for category, path in json.loads(listing.read_text())]


# ----------------------------------------------------------------------------------------------- through the CLI

CLI = "import sys; from ml.cli.main import main; sys.exit(main(sys.argv[1:]))"


def cli_sample(cases: list[Case], size: int, rng: np.random.Generator) -> list[int]:
    """Indices of about ``size`` cases, every category in proportion and at least 3 of each."""
    by_category: dict[str, list[int]] = {}
    for index, case in enumerate(cases):
        by_category.setdefault(case.category, []).append(index)
    chosen = []
    for indices in by_category.values():
        share = max(3, round(size * len(indices) / len(cases)))
        chosen += [int(i) for i in rng.choice(indices, size=min(share, len(indices)), replace=False)]
    return sorted(chosen)


def predict_batch(files: list[Path], warm_up: Path, timeout: float) -> dict:
    """``digitlab predict --json`` on many files in one child: per-file records with the seconds each took, the
    child's peak RSS, and whether it printed a traceback, died or ran out of time."""
    import subprocess
    import threading

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    arguments = [sys.executable, "-c", CLI, "predict", "--json", str(warm_up), *map(str, files)]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=errors, cwd=Path(__file__).parents[1])
        stamped: list[tuple[float, str]] = []
        reader = threading.Thread(
            target=lambda: stamped.extend((time.perf_counter(), line.decode()) for line in process.stdout),
            daemon=True,
        )
        reader.start()
        deadline = time.perf_counter() + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        process.returncode = 0
        reader.join(5)
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    records = []
    for (when, line), (before, _) in zip(stamped[1:], stamped[:-1], strict=False):
        records.append({**json.loads(line), "seconds": when - before})
    return {
        "records": records,
        "rss_mb": usage.ru_maxrss / 1024,
        "signal": os.WIFSIGNALED(status) and not timed_out,
        "timed_out": timed_out,
        "traceback": "Traceback" in stderr,
    }


def run_cli_sample(cases: list[Case], outcomes: list[dict], args: argparse.Namespace, folder: Path) -> dict:
    """A sample of the corpus through ``digitlab predict --json`` in ``--cli-batches`` children, ``--jobs`` at a
    time; each file's CLI outcome is compared with what ``preprocess_file`` did with it."""
    from concurrent.futures import ThreadPoolExecutor

    chosen = cli_sample(cases, args.cli_sample, np.random.default_rng(args.seed))
    warm_up = folder / "warm-up.png"
    digit_picture((80, 80), np.random.default_rng(0)).save(warm_up)
    batches = [chosen[start :: args.cli_batches] for start in range(args.cli_batches)]
    started = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(
            pool.map(
                lambda batch: predict_batch([cases[i].path for i in batch], warm_up, 120 + 20 * len(batch)), batches
            )
        )
    row = {"files": len(chosen), "children": len(batches), "accepted": 0, "refused": 0, "other error": 0,
           "crashes": 0, "hangs": 0, "over 5 s": 0, "tracebacks": 0, "agree": 0, "max_seconds": 0.0,
           "rss_mb": 0.0, "seconds": time.perf_counter() - started, "disagreements": []}  # fmt: skip
    for batch, result in zip(batches, results, strict=True):
        row["rss_mb"] = max(row["rss_mb"], result["rss_mb"])
        row["tracebacks"] += result["traceback"]
        for position, index in enumerate(batch):
            if position >= len(result["records"]):  # never answered: the child died or ran out of time
                row["hangs" if result["timed_out"] else "crashes"] += 1
                continue
            record = result["records"][position]
            error = record.get("error")
            kind = "accepted" if error is None else "refused" if error.startswith("Cannot read") else "other error"
            row[kind] += 1
            row["over 5 s"] += record["seconds"] > 5
            row["max_seconds"] = max(row["max_seconds"], record["seconds"])
            direct = outcomes[index]["result"]
            if (kind == "accepted") == direct.startswith("accepted") and kind != "other error":
                row["agree"] += 1
            else:
                row["disagreements"].append(f"{cases[index].path.name}: CLI {kind}, reader {direct}")
    return row


# ----------------------------------------------------------------------------------------------- main


def main() -> None:
    """Build the corpus, read every case in a child, a sample through the CLI, and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--valid", type=int, default=2000, help="valid images (spread over the recipes)")
    parser.add_argument("--corrupt", type=int, default=2500, help="corrupt and truncated files")
    parser.add_argument("--random", type=int, default=2600, help="files of pure random bytes")
    parser.add_argument("--exif", type=int, default=1200, help="images with broken EXIF (or MPF) blocks")
    parser.add_argument("--float", type=int, default=600, help="float TIFFs with NaN and inf")
    parser.add_argument("--animated", type=int, default=600, help="animated and multi-page images")
    parser.add_argument("--bombs", type=int, default=600, help="decompression-bomb headers")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds before a read is killed as a hang")
    parser.add_argument("--jobs", type=int, default=2, help="children at a time")
    parser.add_argument("--cli-sample", type=int, default=300, help="files also run through digitlab predict")
    parser.add_argument("--cli-batches", type=int, default=4, help="digitlab predict children for the sample")
    parser.add_argument("--skip-giant", action="store_true", help="leave out the giant images (slow to write)")
    args = parser.parse_args()
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(prefix="digitlab-fuzz-") as temporary:
        folder = Path(temporary)
        marker = folder / "marker-written-by-postscript"
        print("Writing the corpus…", file=sys.stderr)
        written = time.perf_counter()
        cases = write_corpus(folder, marker, args)
        print(f"  {len(cases)} cases in {time.perf_counter() - written:.0f} s; reading…", file=sys.stderr)
        started = time.perf_counter()
        outcomes = read_all(cases, args.jobs, args.timeout)
        total = time.perf_counter() - started
        files_written = marker.exists()
        rows: dict[str, Row] = {}
        heaviest = [(o["rss_mb"], o["seconds"], c.path.name, o["result"]) for c, o in zip(cases, outcomes, strict=True)]
        for case, outcome in zip(cases, outcomes, strict=True):
            row = rows.setdefault(case.category, Row())
            row.cases += 1
            kind = outcome["result"]
            row.accepted += kind.startswith("accepted")
            row.refused += kind == "refused"
            row.crashes += kind == "crash"
            row.hangs += kind == "hang"
            row.slow += outcome["seconds"] > 5
            row.programs_started += outcome.get("programs", 0)
            row.max_rss_mb = max(row.max_rss_mb, outcome["rss_mb"])
            row.max_seconds = max(row.max_seconds, outcome["seconds"])
            if kind in ("crash", "hang") or case.category.startswith(("refused", "not regular", "giant")):
                row.examples.append(
                    f"{case.path.name}: {kind}, {outcome['rss_mb']:.0f} MB, {outcome['seconds']:.2f} s"
                    f" — {outcome.get('message', '')}"
                )
        cli = run_cli_sample(cases, outcomes, args, folder) if args.cli_sample > 0 else None
    print_table(rows, baseline_mb, total, files_written, heaviest)
    if cli is not None:
        print_cli_table(cli)


def print_table(
    rows: dict[str, Row], baseline_mb: float, total_seconds: float, files_written: bool, heaviest: list
) -> None:
    """The Markdown table, then the giant and irregular cases one by one."""
    total = Row()
    for row in rows.values():
        for name in ("cases", "accepted", "refused", "crashes", "hangs", "slow", "programs_started"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.max_rss_mb = max(total.max_rss_mb, row.max_rss_mb)
        total.max_seconds = max(total.max_seconds, row.max_seconds)
    print(
        f"Pillow {Image.__version__}; parent process {baseline_mb:.0f} MB before forking; {total.cases} files read "
        f"in {total_seconds:.0f} s; a file written by PostScript: {'yes' if files_written else 'no'}"
    )
    print()
    print(
        "| category | cases | accepted | refused clearly | crashes | hangs | over 5 s | programs started "
        "| max peak RSS | max time |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for category, row in [*rows.items(), ("**all**", total)]:
        print(
            f"| {category} | {row.cases} | {row.accepted} | {row.refused} | {row.crashes} | {row.hangs} "
            f"| {row.slow} | {row.programs_started} | {row.max_rss_mb:.0f} MB | {row.max_seconds:.2f} s |"
        )
    print()
    for rss_mb, seconds, name, kind in sorted(heaviest, reverse=True)[:6]:
        print(f"- heaviest: {name}: {kind}, {rss_mb:.0f} MB, {seconds:.2f} s")
    for category, row in rows.items():
        for example in row.examples:
            print(f"- {category}: {example}")


def print_cli_table(row: dict) -> None:
    """The CLI sample's row and any file the CLI and the reader disagreed on."""
    print()
    print(
        "| entry | files | children | accepted | refused clearly | other error | crashes | hangs | over 5 s "
        "| tracebacks | same outcome as the reader | max time per file | peak RSS (child) | total time |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    print(
        f"| `digitlab predict --json` | {row['files']} | {row['children']} | {row['accepted']} | {row['refused']} "
        f"| {row['other error']} | {row['crashes']} | {row['hangs']} | {row['over 5 s']} | {row['tracebacks']} "
        f"| {row['agree']} | {row['max_seconds']:.2f} s | {row['rss_mb']:.0f} MB | {row['seconds']:.0f} s |"
    )
    for line in row["disagreements"]:
        print(f"- {line}")


if __name__ == "__main__":
    main()
