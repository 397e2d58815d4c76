"""The GIL hand-over interval the window asks for while the model thread runs Python."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from PySide6.QtCore import QObject, Signal, Slot

from app.common.threads import WINDOW_THREAD_SWITCH_INTERVAL_S, hand_the_gil_back_quickly, start_worker_thread


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


class ShortJob(QObject):
    """A one-shot worker that runs a moment and says so."""

    finished = Signal()

    @Slot()
    def run(self) -> None:
        """Work for 50 ms, then finish."""
        threading.Event().wait(0.05)
        self.finished.emit()


def test_a_job_ending_while_the_window_thread_waits_for_it_ends_its_thread(qtbot):
    """As the window closes, its thread blocks in ``wait()``: the job's end must stop the thread without it."""
    thread = start_worker_thread(ShortJob(), "ShortJobThread", lambda: None)
    started = time.perf_counter()
    assert thread.wait(3000), "the thread ran on: its quit() was queued to the waiting window thread"
    assert time.perf_counter() - started < 2
    qtbot.wait(10)  # the thread's finished→deleteLater runs
