"""Every layer's output for one digit, in order: the network view's data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.inference.model_input import prepare_for_model
from ml.inspect.graph import trace_model
from ml.models.files import LoadedModel


@dataclass(frozen=True)
class LayerView:
    """One entry of the network view: a layer's output for the current digit."""

    name: str  # the Keras layer's name
    kind: str  # input, conv, pool, dense, logits, softmax, dropout, flatten, norm, activation, merge, other
    tower: str | None  # the tower's name in a multi-tower (ensemble) model, else None
    output_shape: tuple  # without the batch axis, e.g. (26, 26, 32)
    values: np.ndarray | None  # float32 output for the image, batch axis removed; None for dropout
    note: str  # e.g. "batch norm and ReLU folded in", "off at inference", ""


@dataclass(frozen=True)
class _Entry:
    name: str
    kind: str
    tower: str | None
    output_shape: tuple
    note: str
    output_index: int | None  # position in the compiled function's outputs; None for dropout


class NetworkTracer:
    """Built once per model (compiles a tf.function); trace() is cheap and may be called for every stroke."""

    def __init__(self, loaded: LoadedModel, fold: bool = True) -> None:
        """``fold``: batch norm and activation layers fold into the conv or dense before them (their notes say so)."""
        import tensorflow as tf

        self.loaded = loaded
        self.fold = fold
        self._input_shape = tuple(loaded.input_shape)
        self._entries: list[_Entry] = []
        model = loaded.model

        def every_output(batch):
            trace = trace_model(model, batch, fold)
            self._entries, tensors = [], []
            for step in trace.steps:
                index = None
                if step.tensor is not None:
                    index = len(tensors)
                    tensors.append(step.tensor)
                self._entries.append(_Entry(step.name, step.kind, step.tower, step.shape, step.note, index))
            return tensors

        self._run = tf.function(every_output, input_signature=[tf.TensorSpec((1, *self._input_shape), tf.float32)])
        self._run.get_concrete_function()  # traces now: the entries are known and the first trace() is fast
        towers = [entry.tower for entry in self._entries if entry.tower is not None]
        self.towers: list[str] = list(dict.fromkeys(towers))

    def model_input(self, image28: np.ndarray) -> np.ndarray:
        """The (1, …) batch the model receives for a 28x28 digit (8x8 models get their 8x8)."""
        image = np.asarray(image28, dtype=np.float32)
        if image.shape != (28, 28):
            raise ValueError(f"Expected a 28x28 digit, got shape {image.shape}.")
        return prepare_for_model(image[None], self._input_shape, self.loaded.metadata)

    def trace(self, image28: np.ndarray) -> list[LayerView]:
        """Every layer's output for a 28x28 white-on-black digit in [0, 1]: input, each layer, logits, softmax."""
        outputs = self._run(self.model_input(image28))
        views = []
        for entry in self._entries:
            values = None
            if entry.output_index is not None:
                values = np.asarray(outputs[entry.output_index], dtype=np.float32)[0]
            views.append(LayerView(entry.name, entry.kind, entry.tower, entry.output_shape, values, entry.note))
        return views

    def describe(self) -> list[dict]:
        """``[{"name", "type", "output_shape"}]`` for every entry, without running the model."""
        return [
            {"name": entry.name, "type": entry.kind, "output_shape": list(entry.output_shape)}
            for entry in self._entries
        ]
