"""The model controller's close path: what the model thread reports after the window closed opens nothing."""

from __future__ import annotations

import pytest

from app.models.controller import ModelController


@pytest.mark.parametrize(
    ("worker_signal", "window_signal", "argument"),
    [
        ("export_finished", "export_finished", {"path": "/tmp/digitlab-best.tflite", "lines": ["verified"]}),
        ("export_failed", "export_failed", "the disk is full"),
        ("model_load_failed", "model_load_failed", {"path": "x.keras", "message": "damaged", "startup": True}),
        ("model_save_failed", "model_save_failed", "the disk is full"),
        ("backend_failed", "backend_failed", "TensorFlow did not import"),
    ],
)
def test_a_result_that_arrives_after_shutdown_reaches_no_window(qtbot, worker_signal, window_signal, argument):
    """Quitting during an export: its "Model exported" box then opened with the window gone and kept the process
    running, invisible, until someone found the box."""
    controller = ModelController([])  # never started: the worker's signals are emitted here, in this thread
    received = []
    getattr(controller, window_signal).connect(received.append)
    getattr(controller._worker, worker_signal).emit(argument)
    assert received == [argument]  # while the window is open, it is told
    controller.shutdown()
    getattr(controller._worker, worker_signal).emit(argument)
    assert received == [argument]
