"""Hostile images: a generated corpus through ``preprocess_file`` (what ``digitlab predict`` calls).

Each file is read in a forked child with a timeout, so a hang or a crash is counted instead of stopping the run;
the child's peak RSS comes from ``os.wait4``. Categories: valid images in every allowed format and many modes,
corrupt and truncated files, refused formats under ``.png`` names (PostScript that writes a marker file or loops
forever, PDF, ICO, PSD, XBM, SGI, ...), giant images (10000x10000 LA/RGBA/I;16 PNG, F/I TIFF, 13000x13000 RGBA),
and paths that are not regular files (a FIFO named ``.png``, ``/dev/zero``, a folder). Prints one table row per
category: cases, accepted, refused with a clear message, crashes, hangs, files written by a file, external
programs started, max peak RSS and max time.

    python bench/bench_image_fuzz.py [--seed 0] [--valid 400] [--corrupt 400] [--timeout 20] [--skip-giant]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
import warnings
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
    files_written: int = 0
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


# ----------------------------------------------------------------------------------------------- running


def read_in_child(case: Case, timeout: float, marker: Path) -> dict:
    """Read one case in a forked child: outcome, peak RSS (MB), seconds, external programs started."""
    results_read, results_write = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
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
        except ImageReadError as error:
            outcome["result"] = "refused" if str(error).startswith("Cannot read") else "crash"
            outcome["message"] = str(error)
        except BaseException as error:  # noqa: BLE001 - anything else is a crash to count
            outcome["result"] = "crash"
            outcome["message"] = f"{type(error).__name__}: {error}"
        os.write(results_write, json.dumps(outcome).encode())
        os._exit(0)
    os.close(results_write)
    deadline = started + timeout
    status, usage = 0, None
    while True:
        finished, status, usage = os.wait4(pid, os.WNOHANG)
        if finished:
            break
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            os.close(results_read)
            return {"result": "hang", "rss_mb": usage.ru_maxrss / 1024, "seconds": timeout, "programs": 0}
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    with os.fdopen(results_read, "rb") as pipe:
        data = pipe.read()
    outcome = json.loads(data) if data else {"result": "crash", "message": f"child status {status}", "programs": 0}
    outcome.update(rss_mb=usage.ru_maxrss / 1024, seconds=seconds)
    return outcome


def write_corpus_in_child(folder: Path, marker: Path, args: argparse.Namespace, rng: np.random.Generator) -> list[Case]:
    """Write every case in a forked child, so the parent that forks the readers stays small."""
    listing = folder / "cases.json"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            cases = write_valid(folder, args.valid, rng) + write_corrupt(folder, args.corrupt, rng)
            cases += write_refused_formats(folder, marker) + write_not_regular(folder)
            if not args.skip_giant:
                cases += write_giants(folder)
            listing.write_text(json.dumps([[case.category, str(case.path)] for case in cases]))
            code = 0
        except BaseException:  # noqa: BLE001 - shown, then the parent stops with a clear message
            traceback.print_exc()
        finally:
            os._exit(code)
    os.waitpid(pid, 0)
    if not listing.exists():
        raise SystemExit("Could not write the corpus (see above).")
    return [Case(category, Path(path)) for category, path in json.loads(listing.read_text())]


def main() -> None:
    """Build the corpus, read every case in a child and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--valid", type=int, default=400, help="valid images (spread over the recipes)")
    parser.add_argument("--corrupt", type=int, default=400, help="corrupt and truncated files")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds before a read counts as a hang")
    parser.add_argument("--skip-giant", action="store_true", help="leave out the giant images (slow to write)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(prefix="digitlab-fuzz-") as temporary:
        folder = Path(temporary)
        marker = folder / "marker-written-by-postscript"
        print("Writing the corpus…", file=sys.stderr)
        cases = write_corpus_in_child(folder, marker, args, rng)
        rows: dict[str, Row] = {}
        started = time.perf_counter()
        for case in cases:
            outcome = read_in_child(case, args.timeout, marker)
            row = rows.setdefault(case.category, Row())
            row.cases += 1
            kind = outcome["result"]
            row.accepted += kind.startswith("accepted")
            row.refused += kind == "refused"
            row.crashes += kind == "crash"
            row.hangs += kind == "hang"
            row.programs_started += outcome.get("programs", 0)
            if marker.exists():
                row.files_written += 1
                marker.unlink()
            row.max_rss_mb = max(row.max_rss_mb, outcome["rss_mb"])
            row.max_seconds = max(row.max_seconds, outcome["seconds"])
            if kind in ("crash", "hang") or not case.category.startswith(("valid", "corrupt")):
                row.examples.append(
                    f"{case.path.name}: {kind}, {outcome['rss_mb']:.0f} MB, {outcome['seconds']:.2f} s"
                    f" — {outcome.get('message', '')}"
                )
        total = time.perf_counter() - started
    print_table(rows, baseline_mb, total)


def print_table(rows: dict[str, Row], baseline_mb: float, total_seconds: float) -> None:
    """The Markdown table, then the giant and irregular cases one by one."""
    print(f"Pillow {Image.__version__}; parent process {baseline_mb:.0f} MB before forking; {total_seconds:.0f} s")
    print()
    print(
        "| category | cases | accepted | refused clearly | crashes | hangs | files written | programs started "
        "| max peak RSS | max time |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for category, row in rows.items():
        print(
            f"| {category} | {row.cases} | {row.accepted} | {row.refused} | {row.crashes} | {row.hangs} "
            f"| {row.files_written} | {row.programs_started} | {row.max_rss_mb:.0f} MB | {row.max_seconds:.2f} s |"
        )
    print()
    for category, row in rows.items():
        for example in row.examples:
            print(f"- {category}: {example}")


if __name__ == "__main__":
    main()
