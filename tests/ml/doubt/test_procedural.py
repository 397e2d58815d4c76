"""Procedural material for the not-a-digit detector: every family draws 28x28 images as the window reads them, the
same seed draws the same images, glyphs a font lacks are never drawn as its "missing glyph" box, none of the held-out
benchmark's fonts is used, and the benchmark's letters and signs are printed only by the common characters' family."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont

from ml.doubt.drawing import find_font
from ml.doubt.material import DIGIT, NOT_A_DIGIT
from ml.doubt.procedural import (
    COMMON_CHARACTERS,
    COMMON_FAMILY,
    PROCEDURAL_FAMILIES,
    TRAINING_FONTS,
    TRAINING_SCRIPTS,
    VALIDATION_FAMILIES,
    VALIDATION_FONTS,
    VALIDATION_SCRIPTS,
    common_character_family,
    elastic_warp,
    has_glyph,
    procedural_families,
    validation_families,
)

BENCH = Path(__file__).resolve().parents[3] / "bench"


def digits_and_labels(count: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Simple fake training digits: a vertical bar (a 1) and a ring (a 0)."""
    images = np.zeros((count, 28, 28), np.float32)
    images[::2, 4:24, 12:16] = 1.0
    rows, columns = np.mgrid[0:28, 0:28]
    ring = np.abs(np.hypot(rows - 14, columns - 14) - 8) < 2
    images[1::2][:, ring] = 1.0
    return images, np.array([1, 0] * (count // 2))


def test_every_family_draws_window_like_images_and_the_same_seed_draws_the_same():
    images, labels = digits_and_labels()
    families = procedural_families(images, labels) + validation_families() + [common_character_family()]
    assert [family.name for family in families] == [*PROCEDURAL_FAMILIES, *VALIDATION_FAMILIES, COMMON_FAMILY]
    for family in families:
        material = family.make(12, 3)
        assert material.images.shape[1:] == (28, 28) and len(material.images) + material.blank == 12, family.name
        assert material.images.dtype == np.float32 and 0.0 <= material.images.min() <= material.images.max() <= 1.0
        assert material.images.max() > 0.9, family.name  # ink, not an empty picture
        if family.kind == DIGIT:
            assert set(material.labels.tolist()) <= set(range(10)), family.name
        else:
            assert family.kind == NOT_A_DIGIT and (material.labels == -1).all(), family.name
        again = family.make(12, 3)
        assert np.array_equal(material.images, again.images), family.name
    first, other = families[0].make(6, 3), families[0].make(6, 4)
    assert not np.array_equal(first.images, other.images)


def test_a_glyph_the_font_lacks_is_not_taken_for_a_glyph():
    path = find_font("DejaVuSans.ttf")
    if path is None:
        pytest.skip("DejaVu Sans is not installed")
    font = ImageFont.truetype(str(path), 48)
    assert has_glyph(font, "K") and has_glyph(font, "Ж")
    assert not has_glyph(font, " ")  # no ink
    assert not has_glyph(font, "\u0378")  # unassigned: DejaVu's "missing glyph" box


def test_an_elastic_warp_moves_ink_smoothly_and_keeps_the_range():
    rng = np.random.default_rng(0)
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = 1.0
    warped = elastic_warp(image, rng, alpha=2.0, sigma=4.0)
    assert warped.shape == image.shape and 0.0 <= warped.min() <= warped.max() <= 1.0
    assert not np.allclose(warped, image)
    assert abs(warped.sum() - image.sum()) < 0.35 * image.sum()  # moved, not erased or smeared everywhere


def test_the_benchmark_keeps_its_fonts_and_the_unseen_script_stays_unseen():
    """Since 7 December the detector learns the benchmark's letters and signs, printed in its own fonts only; the
    benchmark's font families, and the script kept for checking, stay out of everything it learns."""
    sys.path.insert(0, str(BENCH))
    try:
        from doubt_heldout import HELD_OUT_FONTS, HELD_OUT_PRINTED_LETTERS, HELD_OUT_SYMBOLS
    finally:
        sys.path.remove(str(BENCH))
    from ml.doubt.templates import HELD_OUT_LETTERS

    held_out = set(HELD_OUT_PRINTED_LETTERS) | set(HELD_OUT_SYMBOLS) | set("".join(HELD_OUT_LETTERS))
    assert held_out <= set(COMMON_CHARACTERS)
    assert not held_out & set(TRAINING_SCRIPTS + VALIDATION_SCRIPTS)  # printed by the common characters' family alone
    assert not set(TRAINING_SCRIPTS + COMMON_CHARACTERS) & set(VALIDATION_SCRIPTS)
    family_of = lambda name: name.split("-")[0].split(".")[0]  # noqa: E731
    held_out_families = {family_of(name) for name in HELD_OUT_FONTS}
    assert not held_out_families & {family_of(name) for name in TRAINING_FONTS}
    assert not set(TRAINING_FONTS) & set(VALIDATION_FONTS)
    assert not set("0123456789") & set(TRAINING_SCRIPTS + VALIDATION_SCRIPTS + COMMON_CHARACTERS)


def test_a_zero_is_never_crossed_out_and_a_seven_never_by_one_line(monkeypatch):
    """A 0 with one line through it is a slashed zero, a 7 with one line a barred seven: both are digits."""
    from ml.doubt import procedural

    images, labels = digits_and_labels(60)
    images[:, 0, 0] = np.where(labels == 0, 0.5, 0.25)  # a marker: which digit was drawn
    labels[::6] = 7
    images[labels == 7, 0, 0] = 0.75
    crossed, line_counts = [], []
    real_pen = procedural.pressure_pen
    monkeypatch.setattr(
        procedural,
        "digit_on_canvas",
        lambda image, rng, **_: crossed.append(float(image[0, 0])) or np.full((280, 280), 255, np.uint8),
    )

    def counting_pen(strokes, width, rng, box):
        points = np.asarray(strokes[0])
        straight = np.abs(np.cross(points[-1] - points[0], points - points[0])).max() < 1e-9
        line_counts.append((crossed[-1] if crossed else None, len(strokes), straight))
        return real_pen(strokes, width, rng, box)

    monkeypatch.setattr(procedural, "pressure_pen", counting_pen)
    draw_one = procedural.crossed_or_paired_digits(images, labels)
    rng = np.random.default_rng(0)
    for _ in range(300):
        draw_one(rng)
    markers = [marker for marker in crossed if marker in (0.25, 0.5, 0.75)]
    assert markers.count(0.25) > 30 and markers.count(0.75) > 10
    assert 0.5 not in markers
    sevens_lined = [count for marker, count, straight in line_counts if marker == 0.75 and straight]
    assert sevens_lined and min(sevens_lined) >= 2  # crossed out by lines: at least two over a 7
    others_lined = [count for marker, count, straight in line_counts if marker == 0.25 and straight]
    assert min(others_lined) == 1  # one line is enough over another digit
