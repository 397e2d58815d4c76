"""Photos of a sheet lying on a desk: digits, numbers and non-digits read with and without the sheet step, in one run.

Each drawing is photographed on paper (``ml.doubt.drawing.as_photo``: grey uneven light, blur, noise, a slight turn,
JPEG) and laid on a desk 0-90 grey: showing all round it, on one side, on two sides, or turned 3-12 degrees. It is
read as the window reads an opened image (``read_number`` with the bundled model and its judge), once as shipped and
once with the sheet step switched off (``ml.preprocess.pipeline.find_sheet`` returning None): the reading before it.

- digits: MNIST test digits drawn on the canvas (``digit_on_canvas``), read right;
- numbers: 2-6 digits written with bench_numbers.py's simulated pen, read exactly;
- non-digits: the held-out drawings of bench/doubt_heldout.py (letters, symbols, shapes, scribbles), refused (not
  read as a digit nor as a number).

Last, the sheet step's own cost: the median time of ``find_sheet`` on a 280 px canvas (no sheet: it stops at its
first check) and on a 960 px desk photo.

    python bench/bench_desk_photos.py [--count 150] [--seed 3]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bundled import photo_bench, read_both_ways  # noqa: E402

LAYS = ("sheet alone", "desk all round", "desk on one side", "desk on two sides", "sheet turned")


def on_desk(photo: np.ndarray, lay: str, rng: np.random.Generator) -> np.ndarray:
    """``photo`` (the sheet, uint8) as ``lay`` puts it on a desk of a random dark grey, with sensor noise."""
    level, width = int(rng.integers(0, 91)), int(rng.integers(8, 61))
    if lay == "desk all round":
        picture = np.pad(photo, width, constant_values=level)
    elif lay == "desk on one side":
        picture = np.pad(photo, ((0, 0), (width, 0)), constant_values=level)
    elif lay == "desk on two sides":
        picture = np.pad(photo, ((width, 0), (0, width)), constant_values=level)
    elif lay == "sheet turned":
        angle = float(rng.choice([-1, 1]) * rng.uniform(3, 12))
        turned = Image.fromarray(photo).rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=level)
        picture = np.pad(np.asarray(turned), width // 2, constant_values=level)
    else:
        picture = photo
    noisy = picture.astype(np.float32) + rng.normal(0.0, 3.0, picture.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def main() -> int:
    bench = photo_bench(__doc__.splitlines()[0], 150, "drawings of each kind", 3)
    import bench_numbers
    from doubt_heldout import held_out_drawers

    import ml.preprocess.pipeline as pipeline
    from ml.doubt.drawing import as_photo, digit_on_canvas
    from ml.doubt.material import NOT_A_DIGIT
    from ml.numbers.reader import read_number
    from ml.preprocess.sheet import find_sheet

    predictor, judge, test_images, test_labels, rng = (
        bench.predictor, bench.judge, bench.test_images, bench.test_labels, bench.rng
    )  # fmt: skip

    sheets: list[tuple[str, np.ndarray, str | None]] = []  # (kind, photographed sheet, truth; None: not a digit)
    for _ in range(bench.count):
        index = int(rng.integers(len(test_images)))
        sheets.append(("digits", as_photo(digit_on_canvas(test_images[index], rng), rng), str(test_labels[index])))
        truth = bench_numbers.random_labels(rng)
        picture, _, _ = bench_numbers.pen_number(truth, rng)
        sheets.append(("numbers", as_photo(picture, rng), truth))
    drawers = [draw for name, kind, draw in held_out_drawers(test_images, test_labels) if kind == NOT_A_DIGIT][:4]
    for index in range(bench.count):
        canvas, _ = drawers[index % len(drawers)](rng)
        if canvas is not None:
            sheets.append(("non-digits", as_photo(canvas, rng), None))

    def read(image: np.ndarray):
        return read_number(image, predictor, judge=judge)

    right: dict[tuple[str, str, str], list[bool]] = {}
    for kind, photo, truth in sheets:
        for lay in LAYS:
            readings = read_both_ways(pipeline, "find_sheet", lambda gray: None, read, on_desk(photo, lay, rng))
            for step, reading in zip(("with the sheet step", "without"), readings, strict=True):
                good = reading.number is None if truth is None else reading.number == truth
                right.setdefault((kind, lay, step), []).append(good)

    print(f"{len(sheets)} photographed sheets (seed {bench.seed}); share read right (non-digits: refused)")
    print(f"{'':34s}" + "".join(f"{lay:>20s}" for lay in LAYS))
    for kind in ("digits", "numbers", "non-digits"):
        for step in ("with the sheet step", "without"):
            cells = [np.mean(right[(kind, lay, step)]) for lay in LAYS]
            print(f"{kind + ', ' + step:34s}" + "".join(f"{cell:>20.1%}" for cell in cells))

    canvas = digit_on_canvas(test_images[0], rng).astype(np.float32) / 255.0
    desk = on_desk(as_photo(np.kron(digit_on_canvas(test_images[1], rng), np.ones((3, 3), np.uint8)), rng),
                   "desk all round", rng).astype(np.float32) / 255.0  # fmt: skip
    for name, image in (("280 px canvas", canvas), (f"{desk.shape[1]}x{desk.shape[0]} desk photo", desk)):
        times = []
        for _ in range(50):
            started = time.perf_counter()
            found = find_sheet(image)
            times.append(time.perf_counter() - started)
        print(f"find_sheet on a {name}: median {1000 * np.median(times):.2f} ms (sheet found: {found is not None})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
