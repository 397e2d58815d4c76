"""Connected ink components: label them, drop specks, keep the glyph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SPECK_FRACTION = 0.05
MIN_GLYPH_FRACTION = 0.04
"""A piece of ink must span this share of the image's longer side to be a glyph (or half its shorter side)."""
_MIN_GLYPH_PIXELS = 3
_SHORT_SIDE_GLYPH = 0.5
"""A piece spanning half the image's shorter side is a glyph however long the image (a row of 20 digits, 576x36)."""
_BORDER_CONTACT_FRACTION = 0.25
_TAP_SLANT = 0.25
"""A tap lies within its stroke's columns, or aside by at most this share of the gap between them (a slanted "!")."""
PEN_DOT = 0.6
"""In an image, a pen's dot (over or under a stroke, or a number's point) is at least this share of the pen's width
each way and of the ink's darkness: dust and the paper's grain are not."""


@dataclass(frozen=True)
class _Runs:
    rows: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    labels: np.ndarray


def _label_runs(mask: np.ndarray) -> _Runs:
    """8-connected components of a mask, as horizontal runs labelled by their component's first run."""
    height, width = mask.shape
    stride = width + 2
    padded = np.zeros((height, stride), dtype=bool)
    padded[:, 1:-1] = mask
    flat = padded.ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    run_starts, run_ends = changes[0::2], changes[1::2]
    rows = run_starts // stride
    starts = run_starts - rows * stride - 1
    ends = run_ends - rows * stride - 1
    count = rows.size
    parent = np.arange(count)
    if count > 1:
        start_keys = rows * stride + starts
        end_keys = rows * stride + ends
        below = rows > 0
        below_index = np.flatnonzero(below)
        previous_row = rows[below] - 1
        first = np.searchsorted(end_keys, previous_row * stride + starts[below], side="left")
        last = np.searchsorted(start_keys, previous_row * stride + ends[below], side="right")
        pair_counts = np.maximum(last - first, 0)
        total = int(pair_counts.sum())
        if total:
            lower_runs = np.repeat(below_index, pair_counts)
            offsets = np.arange(total) - np.repeat(np.cumsum(pair_counts) - pair_counts, pair_counts)
            upper_runs = np.repeat(first, pair_counts) + offsets
            parent = _union_components(parent, upper_runs, lower_runs)
    return _Runs(rows=rows, starts=starts, ends=ends, labels=parent)


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a 2-D boolean mask: an int32 label image (0 = background, 1..n) and n."""
    mask = np.asarray(mask, dtype=bool)
    height, width = mask.shape
    labels = np.zeros((height, width), dtype=np.int32)
    runs = _label_runs(mask)
    if runs.rows.size == 0:
        return labels, 0
    roots, compact = np.unique(runs.labels, return_inverse=True)
    stride = width + 2
    edges = np.zeros(height * stride + 1, dtype=np.int32)
    run_labels = compact.astype(np.int32) + 1
    np.add.at(edges, runs.rows * stride + runs.starts + 1, run_labels)
    np.add.at(edges, runs.rows * stride + runs.ends + 1, -run_labels)
    labels[:] = np.cumsum(edges[:-1]).reshape(height, stride)[:, 1:-1]
    return labels, int(roots.size)


def _union_components(parent: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Connected components of a graph given as edge lists: hook larger roots onto smaller, then jump."""
    while True:
        root_first, root_second = parent[first], parent[second]
        different = root_first != root_second
        if not different.any():
            return parent
        smaller = np.minimum(root_first[different], root_second[different])
        larger = np.maximum(root_first[different], root_second[different])
        np.minimum.at(parent, larger, smaller)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


def remove_specks(
    soft_ink: np.ndarray, *, taps: bool = False, dots: bool = False
) -> tuple[np.ndarray | None, tuple[int, int, int, int] | None]:
    """Drop specks (under 5 % of the glyph's pixels or of its ink) and paper edges along the border; return the ink
    and its box (top, bottom, left, right). A small piece over, under or inside a kept one is kept when it is a tap of
    the pen: any such piece with ``taps`` (the canvas, where every piece of ink is the pen's, so none is a paper edge
    either), and with ``dots`` (an image) one that is a pen's dot (:data:`PEN_DOT`; the dot of an i, a ! or a ?)."""
    runs = _label_runs(soft_ink > 0)
    if runs.rows.size == 0:
        return None, None
    height, width = soft_ink.shape
    lengths = runs.ends - runs.starts
    areas = np.bincount(runs.labels, weights=lengths)
    on_top_or_bottom = (runs.rows == 0) | (runs.rows == height - 1)
    border_pixels = np.where(on_top_or_bottom, lengths, (runs.starts == 0).astype(int) + (runs.ends == width))
    border_contact = np.bincount(runs.labels, weights=border_pixels, minlength=areas.size)
    along_border = border_contact >= _BORDER_CONTACT_FRACTION * min(height, width)
    if along_border.any() and not taps:  # on the canvas every piece is the pen's: a 7's bar along the top is a digit
        inner_areas = np.where(along_border, 0.0, areas)
        if inner_areas.max() > 0 and _is_glyph_sized(runs, int(np.argmax(inner_areas)), soft_ink.shape):
            areas = inner_areas  # a table edge or shadow runs along the border; a digit only crosses it
        else:
            # Only shading runs along the border (a corner's vignetting, a shadow, a table edge): a blank sheet.
            # A digit cut by a tight crop runs along it too; the caller retries that one with a paper margin.
            return None, None
    largest = int(np.argmax(areas))
    if not _is_glyph_sized(runs, largest, soft_ink.shape):
        return None, None
    masses = np.bincount(runs.labels, weights=_run_sums(soft_ink, runs), minlength=areas.size)
    kept_components = (areas >= _SPECK_FRACTION * areas[largest]) & (masses >= _SPECK_FRACTION * masses[largest])
    if (taps or dots) and not kept_components[areas > 0].all():
        over_or_under = _taps_over_or_under(runs, kept_components, areas > 0)
        kept_components |= over_or_under if taps else _pen_dots(soft_ink, runs, kept_components, over_or_under)
    kept = kept_components[runs.labels]
    box = (
        int(runs.rows[kept].min()),
        int(runs.rows[kept].max()) + 1,
        int(runs.starts[kept].min()),
        int(runs.ends[kept].max()),
    )
    if kept.all():
        return soft_ink, box
    return np.where(_runs_mask(runs, kept, soft_ink.shape), soft_ink, np.float32(0.0)), box


