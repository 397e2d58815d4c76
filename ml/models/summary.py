"""A model's layers as plain data, like ``model.summary()``: names, classes, output shapes, parameters, wiring.

``describe_model`` runs where the Keras model lives (the window's model worker); what it returns holds only
strings, ints, bools and tuples, so it can cross threads and be shown without Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class LayerDescription:
    """One layer (or Keras operation) of a model and the names of the layers that feed it."""

    name: str
    class_name: str
    output_shapes: tuple[Shape, ...]  # one shape per output; most layers have one
    parameters: int
    trainable_parameters: int
    trainable: bool
    inbound: tuple[str, ...]

    @property
    def non_trainable_parameters(self) -> int:
        """Parameters that training leaves alone (frozen layers, batch-norm statistics)."""
        return self.parameters - self.trainable_parameters

    @property
    def output_shape_text(self) -> str:
        """``(None, 28, 28, 32)``; several outputs are joined by commas."""
        return ", ".join(format_shape(shape) for shape in self.output_shapes) or "?"


@dataclass(frozen=True)
class ModelDescription:
    """A model's name, its layers in order (inputs first) and its parameter totals."""

    name: str
    layers: tuple[LayerDescription, ...]
    total_parameters: int
    trainable_parameters: int
    card_note: str | None = None  # what the card says about the probabilities (calibrated, with which T), or None

    @property
    def non_trainable_parameters(self) -> int:
        """Total minus trainable parameters."""
        return self.total_parameters - self.trainable_parameters

    def layer(self, name: str) -> LayerDescription:
        """The layer called ``name`` (a KeyError if there is none)."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


def format_shape(shape: Shape) -> str:
    """``(None, 28, 28, 1)`` as Keras prints it; ``(None, 10)`` keeps its comma-free form."""
    return "(" + ", ".join("None" if size is None else str(int(size)) for size in shape) + ")"


def weight_count(weights: list) -> int:
    """How many numbers a list of Keras variables holds."""
    total = 0
    for weight in weights:
        size = 1
        for dimension in weight.shape:
            size *= int(dimension)
        total += size
    return total


def plain_shape(shape: Any) -> Shape:
    """A Keras shape as a tuple of ints and None."""
    return tuple(None if size is None else int(size) for size in shape)


def tensor_shapes(tensors: Any) -> tuple[Shape, ...]:
    """Shapes of one tensor or a (nested) list of tensors."""
    if isinstance(tensors, list | tuple):
        return tuple(shape for tensor in tensors for shape in tensor_shapes(tensor))
    if isinstance(tensors, dict):
        return tuple(shape for tensor in tensors.values() for shape in tensor_shapes(tensor))
    shape = getattr(tensors, "shape", None)
    return () if shape is None else (plain_shape(shape),)


def describe_operation(operation: Any, inbound: list[str], outputs: Any) -> LayerDescription:
    """Plain data about one layer or operation (an operation such as ``ops.flip`` has no weights)."""
    trainable_weights = list(getattr(operation, "trainable_weights", []))
    all_weights = trainable_weights + list(getattr(operation, "non_trainable_weights", []))
    return LayerDescription(
        name=str(operation.name),
        class_name=type(operation).__name__,
        output_shapes=tensor_shapes(outputs),
        parameters=weight_count(all_weights),
        trainable_parameters=weight_count(trainable_weights),
        trainable=bool(getattr(operation, "trainable", False)),
        inbound=tuple(dict.fromkeys(inbound)),  # a layer fed the same tensor three times lists it once
    )


def graph_nodes(model: Any) -> list | None:
    """The model's own call nodes from inputs to outputs, or None when it keeps no graph (a Sequential)."""
    nodes_by_depth = getattr(model, "_nodes_by_depth", None)
    if not nodes_by_depth:
        return None
    return [node for depth in sorted(nodes_by_depth, reverse=True) for node in nodes_by_depth[depth]]


def describe_functional(model: Any, nodes: list) -> list[LayerDescription]:
    """One description per operation of a functional model, with the layers each call node reads."""
    inbound: dict[str, list[str]] = {}
    outputs: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for node in nodes:
        operation = node.operation
        operations.setdefault(operation.name, operation)
        inbound.setdefault(operation.name, []).extend(parent.operation.name for parent in node.parent_nodes)
        outputs.setdefault(operation.name, node.outputs)
    order = [operation.name for operation in getattr(model, "operations", operations.values())]
    order += [name for name in operations if name not in order]
    return [describe_operation(operations[name], inbound[name], outputs[name]) for name in order if name in operations]


def describe_sequential(model: Any) -> list[LayerDescription]:
    """One description per layer of a Sequential model, each fed by the one before."""
    layers = []
    previous: list[str] = []
    for layer in model.layers:
        try:
            outputs = layer.output
        except (AttributeError, ValueError):
            outputs = None
        layers.append(describe_operation(layer, previous, outputs))
        previous = [layer.name]
    return layers


def describe_model(model: Any, metadata: Any = None) -> ModelDescription:
    """The layers, output shapes and parameter counts of a built Keras model, as plain data; with its card
    (``metadata``), whether its probabilities are calibrated."""
    nodes = graph_nodes(model)
    layers = describe_functional(model, nodes) if nodes else describe_sequential(model)
    return ModelDescription(
        name=str(model.name),
        layers=tuple(layers),
        total_parameters=int(model.count_params()),
        trainable_parameters=weight_count(list(model.trainable_weights)),
        card_note=None if metadata is None else metadata.calibration_note(),
    )
