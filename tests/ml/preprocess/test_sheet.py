"""A photo of a sheet lying on a desk: the sheet is found (all round, on one side, turned) and read alone, as the photo
of the sheet alone reads; a canvas, a photo filling the frame, MNIST's own white-on-black digits and a bold white
digit on black are never taken for a sheet; a blank sheet reads as blank."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from ml.doubt.drawing import as_photo
from ml.preprocess.pipeline import find_ink, to_mnist
from ml.preprocess.sheet import find_sheet, isolate_sheet
from tests.ml.numbers.pen import draw_number

DESK = 40  # a dark desk's grey level (0-255)


def photo_of(digits: str, seed: int = 0) -> np.ndarray:
    """``digits`` written with the pen and photographed on paper that fills the frame (uint8)."""
    picture, _ = draw_number(digits, height=110, pen=14)
    return as_photo(picture, np.random.default_rng(seed))


def turned(photo: np.ndarray, ground: int) -> np.ndarray:
    """The photo turned by 9 degrees, the corners it uncovers filled with ``ground``."""
    picture = Image.fromarray(photo).rotate(9, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=ground)
    return np.asarray(picture)


def on_desk(photo: np.ndarray, how: str) -> np.ndarray:
    """The photographed sheet on a dark desk: ``how`` is "round", "one side" or "turned"."""
    if how == "round":
        return np.pad(photo, 40, constant_values=DESK)
    if how == "one side":
        return np.pad(photo, ((0, 0), (50, 0)), constant_values=DESK)
    return np.pad(turned(photo, DESK), 20, constant_values=DESK)


@pytest.mark.parametrize("how", ["round", "one side", "turned"])
def test_a_digit_on_a_sheet_on_a_desk_reads_as_the_sheet_alone_does(how):
    photo = photo_of("7")
    alone = to_mnist(turned(photo, int(np.median(photo))) if how == "turned" else photo)
    on = to_mnist(on_desk(photo, how))
    assert alone.image is not None and on.image is not None
    assert np.corrcoef(alone.image.ravel(), on.image.ravel())[0, 1] > 0.9
    assert on.stages[1].name == "the sheet alone" and len(on.stages) == len(alone.stages) + 1


def test_the_sheet_is_found_inside_its_edges_and_the_desk_within_its_box_is_painted_over():
    photo = photo_of("4")
    framed = on_desk(photo, "turned").astype(np.float32) / 255.0
    sheet = find_sheet(framed)
    assert sheet is not None
    top, left, bottom, right = sheet.box
    assert 0 < top and 0 < left and bottom < framed.shape[0] and right < framed.shape[1]
    crop = isolate_sheet(framed, sheet)
    assert crop.shape == sheet.mask.shape and not sheet.mask.all()  # a turned sheet leaves desk corners in its box
    assert crop[~sheet.mask].min() > 0.5  # painted the paper's grey, not the desk's


def test_a_numbers_boxes_are_given_in_the_photos_own_pixels():
    photo = photo_of("35")
    framed = on_desk(photo, "round")
    ink_alone, ink_on_desk = find_ink(photo), find_ink(framed)
    assert ink_on_desk.offset[0] >= 40 and ink_on_desk.offset[1] >= 40
    rows_alone = np.flatnonzero(ink_alone.soft_ink.max(axis=1) > 0.5)
    rows_on_desk = np.flatnonzero(ink_on_desk.soft_ink.max(axis=1) > 0.5) + ink_on_desk.offset[0]
    assert abs(int(rows_on_desk[0]) - (int(rows_alone[0]) + 40)) <= 2  # the same ink, moved by the desk's width


def test_a_blank_sheet_on_a_desk_reads_as_blank():
    blank = as_photo(np.full((220, 300), 255, np.uint8), np.random.default_rng(1))
    result = to_mnist(np.pad(blank, 40, constant_values=DESK))
    assert result.image is None and result.blank


def test_images_that_are_not_a_sheet_on_a_desk_are_read_whole():
    from ml.assets import bundled_mnist_path

    with np.load(bundled_mnist_path()) as arrays:
        digits = arrays["x_test"][:300].astype(np.float32) / 255.0
    bold = [ndimage.grey_dilation(np.clip(np.kron(d, np.ones((10, 10), np.float32)) * 3, 0, 1), size=(15, 15))
            for d in digits[:60]]  # fmt: skip
    canvas, _ = draw_number("80", height=150, pen=30)
    not_sheets = [
        *digits,  # MNIST's own white-on-black 28x28
        *bold,  # bold white digits on black, holes and all (a bold 0 is a solid-looking oval)
        canvas.astype(np.float32) / 255.0,  # the canvas: black on white
        photo_of("80").astype(np.float32) / 255.0,  # a photo whose paper fills the frame
        1.0 - canvas.astype(np.float32) / 255.0,  # light ink on a dark ground (a blackboard)
    ]
    assert all(find_sheet(image) is None for image in not_sheets)


def wooden_desk(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A wooden desk's grain, mid-dark and wavy (float, 0-255)."""
    rows, columns = np.mgrid[0:height, 0:width]
    grain = 60 + 20 * np.sin(columns / 7.0 + 3 * np.sin(rows / 40.0))
    return grain + np.random.default_rng(seed).normal(0.0, 6.0, (height, width))


def note_on_desk(note: np.ndarray, share: float) -> np.ndarray:
    """``note`` (a photographed sheet, uint8) lying in the middle of a wooden desk, covering ``share`` of the photo."""
    side = round(np.sqrt(note.shape[0] * note.shape[1] / share))
    desk = wooden_desk(side, side)
    top, left = (side - note.shape[0]) // 2, (side - note.shape[1]) // 2
    desk[top : top + note.shape[0], left : left + note.shape[1]] = note
    return np.clip(desk, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("share", [0.08, 0.12, 0.2])
def test_a_small_note_with_a_digit_on_a_wooden_desk_reads_as_the_note_alone_does(share):
    note = photo_of("3")
    alone = to_mnist(note).image
    result = to_mnist(note_on_desk(note, share))
    assert not result.blank, result.reason
    assert "the sheet alone" in [stage.name for stage in result.stages]
    assert np.corrcoef(result.image.ravel(), alone.ravel())[0, 1] > 0.9


def test_a_small_light_patch_without_writing_is_no_note():
    blank_card = np.full((120, 90), 235, dtype=np.uint8)
    assert find_sheet(note_on_desk(blank_card, 0.12).astype(np.float32) / 255.0) is None
