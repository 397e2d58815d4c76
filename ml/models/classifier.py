"""Is a Keras model a classifier Digit Lab can use, and does it end in a softmax?"""

from __future__ import annotations

from typing import Any

import keras

from ml.errors import ModelFileError


def check_classifier(model: keras.Model) -> int:
    """Return the number of classes; raise ModelFileError unless the model maps one input to (None, k>=2)."""
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, ValueError) as error:
        raise ModelFileError(
            "The model has no defined inputs and outputs (it was never built), so Digit Lab cannot use it."
        ) from error
    if len(inputs) != 1:
        raise ModelFileError(
            f"The model has {len(inputs)} inputs; Digit Lab needs a model with exactly one image input."
        )
    if len(outputs) != 1:
        raise ModelFileError(
            f"The model has {len(outputs)} outputs; Digit Lab needs a classifier with exactly one output."
        )
    shape = tuple(outputs[0].shape)
    if len(shape) != 2 or shape[1] is None or int(shape[1]) < 2:
        raise ModelFileError(
            f"The model is not a classifier: its output has shape {_format_shape(shape)}, but Digit Lab "
            "needs one score per class, shape (None, k) with k >= 2 (a regression head or an image output "
            "cannot be shown as class probabilities)."
        )
    return int(shape[1])


PROBABILITY_ACTIVATIONS = ("softmax", "sigmoid")
"""Output activations whose values are already class probabilities: a softmax's, or one sigmoid per class (a head
trained one-vs-rest with binary cross-entropy), whose scores ``ml.inference.calibration.as_probabilities`` divides
by their sum. A softmax over either would squash a sure 0.99 to about 0.2."""


def outputs_probabilities(model: keras.Model) -> bool:
    """True if the layer producing the output applies softmax (or a sigmoid per class); otherwise logits."""
    return _produces_probabilities(_output_operation(model))


def ends_in_sigmoids(model: keras.Model) -> bool:
    """True if the output layer applies one sigmoid per class: probabilities, but not summing to 1."""
    operation = _output_operation(model)
    return getattr(getattr(operation, "activation", None), "__name__", None) == "sigmoid"


def _produces_probabilities(operation: Any) -> bool:
    """A softmax or sigmoid layer or activation, or an average of branches that each end in one (an ensemble)."""
    if type(operation).__name__ == "Softmax":
        return True
    if getattr(getattr(operation, "activation", None), "__name__", None) in PROBABILITY_ACTIVATIONS:
        return True
    if type(operation).__name__ == "Average" and getattr(operation, "_inbound_nodes", None):
        branches = [tensor._keras_history.operation for tensor in operation._inbound_nodes[0].input_tensors]
        return bool(branches) and all(_produces_probabilities(branch) for branch in branches)
    return False


def _output_operation(model: keras.Model) -> Any:
    """The layer (or op) that produces the model's output, looking inside nested models."""
    try:
        operation = model.outputs[0]._keras_history.operation
    except (AttributeError, IndexError, ValueError):
        operation = model.layers[-1] if model.layers else None
    if isinstance(operation, keras.Model) and operation is not model:
        return _output_operation(operation)
    return operation


def _format_shape(shape: tuple) -> str:
    return str(tuple(None if size is None else int(size) for size in shape))
