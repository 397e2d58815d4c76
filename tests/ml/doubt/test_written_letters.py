"""Letters written with a pen for the not-a-digit detector: each program draws its letter with random proportions, the
family draws window-like non-digits, and the same seed draws the same."""

from __future__ import annotations

import numpy as np

from ml.doubt.material import NOT_A_DIGIT
from ml.doubt.templates import LETTERS
from ml.doubt.written_letters import (
    LETTER_PROGRAMS,
    WRITTEN_LETTERS_FAMILY,
    printed_e,
    written_letters_family,
)


def test_the_family_draws_window_like_non_digits_and_the_same_seed_draws_the_same():
    family = written_letters_family()
    assert family.name == WRITTEN_LETTERS_FAMILY and family.kind == NOT_A_DIGIT
    material = family.make(30, 5)
    assert material.images.shape[1:] == (28, 28) and len(material.images) + material.blank == 30
    assert material.images.dtype == np.float32 and 0.0 <= material.images.min() <= material.images.max() <= 1.0
    assert set(material.labels.tolist()) == {-1}
    assert np.array_equal(material.images, family.make(30, 5).images)
    assert not np.array_equal(material.images, family.make(30, 6).images)


def test_every_program_draws_with_random_proportions_inside_its_box():
    rng = np.random.default_rng(0)
    for maker, letter, share in LETTER_PROGRAMS:
        first, second = maker(rng), maker(rng)
        assert first != second, maker.__name__  # a program, not one template
        assert letter.isalpha() and letter.islower() and share > 0
        points = np.concatenate([np.asarray(stroke) for stroke in first])
        assert points.min() > -0.3 and points.max() < 1.3, maker.__name__


def test_no_program_writes_a_letter_that_passes_for_a_digit():
    assert not {letter for _, letter, _ in LETTER_PROGRAMS} & set("olizsbgqt")


def test_an_e_crosses_its_bar_and_stays_open_at_the_lower_right():
    rng = np.random.default_rng(1)
    for _ in range(100):
        (stroke,) = printed_e(rng)
        points = np.asarray(stroke)
        bar_start, bar_end = points[0], points[np.argmax(points[:, 0])]
        assert bar_end[0] - bar_start[0] > 0.6  # the bar runs across the letter
        end = points[-1]
        assert end[0] > 0.5 and end[1] > 0.5  # it ends at the lower right, away from the bar's start


def test_the_benchmarks_hand_drawn_templates_are_not_what_the_programs_draw():
    rng = np.random.default_rng(2)
    (stroke,) = printed_e(rng)
    template = np.asarray(LETTERS["e"][0])
    assert len(stroke) != len(template) or not np.allclose(np.asarray(stroke), template, atol=0.02)


def test_the_shipped_detector_refuses_written_letters_drawn_with_a_seed_it_never_learnt_from():
    """One of the detector's two networks learnt this family (its material seeds are 20,000 and up)."""
    from ml.doubt.detector import detector_path, read_detector
    from ml.doubt.detector_digest import DETECTOR_FIGURES

    letters = written_letters_family().make(40, 3)
    scores = read_detector(detector_path()).scores(letters.images)
    assert (scores >= DETECTOR_FIGURES["logit_refusing_1pct_validation"]).mean() >= 0.9
