"""Digits and numbers written in a form's printed boxes, photographed: read with and without the box step.

A form gives each digit a box: one box round a digit, or a row of them (a comb, one digit per cell). The writing
sits inside, often touching the lines or crossing them. Boxes are printed (lines 1-3 px, grey 40-190), the writing is
MNIST test digits (drawn on the canvas, ``digit_on_canvas``, or put into the comb's cells at 55-95 % of a cell's
height, off-centre), and each page is photographed (``ml.doubt.drawing.as_photo``: grey uneven light, blur, noise, a
turn of up to 8 degrees, JPEG). It is read as the window reads an opened image (``read_number`` with the bundled
model and its judge), once as shipped and once with the box step switched off (``remove_boxes`` taking nothing out).

- a digit in a box, read right; a number in a comb, read exactly;
- the held-out non-digits (``bench/doubt_heldout.py``: letters drawn and printed, symbols, shapes) in a box, refused
  (not read as a digit or a number);
- an empty box, not read as a digit.

Last, the step's cost on 280 px canvases and on the boxed photos, with and without it, interleaved.

    python bench/bench_form_boxes.py [--count 100] [--seed 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bundled import interleaved_medians, photo_bench, read_both_ways  # noqa: E402

NON_DIGITS = ("letters drawn", "letters printed", "symbols printed", "shapes drawn")
NO_BOXES = lambda ink: (ink, 0)  # noqa: E731 - the box step switched off


def boxed(canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``canvas`` (uint8, black ink on white) on a larger page, a printed box round its ink (sometimes touching it)."""
    ink_rows, ink_columns = np.nonzero(canvas < 128)
    if ink_rows.size == 0:
        ink_rows, ink_columns = np.array([100, 180]), np.array([100, 180])
    page = np.pad(canvas, 90, mode="constant", constant_values=255)
    height = ink_rows.max() - ink_rows.min() + 1
    top, bottom = ink_rows.min() + 90, ink_rows.max() + 90
    left, right = ink_columns.min() + 90, ink_columns.max() + 90
    margins = [round(float(rng.uniform(-0.04, 0.3)) * height) for _ in range(4)]
    box = (top - margins[0], bottom + margins[1], left - margins[2], right + margins[3])
    _draw_box(page, box, int(rng.integers(1, 4)), int(rng.integers(40, 191)))
    return page