def _runs_mask(runs: _Runs, chosen: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The pixels of the ``chosen`` runs (a flag per run)."""
    height, width = shape
    stride = width + 2
    edges = np.zeros(height * stride + 1, dtype=np.int8)
    edges[runs.rows[chosen] * stride + runs.starts[chosen] + 1] = 1
    edges[runs.rows[chosen] * stride + runs.ends[chosen] + 1] = -1
    return np.cumsum(edges[:-1], dtype=np.int8).reshape(height, stride)[:, 1:-1].astype(bool)


def _run_sums(soft_ink: np.ndarray, runs: _Runs) -> np.ndarray:
    """The ink in each run: a faint patch of shading holds little of it however many pixels it spans."""
    cumulative = np.zeros((soft_ink.shape[0], soft_ink.shape[1] + 1), dtype=np.float64)
    np.cumsum(soft_ink, axis=1, out=cumulative[:, 1:])
    return cumulative[runs.rows, runs.ends] - cumulative[runs.rows, runs.starts]


def _taps_over_or_under(runs: _Runs, kept: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Per component label: a dropped piece whose middle column lies within a kept piece's columns (or aside by
    :data:`_TAP_SLANT` of the gap between them), at most that piece's height above or below it, or within its rows
    (a smiley's eye, a dotted zero's dot)."""
    size = kept.size
    left, right = np.full(size, np.iinfo(np.int64).max), np.full(size, -1)
    top, bottom = np.full(size, np.iinfo(np.int64).max), np.full(size, -1)
    np.minimum.at(left, runs.labels, runs.starts)
    np.maximum.at(right, runs.labels, runs.ends)
    np.minimum.at(top, runs.labels, runs.rows)
    np.maximum.at(bottom, runs.labels, runs.rows + 1)
    pieces, dropped = np.flatnonzero(kept & present), np.flatnonzero(~kept & present)
    middle = ((left[dropped] + right[dropped]) / 2)[:, None]  # one row per dropped piece, a column per kept one
    gap = np.maximum(top[pieces][None, :] - bottom[dropped][:, None], top[dropped][:, None] - bottom[pieces][None, :])
    reach = _TAP_SLANT * np.maximum(gap, 0)  # a slanted "!" leaves its dot a little aside
    over = (left[pieces][None, :] - reach <= middle) & (middle <= right[pieces][None, :] + reach)
    taps = np.zeros(size, dtype=bool)
    taps[dropped] = np.any(over & (gap <= (bottom[pieces] - top[pieces])[None, :]), axis=1)
    return taps


def _pen_dots(soft_ink: np.ndarray, runs: _Runs, kept: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Per component label: the ``candidates`` that are a pen's dot (:data:`PEN_DOT` of the kept ink's pen width
    each way, and of its median darkness at the dot's peak); none when there are more than two (the paper's grain)."""
    dots = np.zeros(kept.size, dtype=bool)
    labels = np.flatnonzero(candidates)
    if not labels.size:
        return dots
    kept_mask = _runs_mask(runs, kept[runs.labels], soft_ink.shape)
    pen, darkness = pen_width(kept_mask), float(np.median(soft_ink[kept_mask]))
    for label in labels:
        mine = runs.labels == label
        rows, starts, ends = runs.rows[mine], runs.starts[mine], runs.ends[mine]
        height, width = int(rows.max() - rows.min()) + 1, int(ends.max() - starts.min())
        if min(height, width) < PEN_DOT * pen:
            continue  # dust
        peak = max(float(soft_ink[row, start:end].max()) for row, start, end in zip(rows, starts, ends, strict=True))
        dots[label] = peak >= PEN_DOT * darkness
    return dots if np.count_nonzero(dots) <= 2 else np.zeros(kept.size, dtype=bool)


def pen_width(mask: np.ndarray) -> float:
    """The width of the pen that drew ``mask``'s strokes: twice their area over their outline's length."""
    inner = mask.copy()
    inner[1:-1, 1:-1] &= mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    outline = int(mask.sum() - inner.sum())
    return 2.0 * float(mask.sum()) / outline if outline else 1.0


def _is_glyph_sized(runs: _Runs, label: int, shape: tuple[int, int]) -> bool:
    """Whether a component is big enough to be a digit rather than a speck."""
    members = runs.labels == label
    extent = max(
        int(runs.rows[members].max() - runs.rows[members].min()) + 1,
        int(runs.ends[members].max() - runs.starts[members].min()),
    )
    return extent >= max(_MIN_GLYPH_PIXELS, min(MIN_GLYPH_FRACTION * max(shape), _SHORT_SIDE_GLYPH * min(shape)))
