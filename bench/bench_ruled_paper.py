"""Digits and numbers written on ruled and squared paper, photographed: read with and without the ruling step.

Each drawing is ruled as a notebook is (lined: rows 0.35-1.6 digit heights apart; squared: rows and columns
0.2-0.8 apart; lines 1-3 px, grey 100-210, running from side to side), then photographed
(``ml.doubt.drawing.as_photo``: grey uneven light, blur, noise, a turn of up to 8 degrees, JPEG). Plain paper is
the control. It is read as the window reads an opened image (``read_number`` with the bundled model and its judge),
once as shipped and once with the ruling step switched off (``ml.preprocess.pipeline.remove_ruled_lines`` taking
nothing out): the reading before it.

- digits: MNIST test digits drawn on the canvas (``digit_on_canvas``), read right;
- numbers: 2-6 digits written with bench_numbers.py's simulated pen, read exactly;
- blank: ruled paper with nothing on it, read as blank ("No digit found").

Last, the step's cost, with and without it, interleaved: ``to_mnist`` on 280 px canvases (it stops at its first
check: no ink reaches both sides), and ``find_ink`` on lined photos.

    python bench/bench_ruled_paper.py [--count 100] [--seed 5]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bundled import interleaved_medians, photo_bench, read_both_ways  # noqa: E402

PAPERS = ("plain", "lined", "squared")
NO_RULING = lambda ink, frame=None: (ink, 0)  # noqa: E731 - the ruling step switched off


def ruled(canvas: np.ndarray, paper: str, digit_height: float, rng: np.random.Generator) -> np.ndarray:
    """``canvas`` (uint8, black ink on white) with a notebook's printed lines under the ink."""
    if paper == "plain":
        return canvas
    ruled_canvas = canvas.copy()
    grey, thickness = int(rng.integers(100, 211)), int(rng.integers(1, 4))
    spread = (0.35, 1.6) if paper == "lined" else (0.2, 0.8)
    spacing = max(12, round(digit_height * float(rng.uniform(*spread))))
    axes = (0,) if paper == "lined" else (0, 1)
    for axis in axes:
        for start in range(int(rng.integers(0, spacing)), canvas.shape[axis], spacing):
            lines = ruled_canvas[start : start + thickness] if axis == 0 else ruled_canvas[:, start : start + thickness]
            np.minimum(lines, grey, out=lines)
    return ruled_canvas


def main() -> int:
    bench = photo_bench(__doc__.splitlines()[0], 100, "drawings of each kind on each paper", 5)
    import bench_numbers

    import ml.preprocess.pipeline as pipeline
    from ml.doubt.drawing import as_photo, digit_on_canvas
    from ml.numbers.reader import read_number

    predictor, judge, test_images, test_labels, rng = (
        bench.predictor, bench.judge, bench.test_images, bench.test_labels, bench.rng
    )  # fmt: skip

    photos: list[tuple[str, str, np.ndarray, str | None]] = []  # (kind, paper, photo, truth; None: blank)
    for _ in range(bench.count):
        for paper in PAPERS:
            index = int(rng.integers(len(test_images)))
            canvas = digit_on_canvas(test_images[index], rng)
            photos.append(("digits", paper, as_photo(ruled(canvas, paper, 200.0, rng), rng), str(test_labels[index])))
            truth = bench_numbers.random_labels(rng)
            picture, _, _ = bench_numbers.pen_number(truth, rng)
            photos.append(("numbers", paper, as_photo(ruled(picture, paper, 90.0, rng), rng), truth))
            if paper != "plain":
                size = (int(rng.integers(240, 420)), int(rng.integers(280, 700)))
                empty = np.full(size, 255, np.uint8)
                photos.append(
                    ("blank", paper, as_photo(ruled(empty, paper, float(rng.uniform(60, 200)), rng), rng), None)
                )

    def read(image: np.ndarray):
        return read_number(image, predictor, judge=judge)

    right: dict[tuple[str, str, str], list[bool]] = {}
    for kind, paper, photo, truth in photos:
        readings = read_both_ways(pipeline, "remove_ruled_lines", NO_RULING, read, photo)
        for step, reading in zip(("with the ruling step", "without"), readings, strict=True):
            good = reading.blank if truth is None else reading.number == truth
            right.setdefault((kind, paper, step), []).append(good)

    print(f"{len(photos)} photos (seed {bench.seed}); share read right (blank: read as blank)")
    print(f"{'':32s}" + "".join(f"{paper:>12s}" for paper in PAPERS))
    for kind in ("digits", "numbers", "blank"):
        for step in ("with the ruling step", "without"):
            cells = [right.get((kind, paper, step)) for paper in PAPERS]
            text = "".join(f"{np.mean(cell):>12.1%}" if cell else f"{'-':>12s}" for cell in cells)
            print(f"{kind + ', ' + step:32s}" + text)

    canvases = [digit_on_canvas(test_images[i], rng).astype(np.float32) / 255.0 for i in range(300)]
    with_step, without_step = interleaved_medians(
        pipeline, "remove_ruled_lines", NO_RULING, pipeline.to_mnist, canvases
    )
    print(f"to_mnist on 300 canvases of 280 px: {1000 * with_step:.2f} ms with the step,", end=" ")
    print(f"{1000 * without_step:.2f} ms without (ratio {with_step / without_step:.3f}, interleaved)")
    lined_photos = [photo for kind, paper, photo, _ in photos if paper == "lined" and kind != "blank"][:40]
    with_step, without_step = interleaved_medians(
        pipeline, "remove_ruled_lines", NO_RULING, pipeline.find_ink, lined_photos
    )
    print(f"find_ink on {len(lined_photos)} lined photos: {1000 * with_step:.1f} ms with the step,", end=" ")
    print(f"{1000 * without_step:.1f} ms without (ratio {with_step / without_step:.2f}, interleaved)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
