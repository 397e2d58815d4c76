"""The GIL hand-over interval the window asks for while the model thread runs Python."""

from __future__ import annotations

import sys

import pytest

from app.common.threads import WINDOW_THREAD_SWITCH_INTERVAL_S, hand_the_gil_back_quickly


@pytest.fixture
def restored_switch_interval():
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


def test_the_default_five_ms_interval_is_cut_to_one_ms(restored_switch_interval):
    sys.setswitchinterval(0.005)
    hand_the_gil_back_quickly()
    assert sys.getswitchinterval() == pytest.approx(WINDOW_THREAD_SWITCH_INTERVAL_S)
    assert WINDOW_THREAD_SWITCH_INTERVAL_S <= 0.001


def test_a_shorter_interval_set_elsewhere_is_kept(restored_switch_interval):
    sys.setswitchinterval(0.0002)
    hand_the_gil_back_quickly()
    assert sys.getswitchinterval() == pytest.approx(0.0002, rel=0.02)  # Python keeps it in whole microseconds
