"""Evidence overlay pixels: orange for, blue against, faint evidence left clear, opacity scales alpha."""

from __future__ import annotations

import numpy as np
import pytest

from app.common.evidence import AGAINST_COLOR, FAINT, FOR_COLOR, evidence_qimage, evidence_rgba


def test_for_and_against_get_their_own_colours_and_the_stronger_wins():
    positive = np.array([[1.0, 0.0, 0.2]], np.float32)
    negative = np.array([[0.0, 2.0, 0.1]], np.float32)
    rgba = evidence_rgba(positive, negative, opacity=1.0)
    assert tuple(rgba[0, 0, :3]) == FOR_COLOR.getRgb()[:3] and rgba[0, 0, 3] == 255
    assert tuple(rgba[0, 1, :3]) == AGAINST_COLOR.getRgb()[:3] and rgba[0, 1, 3] == 255
    assert 0 < rgba[0, 2, 3] < 255  # weaker: partly transparent


def test_faint_evidence_stays_clear_and_opacity_scales_alpha():
    positive = np.array([[1.0, FAINT * 0.9, 0.6]], np.float32)
    full = evidence_rgba(positive, None, opacity=1.0)
    half = evidence_rgba(positive, None, opacity=0.5)
    assert full[0, 1, 3] == 0
    assert half[0, 0, 3] == pytest.approx(full[0, 0, 3] / 2, abs=1)
    assert evidence_rgba(positive, None, opacity=0.0)[..., 3].max() == 0


def test_bad_values_are_not_drawn_and_no_map_is_refused():
    rgba = evidence_rgba(np.array([[np.nan, np.inf, -1.0, 1.0]]), None, 1.0)
    assert rgba[0, :3, 3].tolist() == [0, 0, 0] and rgba[0, 3, 3] == 255
    with pytest.raises(ValueError):
        evidence_rgba(None, None, 1.0)
    assert evidence_qimage(np.ones((28, 28)), None, 0.5).size().width() == 28
