"""The explain overlay: colours for and against, a readable digit, an atomic PNG."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ml.inspect.overlay import AGAINST_RGB, FOR_RGB, overlay_image, overlay_rgb, write_png_atomically


def test_the_stronger_evidence_colours_each_pixel_and_faint_evidence_leaves_the_digit():
    digit = np.zeros((28, 28), np.float32)
    digit[10, 10] = 1.0
    positive = np.zeros((28, 28), np.float32)
    negative = np.zeros((28, 28), np.float32)
    positive[0, 0], negative[0, 1] = 1.0, 1.0
    positive[0, 2], negative[0, 2] = 0.3, 0.9  # against wins
    positive[0, 3] = 0.1  # under the faint threshold
    pixels = overlay_rgb(digit, positive, negative, opacity=1.0)
    assert tuple(pixels[0, 0]) == FOR_RGB and tuple(pixels[0, 1]) == AGAINST_RGB
    assert pixels[0, 2, 2] > pixels[0, 2, 0]  # blue
    assert tuple(pixels[0, 3]) == tuple(pixels[5, 5]) == (20, 20, 20)  # paper
    assert tuple(pixels[10, 10]) == (220, 220, 220)  # ink


def test_the_png_is_written_whole_with_ordinary_permissions(tmp_path):
    picture = overlay_image(np.zeros((28, 28)), np.ones((28, 28)), np.zeros((28, 28)), "Grad-CAM for 7")
    path = write_png_atomically(picture, tmp_path / "seven.png")
    assert [entry.name for entry in tmp_path.iterdir()] == ["seven.png"]
    with Image.open(path) as written:
        assert written.size == (280, 302) and written.getpixel((140, 140)) != (20, 20, 20)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
