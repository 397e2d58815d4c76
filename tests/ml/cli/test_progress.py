"""Ctrl+C during ``digitlab train`` (:class:`ml.cli.progress.StopRequest`), with the signal simulated in-process."""

from __future__ import annotations

import io
import signal
from types import SimpleNamespace

import pytest

from ml.cli.progress import StopRequest


def batch(epoch: int, batch_number: int) -> dict:
    return {"epoch": epoch, "epochs": 2, "batch": batch_number, "steps": 10}


def test_a_stop_during_training_stops_after_the_batch_and_a_second_aborts():
    stream = io.StringIO()
    stop = StopRequest(stream)
    stop.on_batch(batch(2, 9))
    stop(signal.SIGINT, None)
    assert stop.is_set() and "Stopping after this batch" in stream.getvalue()
    assert stop.came_too_late(SimpleNamespace(stopped_by_user=True)) is None
    with pytest.raises(KeyboardInterrupt):
        stop(signal.SIGINT, None)


def test_a_stop_after_the_last_batch_says_the_run_is_finished_and_saved():
    stream = io.StringIO()
    stop = StopRequest(stream)
    stop.on_batch(batch(2, 10))
    stop(signal.SIGINT, None)
    assert "Stopping after this batch" not in stream.getvalue()
    assert "finished training" in stream.getvalue() and "saved" in stream.getvalue()
    late = stop.came_too_late(SimpleNamespace(stopped_by_user=False))
    assert "had already finished training; saving it" in late


def test_no_stop_says_nothing():
    assert StopRequest(io.StringIO()).came_too_late(SimpleNamespace(stopped_by_user=False)) is None
