"""Whole numbers: how often ``ml.numbers.reader.read_number`` reads a number exactly, and how long it takes.

Two kinds of number, 2 to 6 digits each, with uneven gaps (wide, medium, narrow and touching), sizes (x0.75-1.25),
baselines (up to a fifth of a digit's height up or down):

- **MNIST**: digits of the MNIST *test* set side by side, dark ink on light paper, enlarged 3x, read by connected
  components as an opened image is (``--tune`` composes them instead from the second half of the bundled model's
  5,000 held-out validation digits, which is what the constants were tuned on);
- **pen strokes**: another style, never tuned on: digits drawn by a simulated pen with this file's own stroke shapes
  (a two-stroke 4, 5 and 7 with a bar, a 1 with a flag, open 4s, looped 2s), jittered, slanted and sized at random,
  rendered round-capped as the canvas draws, and read through the stroke grouping as the window does; the same
  images are also read from their pixels alone.

Timing: reading a 6-digit MNIST number end to end (ink, grouping, cuts, six 28x28 and six predictions) against six
single-digit predictions (``to_mnist`` on one digit's own image and ``predict_one``), interleaved in one run.

- **other styles** (``--styles N``, N numbers of each): one style per number, from ``bench/number_styles.py``:
  digits drawn in another hand, MNIST test digits redrawn bolder or thinner, or slanted, and scikit-learn's 8x8 digits,
  each put through the single-digit preprocessing and composed as the MNIST numbers are.
- **not numbers** (``--drawings N``, N of each family): the not-a-digit benchmark's held-out drawings
  (``bench/doubt_heldout.py``: letters, symbols, shapes, scribbles, noise, and digits in other styles) opened as an
  image: the share read as a number of several digits, with the reader's check that the parts are whole digits
  (``WHOLE_DIGITS_FLOOR``) and without it, in one run; and the share the window refuses (a drawing not read as a
  number shows its own verdict: not a digit, or blank).

    python bench/bench_numbers.py [--numbers 1000] [--styles 150] [--drawings 100] [--model path.keras] [--tune]
        [--previous]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ml.doubt.drawing import render_pen, smooth_stroke  # noqa: E402

GAPS = {"wide": (8, 16), "medium": (3, 8), "narrow": (1, 3), "touching": (-1, 0)}
"""Gaps between digits' boxes, in MNIST pixels (a digit is about 20 tall). MNIST numbers' "touching" digits are slid
together until their ink meets; the pen numbers' overlap their boxes by up to a twentieth of a height."""
TOUCH_LEVEL = 0.3
"""Ink above this level counts for touching (the reader's ink starts well below it)."""
GAP_SHARES = {"wide": 0.3, "medium": 0.3, "narrow": 0.2, "touching": 0.2}
ENLARGE = 3
PREVIOUS_WEIGHTS = {
    "digit_bonus": 0.5,
    "aspect_weight": 1.0,
    "height_weight": 50.0,
    "cut_cost": 0.5,
    "part_weight": 0.0,
    "class_weight": 1.0,
    "squat_cut_weight": 0.0,
}
"""The segmentation's constants before the learned part scorer (``--previous`` reads every number with them too)."""


