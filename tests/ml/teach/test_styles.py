"""The synthetic handwriting styles: outlines are hollow rings round the strokes; a slant leans the tops right."""

from __future__ import annotations

import numpy as np

from ml.teach.styles import outline_digits, slanted_digits


def _bar() -> np.ndarray:
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 4:24, 12:16] = 1.0  # a vertical stroke, 4 pixels wide
    return image


def test_an_outline_is_hollow_and_lies_on_the_strokes_edges():
    rows, columns = np.mgrid[:28, :28]
    ring = np.hypot(rows - 13.5, columns - 13.5)
    stroke = ((ring > 4) & (ring < 9)).astype(np.float32)  # an "0" whose stroke is 5 pixels wide
    outline = outline_digits(stroke[None])[0]
    assert set(np.unique(outline)) == {0.0, 1.0} and 0 < outline.sum() < stroke.sum() / 3
    padded = np.pad(stroke, 1)
    for row, column in zip(*np.nonzero(outline), strict=True):
        around = padded[row : row + 3, column : column + 3]
        assert around.min() == 0 and around.max() == 1  # on an edge, never inside the stroke or far from it


def test_a_slant_moves_the_top_right_and_the_bottom_left_and_keeps_the_ink():
    image = _bar()
    slanted = slanted_digits(image, 0.5)[0]
    columns = np.arange(28)

    def centre(row: int) -> float:
        return float((slanted[row] * columns).sum() / slanted[row].sum())

    assert centre(5) > 13.5 + 3 and centre(22) < 13.5 - 3  # about 0.5 px per row from the centre row
    assert abs(slanted.sum() - image.sum()) / image.sum() < 0.1
    assert np.allclose(slanted_digits(image, 0.0)[0], image[0])