def comb(digits: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """MNIST 28x28 digits written one per cell of a printed row of boxes, on a page."""
    cell = int(rng.integers(90, 150))
    thickness, grey = int(rng.integers(1, 4)), int(rng.integers(40, 191))
    page = np.full((cell + 120, cell * len(digits) + 120), 255, np.uint8)
    for index, digit in enumerate(digits):
        rows, columns = np.nonzero(digit > 0.1)
        glyph = digit[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
        size = max(8, round(cell * float(rng.uniform(0.55, 0.95))))
        scale = size / glyph.shape[0]
        shape = (max(2, round(glyph.shape[1] * scale)), size)
        grown = np.asarray(Image.fromarray((glyph * 255).astype(np.uint8)).resize(shape, Image.BILINEAR))
        top = 60 + int(rng.integers(0, max(1, cell - size + 1)))
        left = 60 + index * cell + int(rng.integers(0, max(1, cell - grown.shape[1] + 1)))
        area = page[top : top + grown.shape[0], left : left + grown.shape[1]]
        np.minimum(area, 255 - grown[: area.shape[0], : area.shape[1]], out=area)
    for index in range(len(digits)):
        _draw_box(page, (60, 60 + cell, 60 + index * cell, 60 + (index + 1) * cell), thickness, grey)
    return page


def _draw_box(page: np.ndarray, box: tuple[int, int, int, int], thickness: int, grey: int) -> None:
    top, bottom, left, right = box
    for rows, columns in (
        (slice(top, top + thickness), slice(left, right + thickness)),
        (slice(bottom, bottom + thickness), slice(left, right + thickness)),
        (slice(top, bottom + thickness), slice(left, left + thickness)),
        (slice(top, bottom + thickness), slice(right, right + thickness)),
    ):
        np.minimum(page[rows, columns], grey, out=page[rows, columns])


def main() -> int:
    bench = photo_bench(__doc__.splitlines()[0], 100, "photos of each kind", 3)
    from doubt_heldout import held_out_drawers

    import ml.preprocess.pipeline as pipeline
    from ml.doubt.drawing import as_photo, digit_on_canvas
    from ml.numbers.reader import read_number

    predictor, judge, test_images, test_labels, rng = (
        bench.predictor, bench.judge, bench.test_images, bench.test_labels, bench.rng
    )  # fmt: skip
    drawers = {name: draw for name, _, draw in held_out_drawers(test_images, test_labels) if name in NON_DIGITS}

    photos: list[tuple[str, np.ndarray, str | None]] = []  # (kind, photo, truth; None: must not read as digits)
    for _ in range(bench.count):
        index = int(rng.integers(len(test_images)))
        canvas = digit_on_canvas(test_images[index], rng)
        photos.append(("digit in a box", as_photo(boxed(canvas, rng), rng), str(test_labels[index])))
        chosen = rng.integers(len(test_images), size=int(rng.integers(2, 7)))
        truth = "".join(str(test_labels[i]) for i in chosen)
        photos.append(("number in a comb", as_photo(comb([test_images[i] for i in chosen], rng), rng), truth))
        for name, draw in drawers.items():
            drawing = None
            while drawing is None:
                drawing, _ = draw(rng)
            photos.append((f"{name} in a box", as_photo(boxed(drawing, rng), rng), None))
        empty = np.full((int(rng.integers(150, 260)), int(rng.integers(150, 260))), 255, np.uint8)
        photos.append(("an empty box", as_photo(boxed(empty, rng), rng), None))

    def read(image: np.ndarray):
        return read_number(image, predictor, judge=judge)

    right: dict[tuple[str, str], list[bool]] = {}
    for kind, photo, truth in photos:
        readings = read_both_ways(pipeline, "remove_boxes", NO_BOXES, read, photo)
        for step, reading in zip(("with the box step", "without"), readings, strict=True):
            good = reading.number is None if truth is None else reading.number == truth
            right.setdefault((kind, step), []).append(good)

    print(f"{len(photos)} photos (seed {bench.seed}); read right (a non-digit or an empty box: not read as digits)")
    kinds = list(dict.fromkeys(kind for kind, _, _ in photos))
    print(f"{'':28s}{'with the box step':>20s}{'without':>12s}")
    for kind in kinds:
        cells = [np.mean(right[(kind, step)]) for step in ("with the box step", "without")]
        print(f"{kind:28s}{cells[0]:>20.1%}{cells[1]:>12.1%}")

    canvases = [digit_on_canvas(test_images[i], rng).astype(np.float32) / 255.0 for i in range(300)]
    with_step, without_step = interleaved_medians(pipeline, "remove_boxes", NO_BOXES, pipeline.to_mnist, canvases)
    print(f"to_mnist on 300 canvases of 280 px: {1000 * with_step:.2f} ms with the step,", end=" ")
    print(f"{1000 * without_step:.2f} ms without (ratio {with_step / without_step:.3f}, interleaved)")
    boxed_photos = [photo for kind, photo, _ in photos if kind == "digit in a box"][:40]
    with_step, without_step = interleaved_medians(pipeline, "remove_boxes", NO_BOXES, pipeline.find_ink, boxed_photos)
    print(f"find_ink on {len(boxed_photos)} boxed photos: {1000 * with_step:.1f} ms with the step,", end=" ")
    print(f"{1000 * without_step:.1f} ms without (ratio {with_step / without_step:.2f}, interleaved)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
