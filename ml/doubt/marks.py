"""A mark no digit has: a dot set apart above or below the stroke, as in "!", "?", "i", "j", ";" or "ö".

No digit in any style is written with a separate dot over or under it, while the network sees a "!" or an "i" as a
"1" and a "?" as a "3" or a "7" with a speck. This is a rule, not a fitted score: the verdict refuses such a drawing
whatever its score (``ml.doubt.verdict``). Numpy in, bool out.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ml.doubt.features import INK

DOT_MIN_PIXELS = 4
"""A dot has at least this many ink pixels of the 28x28 (a smaller piece is a speck of the paper or the scan)."""
DOT_MAX_SIDE = 8
"""... spans at most this many pixels each way (the glyph's longer side is 20) ..."""
DOT_MAX_ROUNDNESS = 1
"""... is as tall as it is wide, give or take this many pixels (a broken stroke's piece is long) ..."""
DOT_MAX_SHARE = 0.8
"""... holds at most this share of the main stroke's ink ..."""
DOT_MIN_PEAK = 0.95
"""... and is solid ink somewhere (a faint smudge is not a dot)."""
_EIGHT = np.ones((3, 3), dtype=bool)


def detached_dot(image28: np.ndarray) -> bool:
    """Whether a 28x28 white-on-black image holds a dot apart from its main stroke, wholly above or below it, its
    centre within the stroke's columns.

    Chosen on drawings of "!", "?", "i", "j" and ";" by pen and in fonts that the not-a-digit benchmark does not use,
    and on MNIST's training digits (19 of 60,000 hold such a dot: a stray mark of the scan; 3 of the 10,000 test
    digits)."""
    image = np.asarray(image28, dtype=np.float32)
    labels, count = ndimage.label(image >= INK, structure=_EIGHT)
    if count < 2:
        return False
    pieces = np.arange(1, count + 1)
    masses = ndimage.sum(image, labels, pieces)
    sizes = ndimage.sum(np.ones_like(image), labels, pieces)
    peaks = ndimage.maximum(image, labels, pieces)
    boxes = ndimage.find_objects(labels)
    main = int(np.argmax(masses))
    main_rows, main_columns = boxes[main]
    for index, (rows, columns) in enumerate(boxes):
        if index == main:
            continue
        height, width = rows.stop - rows.start, columns.stop - columns.start
        dot_shaped = (
            sizes[index] >= DOT_MIN_PIXELS
            and max(height, width) <= DOT_MAX_SIDE
            and abs(height - width) <= DOT_MAX_ROUNDNESS
            and masses[index] <= DOT_MAX_SHARE * masses[main]
            and peaks[index] >= DOT_MIN_PEAK
        )
        apart = rows.stop < main_rows.start or rows.start > main_rows.stop  # a blank row between
        centre = (columns.start + columns.stop - 1) / 2
        if dot_shaped and apart and main_columns.start <= centre <= main_columns.stop - 1:
            return True
    return False