def compose_number(digits: list[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """MNIST 28x28 digits side by side with uneven gaps, sizes and baselines; dark ink on light paper (uint8).

    A "touching" gap slides the next digit left until its ink meets its neighbour's (one piece of ink).
    """
    picture, kinds, _ = compose_number_with_owners(digits, rng)
    return picture, kinds


def compose_number_with_owners(
    digits: list[np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """:func:`compose_number` and, per pixel, the index of the digit whose ink is strongest there (-1: paper)."""
    glyphs = []
    for digit in digits:
        rows = np.flatnonzero(digit.max(axis=1) > 0.1)
        columns = np.flatnonzero(digit.max(axis=0) > 0.1)
        glyph = digit[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
        scale = float(rng.uniform(0.75, 1.25)) * ENLARGE
        size = (max(1, round(glyph.shape[1] * scale)), max(1, round(glyph.shape[0] * scale)))
        resized = Image.fromarray(glyph.astype(np.float32), mode="F").resize(size, Image.BILINEAR)
        glyphs.append(np.clip(np.asarray(resized), 0, 1))
    kinds = list(rng.choice(list(GAP_SHARES), size=len(digits) - 1, p=list(GAP_SHARES.values())))
    height = max(glyph.shape[0] for glyph in glyphs)
    canvas_height = int(height * 1.6) + 40
    tops = [(canvas_height - glyph.shape[0]) // 2 + round(float(rng.uniform(-0.2, 0.2)) * height) for glyph in glyphs]
    width = sum(glyph.shape[1] for glyph in glyphs) + 16 * ENLARGE * len(glyphs) + 40
    ink = np.zeros((canvas_height, width), dtype=np.float32)
    owners = np.full((canvas_height, width), -1, dtype=np.int16)
    x = 20
    for index, (glyph, top) in enumerate(zip(glyphs, tops, strict=True)):
        if index > 0:
            kind = kinds[index - 1]
            if kind == "touching":
                x = _touching_left(ink, glyph, top, x)
        area = ink[top : top + glyph.shape[0], x : x + glyph.shape[1]]
        owned = owners[top : top + glyph.shape[0], x : x + glyph.shape[1]]
        owned[(glyph > area) & (glyph > 0)] = index
        np.maximum(area, glyph, out=area)
        if index < len(kinds):
            low, high = GAPS[kinds[index]]
            x += glyph.shape[1] + (0 if kinds[index] == "touching" else round(float(rng.uniform(low, high)) * ENLARGE))
    right = int(np.flatnonzero(ink.max(axis=0) > 0)[-1]) + 21
    return np.round((1.0 - ink[:, :right]) * 235 + 10).astype(np.uint8), kinds, owners[:, :right]


def _touching_left(ink: np.ndarray, glyph: np.ndarray, top: int, left: int) -> int:
    """The rightmost left edge at or before ``left`` where ``glyph``'s ink meets the ink already placed."""
    placed = ink > TOUCH_LEVEL
    grown = placed.copy()  # 8-neighbourhood: touching corners count
    grown[1:] |= placed[:-1]
    grown[:-1] |= placed[1:]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    mask = glyph > TOUCH_LEVEL
    for x in range(left, max(0, left - glyph.shape[1]), -1):
        if np.any(grown[top : top + glyph.shape[0], x : x + glyph.shape[1]] & mask):
            return x
    return left


# Pen-stroke digits in the unit square (x right, y down): this benchmark's own shapes, a style the reader never saw.
PEN_DIGITS: dict[str, list[list[list[tuple[float, float]]]]] = {
    "0": [[[(0.5, 0), (0.1, 0.25), (0.08, 0.7), (0.5, 1), (0.9, 0.7), (0.88, 0.25), (0.5, 0)]]],
    "1": [[[(0.5, 0), (0.5, 1)]], [[(0.2, 0.2), (0.55, 0), (0.55, 1)]]],
    "2": [
        [[(0.1, 0.2), (0.5, 0), (0.9, 0.2), (0.85, 0.45), (0.1, 1), (0.95, 1)]],
        [[(0.15, 0.15), (0.6, 0), (0.85, 0.3), (0.1, 0.95), (0.9, 0.95)]],
    ],
    "3": [[[(0.1, 0.1), (0.6, 0), (0.85, 0.22), (0.45, 0.48), (0.9, 0.72), (0.55, 1), (0.1, 0.9)]]],
    "4": [
        [[(0.6, 0), (0.05, 0.65), (0.95, 0.65)], [(0.72, 0.3), (0.72, 1)]],
        [[(0.2, 0), (0.1, 0.55), (0.9, 0.55)], [(0.75, 0), (0.75, 1)]],
    ],
    "5": [
        [[(0.2, 0.02), (0.12, 0.45), (0.6, 0.4), (0.9, 0.7), (0.6, 1), (0.1, 0.9)], [(0.2, 0.02), (0.9, 0.02)]],
        [[(0.9, 0), (0.2, 0), (0.12, 0.45), (0.6, 0.4), (0.9, 0.7), (0.6, 1), (0.1, 0.9)]],
    ],
    "6": [[[(0.75, 0), (0.25, 0.35), (0.12, 0.75), (0.45, 1), (0.85, 0.78), (0.5, 0.5), (0.15, 0.7)]]],
    "7": [
        [[(0.05, 0), (0.95, 0), (0.35, 1)]],
        [[(0.05, 0.05), (0.95, 0), (0.4, 1)], [(0.3, 0.5), (0.85, 0.5)]],
    ],
    "8": [
        [
            [
                (0.85, 0.12),
                (0.5, 0),
                (0.15, 0.15),
                (0.5, 0.48),
                (0.88, 0.75),
                (0.5, 1),
                (0.12, 0.75),
                (0.5, 0.48),
                (0.85, 0.12),
            ]
        ]
    ],
    "9": [
        [[(0.85, 0.25), (0.5, 0), (0.12, 0.22), (0.45, 0.48), (0.85, 0.25), (0.82, 1)]],
        [[(0.85, 0.2), (0.5, 0), (0.15, 0.2), (0.4, 0.45), (0.85, 0.3), (0.6, 1)]],
    ],
}


class _PenStroke:
    def __init__(self, points: list[tuple[float, float]], width: float) -> None:
        self.points = points
        self.width = width
        self.erases = False


def pen_number(labels: str, rng: np.random.Generator) -> tuple[np.ndarray, list[_PenStroke], list[str]]:
    """A number drawn with a simulated pen: the canvas image (uint8, black on white) and its strokes."""
    pen_width = float(rng.uniform(8, 18))
    base_height = float(rng.uniform(70, 110))
    slant = float(rng.uniform(-0.15, 0.25))
    kinds = list(rng.choice(list(GAP_SHARES), size=len(labels) - 1, p=list(GAP_SHARES.values())))
    strokes: list[_PenStroke] = []
    x = 20.0
    for index, label in enumerate(labels):
        variants = PEN_DIGITS[label]
        shape = variants[int(rng.integers(len(variants)))]
        height = base_height * float(rng.uniform(0.8, 1.2))
        width = height * (0.25 if label == "1" and len(shape[0]) == 2 else float(rng.uniform(0.5, 0.7)))
        top = 60 + float(rng.uniform(-0.15, 0.15)) * base_height + (base_height - height) / 2
        for stroke in shape:
            wobble = rng.normal(0, 0.025, (len(stroke), 2))
            points = []
            for (u, v), (du, dv) in zip(stroke, wobble, strict=True):
                u, v = u + du, v + dv
                points.append((x + (u + slant * (0.5 - v)) * width, top + v * height))
            strokes.append(_PenStroke(smooth_stroke(points), pen_width))
        if index < len(kinds):
            low, high = GAPS[kinds[index]]
            x += width + pen_width + float(rng.uniform(low, high)) * height / 20.0
    shape = (int(base_height * 1.7 + 80), int(x + base_height * 0.8 + 40))
    return render_pen([(stroke.points, stroke.width) for stroke in strokes], shape), strokes, kinds


def random_labels(rng: np.random.Generator) -> str:
    """A number of 2 to 6 digits."""
    return "".join(str(int(d)) for d in rng.integers(0, 10, size=int(rng.integers(2, 7))))


def score(results: list[tuple[str, str | None, list[str]]]) -> dict:
    """Exact-number and digit accuracy overall and by the narrowest gap in the number."""
    exact = sum(truth == read for truth, read, _ in results)
    digits_total = sum(len(truth) for truth, _, _ in results)
    digits_right = sum(
        sum(a == b for a, b in zip(truth, read, strict=True))
        for truth, read, _ in results
        if read is not None and len(read) == len(truth)
    )
    by_gap: dict[str, list[int]] = {}
    for truth, read, kinds in results:
        for kind in set(kinds):
            by_gap.setdefault(kind, []).append(int(truth == read))
    apart = [int(truth == read) for truth, read, kinds in results if "touching" not in kinds]
    if apart:
        by_gap["none touching"] = apart
    wrong_length = sum(read is None or len(read) != len(truth) for truth, read, _ in results)
    edits = sum(edit_distance(truth, read or "") for truth, read, _ in results)
    return {
        "numbers": len(results),
        "exact": exact / len(results),
        "digits": digits_right / digits_total,
        "digits_by_edits": 1.0 - edits / digits_total,
        "wrong_length": wrong_length,
        "by_gap": {kind: (sum(values) / len(values), len(values)) for kind, values in sorted(by_gap.items())},
    }


def edit_distance(truth: str, read: str) -> int:
    """Digits inserted, dropped or changed to turn ``truth`` into ``read`` (Levenshtein): OCR's character error,
    which counts a digit cut in two as one error where "digits right" counts the whole number wrong. A number not
    read (None) is read as nothing: all its digits wrong."""
    previous = list(range(len(read) + 1))
    for row, wanted in enumerate(truth, start=1):
        current = [row]
        for column, got in enumerate(read, start=1):
            current.append(min(previous[column] + 1, current[-1] + 1, previous[column - 1] + (wanted != got)))
        previous = current
    return previous[-1]


def print_score(title: str, figures: dict) -> None:
    print(
        f"{title}: {figures['exact']:.2%} of {figures['numbers']} numbers read exactly, "
        f"{figures['digits']:.2%} of digits right (digit counts wrong in {figures['wrong_length']}); "
        f"{figures['digits_by_edits']:.2%} by edit distance"
    )
    for kind, (share, count) in figures["by_gap"].items():
        print(f"    numbers with a {kind} gap: {share:.2%} exact ({count})")


ERROR_KINDS = (
    "not a number",
    "a part refused",
    "a wrong class",
    "a broken digit's pieces apart",
    "a touching pair not split",
    "separate digits joined",
    "a digit cut in two",
    "a touching pair cut in the wrong place",
)
"""What a wrong MNIST number went wrong on, first that applies: its parts taken for pieces of one drawing (not a
number, ``ml.numbers.reader.WHOLE_DIGITS_FLOOR``); the digits found right but one refused by the judge or
read as another class; else a digit whose ink lies in several pieces left apart, two digits read as one, a digit cut
in two inside its ink, or a touching pair cut elsewhere than between them."""
WHOLE_SHARE, WHOLE_COVER = 0.75, 0.7  # a part is one whole digit (as tools/fit_number_parts.py labels parts)


def diagnose(picture: np.ndarray, owners: np.ndarray, truth: str, kinds: list[str], reading) -> str | None:
    """Why a reading of a composed MNIST number is wrong (one of :data:`ERROR_KINDS`), or None when it is right.

    Each part (its box in the picture) is matched to the digit owning most of the ink in it (``owners``: the
    composer's per-pixel digit index)."""
    if reading.number == truth:
        return None
    if reading.not_a_number:
        return "not a number"
    ink = np.clip((245.0 - picture.astype(np.float32)) / 235.0, 0.0, 1.0)
    owned = owners >= 0
    totals = np.bincount(owners[owned], weights=ink[owned], minlength=len(truth))
    holds = []  # per part: ink of each digit inside its box
    for digit in reading.digits:
        x, y, w, h = digit.box
        mine, values = owners[y : y + h, x : x + w], ink[y : y + h, x : x + w]
        inside = mine >= 0
        holds.append(np.bincount(mine[inside], weights=values[inside], minlength=len(truth)))
    whole = [
        int(np.argmax(held)) == index
        and held.max() >= WHOLE_SHARE * max(held.sum(), 1e-9)
        and held.max() >= WHOLE_COVER * totals[index]
        for index, held in enumerate(holds)
    ]
    if len(holds) == len(truth) and all(whole):
        spelled = "".join(digit.label for digit in reading.digits)
        return "a wrong class" if spelled != truth else "a part refused"
    covers = [held / np.maximum(totals, 1e-9) for held in holds]
    if _digit_in_pieces(picture, owners, len(truth)) and len(holds) > len(truth):
        return "a broken digit's pieces apart"
    for cover in covers:
        both = np.flatnonzero(cover >= 0.5)
        if len(both) >= 2:
            touching = any(kinds[i] == "touching" for i in range(int(both[0]), int(both[-1])))
            return "a touching pair not split" if touching else "separate digits joined"
    if any(np.sum(np.array([cover[index] for cover in covers]) >= 0.2) >= 2 for index in range(len(truth))):
        return "a digit cut in two"
    return "a touching pair cut in the wrong place"


def _digit_in_pieces(picture: np.ndarray, owners: np.ndarray, count: int) -> bool:
    """Whether some digit's ink lies in separate pieces of ink (8-connected), its second piece at least a tenth."""
    from ml.preprocess.components import label_components

    labels, pieces = label_components(picture < 200)
    for index in range(count):
        mine = labels[(owners == index) & (labels > 0)]
        sizes = np.sort(np.bincount(mine, minlength=pieces + 1)[1:])[::-1]
        if len(sizes) > 1 and sizes[1] >= 0.1 * sizes[0]:
            return True
    return False


def print_breakdown(title: str, causes: list[tuple[str | None, bool]]) -> None:
    """Each error kind's share of the numbers, overall and by whether the number holds a touching gap."""
    print(f"{title}: what the wrong numbers went wrong on (share of all numbers; no gap touching | a touching gap)")
    everything = [cause for cause, _ in causes]
    apart = [cause for cause, touching in causes if not touching]
    touched = [cause for cause, touching in causes if touching]
    for kind in ERROR_KINDS:
        shares = [sum(cause == kind for cause in group) / max(len(group), 1) for group in (everything, apart, touched)]
        print(f"    {kind}: {shares[0]:.2%} ({shares[1]:.2%} | {shares[2]:.2%})")


def read_as_numbers(count: int, images: np.ndarray, labels: np.ndarray, predictor, judge) -> None:
    """Print the share of each held-out family's drawings read as a number, with and without the parts' check, and
    the share the window refuses when the drawing is opened as an image: not a digit (or blank) alone, and not read as
    a number either."""
    from doubt_heldout import HELD_OUT_SEED, held_out_drawers, missing_fonts_note

    from ml.numbers import reader
    from ml.preprocess.pipeline import to_mnist

    if note := missing_fonts_note():
        print(note)
    floor = reader.WHOLE_DIGITS_FLOOR
    print(
        f"held-out drawings opened as an image: read as a number of several digits, with the check at {floor} "
        "(without); refused as the window shows them (not a digit alone, and no number)"
    )
    for offset, (name, kind, draw_one) in enumerate(held_out_drawers(images, labels)):
        rng, counts, refused, drawn = np.random.default_rng(HELD_OUT_SEED + offset), [0, 0], 0, 0
        while drawn < count:
            canvas, _ = draw_one(rng)
            if canvas is None:
                continue
            drawn += 1
            as_number = []
            for chosen in (floor, -np.inf):
                reader.WHOLE_DIGITS_FLOOR = chosen
                reading = reader.read_number(canvas, predictor, judge=judge)
                as_number.append(len(reading.digits) > 1 and reading.number is not None)
            counts = [total + read for total, read in zip(counts, as_number, strict=True)]
            alone = to_mnist(canvas).image
            refused_alone = alone is None or judge.judge(alone, predictor.predict_one(alone)).refused
            refused += refused_alone and not as_number[0]
        reader.WHOLE_DIGITS_FLOOR = floor
        print(
            f"    {name} ({kind}): read as a number {counts[0] / drawn:.1%} ({counts[1] / drawn:.1%}); "
            f"refused {refused / drawn:.1%} of {drawn}"
        )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numbers", type=int, default=1000, help="numbers of each kind")
    parser.add_argument("--timing-rounds", type=int, default=200)
    parser.add_argument("--model", default=None)
    parser.add_argument(
        "--tune", action="store_true", help="compose from the model's held-out validation digits (tuning material)"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--show-errors", type=int, default=0)
    parser.add_argument(
        "--previous", action="store_true", help="also read every number with the previous constants (no part scorer)"
    )
    parser.add_argument("--mnist-only", action="store_true", help="leave out the pen-stroke numbers")
    parser.add_argument(
        "--styles", type=int, default=0, help="numbers in each other style (bench/number_styles.py; default none)"
    )
    parser.add_argument(
        "--drawings", type=int, default=0, help="held-out non-digits of each family opened as images (default none)"
    )
    args = parser.parse_args()

    from ml.assets import bundled_mnist_path, bundled_model_path
    from ml.cli.progress import quiet_tensorflow

    quiet_tensorflow()
    from ml.inference.predictor import Predictor
    from ml.models.files import load_model
    from ml.numbers.lattice import SegmentationWeights
    from ml.numbers.reader import read_number
    from ml.preprocess.pipeline import to_mnist

    previous = SegmentationWeights(**PREVIOUS_WEIGHTS) if args.previous else None

    if args.tune:  # tools/tune_number_segmentation.held_out_digits("tune")
        from ml.data.datasets import load_mnist

        mnist = load_mnist(seed=2)
        images, labels = mnist.x_val[len(mnist.x_val) // 2 :, ..., 0], mnist.y_val[len(mnist.y_val) // 2 :]
    else:
        with np.load(bundled_mnist_path()) as arrays:
            images, labels = arrays["x_test"].astype(np.float32) / 255.0, arrays["y_test"]
    by_class = {digit: np.flatnonzero(labels == digit) for digit in range(10)}
    loaded = load_model(args.model or bundled_model_path())
    from ml.doubt.verdict import DoubtJudge

    predictor, judge = Predictor(loaded), DoubtJudge(loaded)  # the window reads numbers with the judge too
    print(
        f"model: {loaded.display_name} ({predictor.backend}); digits from MNIST "
        f"{'validation (held out of training)' if args.tune else 'test'}"
    )

    rng = np.random.default_rng(args.seed)
    results: dict[str, list] = {}

    causes: dict[str, list] = {}

    def read(kind: str, truth: str, kinds: list[str], picture: np.ndarray, strokes=None, owners=None) -> None:
        """Read one number now and with the previous constants; keep its number and its digits' classes (the
        judge's refusals aside), and with ``owners`` what a wrong reading went wrong on."""
        for label, weights in (("", None), (" (previous constants)", previous)):
            if label and weights is None:
                continue
            reading = read_number(picture, predictor, strokes=strokes, judge=judge, weights=weights)
            spelled = "".join(digit.label for digit in reading.digits)
            results.setdefault(kind + label, []).append((truth, reading.number, kinds))
            results.setdefault(kind + label + ", the judge's refusals aside", []).append((truth, spelled, kinds))
            if owners is not None:
                cause = diagnose(picture, owners, truth, kinds, reading)
                causes.setdefault(kind + label, []).append((cause, "touching" in kinds))

    for _ in range(args.numbers):
        truth = random_labels(rng)
        digits = [images[rng.choice(by_class[int(d)])] for d in truth]
        picture, kinds, owners = compose_number_with_owners(digits, rng)
        read("MNIST numbers", truth, [str(kind) for kind in kinds], picture, owners=owners)
    for _ in range(0 if args.mnist_only else args.numbers):
        truth = random_labels(rng)
        picture, strokes, kinds = pen_number(truth, rng)
        kinds = [str(kind) for kind in kinds]
        read("pen-stroke numbers, read by strokes (as the canvas)", truth, kinds, picture, strokes)
        read("pen-stroke numbers, read from pixels alone", truth, kinds, picture)
    if args.styles:
        from number_styles import STYLES, style_drawers

        drawers = style_drawers(images, labels)
        for style in STYLES:
            for _ in range(args.styles):
                truth = random_labels(rng)
                digits = [drawers[style](int(d), rng) for d in truth]
                if any(digit is None for digit in digits):
                    continue
                picture, kinds, owners = compose_number_with_owners(digits, rng)
                read(f"other styles: {style}", truth, [str(kind) for kind in kinds], picture, owners=owners)
        results["other styles, all"] = [row for style in STYLES for row in results[f"other styles: {style}"]]
        causes["other styles, all"] = [row for style in STYLES for row in causes[f"other styles: {style}"]]
    for title, rows in results.items():
        print_score(title, score(rows))
        if args.show_errors and "aside" not in title:
            for truth, number, kinds in [row for row in rows if row[0] != row[1]][: args.show_errors]:
                print("   ", truth, number, kinds)
    for title, rows in causes.items():
        print_breakdown(title, rows)
    mnist_results = results["MNIST numbers"]
    if args.drawings:
        read_as_numbers(args.drawings, images, labels, predictor, judge)

    # Timing: a 6-digit MNIST number read whole vs six single-digit predictions, interleaved.
    samples = []
    for _ in range(20):
        truth = "".join(str(int(d)) for d in rng.integers(0, 10, size=6))
        digits = [images[rng.choice(by_class[int(d)])] for d in truth]
        picture, _ = compose_number(digits, rng)
        singles = [np.round((1.0 - digit) * 235 + 10).astype(np.uint8) for digit in digits]
        samples.append((picture, singles))
    number_times, single_times, previous_times = [], [], []
    for round_index in range(args.timing_rounds + 10):
        picture, singles = samples[round_index % len(samples)]
        start = time.perf_counter()
        read_number(picture, predictor, judge=judge)
        middle = time.perf_counter()
        for single in singles:
            predictor.predict_one(to_mnist(single).image)
        end = time.perf_counter()
        if previous is not None:
            read_number(picture, predictor, judge=judge, weights=previous)
        if round_index >= 10:
            number_times.append((middle - start) * 1000)
            single_times.append((end - middle) * 1000)
            if previous is not None:
                previous_times.append((time.perf_counter() - end) * 1000)
    ratios = [n / s for n, s in zip(number_times, single_times, strict=True)]
    print(
        f"6-digit number: p50 {statistics.median(number_times):.1f} ms, p95 {percentile(number_times, 0.95):.1f} ms; "
        f"six single predictions: p50 {statistics.median(single_times):.1f} ms, "
        f"p95 {percentile(single_times, 0.95):.1f} ms; ratio of medians "
        f"{statistics.median(number_times) / statistics.median(single_times):.2f}, "
        f"median per-round ratio {statistics.median(ratios):.2f}"
    )
    if previous_times:
        print(
            f"6-digit number with the previous constants: p50 {statistics.median(previous_times):.1f} ms, "
            f"p95 {percentile(previous_times, 0.95):.1f} ms; ratio of medians to six single predictions "
            f"{statistics.median(previous_times) / statistics.median(single_times):.2f}"
        )
    touching = Counter(kind for _, _, kinds in mnist_results for kind in kinds)
    print(f"gaps drawn (MNIST numbers): {dict(touching)}")


if __name__ == "__main__":
    main()
