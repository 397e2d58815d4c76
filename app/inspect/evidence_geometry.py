"""Where a 28x28 evidence map lies on the picture that was predicted: the preprocessing's crop and scale, undone."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BACKGROUND_REMOVED = "background removed"
MAX_OVERLAY_SIDE = 140  # the overlay is drawn smoothly scaled, and evidence is smooth: enough for any picture


def ink_box(image: np.ndarray, threshold: float = 0.0) -> tuple[float, float, float, float] | None:
    """(top, bottom, left, right) edges of the pixels above ``threshold``, or None when there are none."""
    rows = np.flatnonzero(np.any(image > threshold, axis=1))
    columns = np.flatnonzero(np.any(image > threshold, axis=0))
    if rows.size == 0 or columns.size == 0:
        return None
    return float(rows[0]), float(rows[-1] + 1), float(columns[0]), float(columns[-1] + 1)


def bilinear(image: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``image`` sampled at fractional pixel-centre coordinates (0 outside)."""
    height, width = image.shape
    padded = np.pad(np.asarray(image, dtype=np.float32), 1)
    r = np.clip(rows + 1.0, 0.0, height + 1.0 - 1e-6)
    c = np.clip(columns + 1.0, 0.0, width + 1.0 - 1e-6)
    r0, c0 = np.floor(r).astype(np.intp), np.floor(c).astype(np.intp)
    r1, c1 = np.minimum(r0 + 1, height + 1), np.minimum(c0 + 1, width + 1)
    fr, fc = (r - r0)[:, None], (c - c0)[None, :]
    top = padded[np.ix_(r0, c0)] * (1 - fc) + padded[np.ix_(r0, c1)] * fc
    bottom = padded[np.ix_(r1, c0)] * (1 - fc) + padded[np.ix_(r1, c1)] * fc
    return top * (1 - fr) + bottom * fr


def map_to_picture(
    map28: np.ndarray | None, image28: np.ndarray, stages: Sequence[tuple[str, np.ndarray]]
) -> np.ndarray | None:
    """A 28x28 map (in the model's input) placed on the predicted picture's frame, at most 140 px on a side.

    The picture's ink box (after background removal) and the 28x28 digit's ink box share their centres, and
    their longer sides set the scale, which is how the preprocessing cropped, scaled and centred the digit.
    None when there is no map or the stages do not say where the ink was.
    """
    if map28 is None:
        return None
    frame = next((image for name, image in stages if name == BACKGROUND_REMOVED), None)
    if frame is None:
        return None
    picture_box = ink_box(np.asarray(frame))
    digit_box = ink_box(np.asarray(image28), threshold=0.05)
    if picture_box is None or digit_box is None:
        return None
    height, width = np.asarray(frame).shape
    picture_side = max(picture_box[1] - picture_box[0], picture_box[3] - picture_box[2])
    digit_side = max(digit_box[1] - digit_box[0], digit_box[3] - digit_box[2])
    scale = picture_side / digit_side  # picture pixels per input pixel
    picture_centre = ((picture_box[0] + picture_box[1]) / 2, (picture_box[2] + picture_box[3]) / 2)
    digit_centre = ((digit_box[0] + digit_box[1]) / 2, (digit_box[2] + digit_box[3]) / 2)
    step = max(1.0, max(height, width) / MAX_OVERLAY_SIDE)
    out_rows = (np.arange(int(np.ceil(height / step))) + 0.5) * step
    out_columns = (np.arange(int(np.ceil(width / step))) + 0.5) * step
    rows28 = digit_centre[0] + (out_rows - picture_centre[0]) / scale - 0.5
    columns28 = digit_centre[1] + (out_columns - picture_centre[1]) / scale - 0.5
    return bilinear(np.asarray(map28, dtype=np.float32), rows28, columns28)
