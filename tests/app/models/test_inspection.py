"""The model thread's inspection tools: every failure reaches the Look inside panel as one plain line."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from app.models.inspection import InspectionTools

TENSORFLOW_STYLE_MESSAGE = """in user code:

    File "/work/main/ml/inspect/layers.py", line 50, in every_output  *
        trace = trace_model(model, batch, fold)
    File "/work/main/ml/inspect/graph.py", line 124, in run  *
        outputs = self._walk(self.model, inputs)

    TypeError: Failed to convert elements of <ReLU name=Conv1_relu, built=True> to Tensor."""


def test_a_failure_inside_a_traced_function_is_shown_as_one_line_without_its_traceback(monkeypatch) -> None:
    """A tf.function's error carries the traced code's traceback in its message; the panel showed all of it."""
    import ml.inspect.filters

    def failing_filters(_loaded):
        raise TypeError(TENSORFLOW_STYLE_MESSAGE)

    monkeypatch.setattr(ml.inspect.filters, "conv_filters", failing_filters)
    slot = SimpleNamespace(loaded=SimpleNamespace(display_name="mobilenet"))

    result = InspectionTools().run(slot, 7, np.zeros((28, 28), np.float32), {"filters": True})

    assert result["request_id"] == 7 and result["filters"] is None
    assert result["error"] == (
        "Could not look inside the model: TypeError: Failed to convert elements of <ReLU name=Conv1_relu, "
        "built=True> to Tensor."
    )
    assert "\n" not in result["error"] and "File " not in result["error"]


def test_a_plain_failure_keeps_its_message(monkeypatch) -> None:
    import ml.inspect.filters

    def failing_filters(_loaded):
        raise ValueError("the kernel is not 4-D")

    monkeypatch.setattr(ml.inspect.filters, "conv_filters", failing_filters)
    slot = SimpleNamespace(loaded=SimpleNamespace(display_name="m"))

    result = InspectionTools().run(slot, 1, None, {"filters": True})

    assert result["error"] == "Could not look inside the model: ValueError: the kernel is not 4-D"
