"""A model's parts: its leaf layers (inside nested models too), its towers (an ensemble's members), its conv kernels.

Shared by ``ml.inspect`` (the network view) and ``ml.training`` (filters refreshed while training), which may not
import each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

CONV_LAYERS = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose")
ENSEMBLE_MERGES = ("Average",)


@dataclass(frozen=True)
class FilterBank:
    """One conv layer's kernels as small 2-D images."""

    layer: str
    tower: str | None
    kernels: np.ndarray  # (n_filters, kh, kw) float32
    note: str  # e.g. "mean over 32 input channels"


def is_nested_model(operation: Any) -> bool:
    """True for a Keras model used as a layer (a transfer backbone)."""
    import keras

    return isinstance(operation, keras.Model)


def leaf_layers(model) -> Iterator[Any]:
    """Every layer that is not itself a model, in ``model.layers`` order, looking inside nested models."""
    for layer in model.layers:
        if is_nested_model(layer):
            yield from leaf_layers(layer)
        elif type(layer).__name__ != "InputLayer":
            yield layer


def producer(tensor) -> tuple[Any, int] | None:
    """(operation, node index) that made a symbolic tensor, or None for an input."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None
    return history.operation, history.node_index


def output_operation(model) -> Any:
    """The operation that makes the model's (first) output."""
    made = producer(model.outputs[0])
    return made[0] if made is not None else model.layers[-1]


def head_operation(model) -> Any:
    """The leaf layer that makes the model's output, looking inside a nested model that ends it."""
    operation = output_operation(model)
    while is_nested_model(operation) and operation is not model:
        model, operation = operation, output_operation(operation)
    return operation


def ensemble_branches(model) -> list[Any]:
    """The symbolic tensors an ensemble averages (its towers' outputs), or [] for a single-tower model."""
    import keras

    if isinstance(model, keras.Sequential) or not hasattr(model, "_nodes_by_depth"):
        return []
    operation = output_operation(model)
    if type(operation).__name__ not in ENSEMBLE_MERGES:
        return []
    nodes = getattr(operation, "_inbound_nodes", [])
    branches = list(nodes[0].input_tensors) if nodes else []
    return branches if len(branches) >= 2 else []


def tower_names(count: int) -> list[str]:
    """``["tower 1", "tower 2", …]``."""
    return [f"tower {index + 1}" for index in range(count)]


def tower_of_operations(model) -> dict[int, str]:
    """``id(operation) → tower name`` for the layers that belong to exactly one of an ensemble's towers.

    Walks the inbound nodes back from each averaged branch (``model.layers`` interleaves the towers); layers that
    several branches share (the input) belong to none. Empty for a single-tower model.
    """
    branches = ensemble_branches(model)
    reached: dict[int, set[int]] = {}
    for index, tensor in enumerate(branches):
        for operation in _ancestors(tensor):
            reached.setdefault(id(operation), set()).add(index)
    names = tower_names(len(branches))
    return {key: names[next(iter(owners))] for key, owners in reached.items() if len(owners) == 1}


def _ancestors(tensor) -> Iterator[Any]:
    """The operations a symbolic tensor depends on, its own producer first."""
    seen: set[int] = set()
    pending = [tensor]
    while pending:
        made = producer(pending.pop())
        if made is None:
            continue
        operation, node_index = made
        if id(operation) in seen or type(operation).__name__ == "InputLayer":
            continue
        seen.add(id(operation))
        yield operation
        nodes = getattr(operation, "_inbound_nodes", [])
        if node_index < len(nodes):
            pending.extend(nodes[node_index].input_tensors)


def conv_kernel_banks(model) -> list[FilterBank]:
    """The kernels of every conv layer with a spatial kernel (1x1 convs have no picture), towers in turn.

    A layer's first conv shows its kernels as they are when it reads one channel, else their mean over its input
    channels (as deeper convs always do); a depthwise kernel is one image per channel.
    """
    towers = tower_of_operations(model)
    banks: list[FilterBank] = []
    first_seen: set[str | None] = set()
    for layer in _layers_by_tower(model, towers):
        if type(layer).__name__ not in CONV_LAYERS:
            continue
        kernel = _spatial_kernel(layer)
        if kernel is None:
            continue
        tower = towers.get(id(layer))
        kernels, note = _kernel_images(kernel, type(layer).__name__, first=tower not in first_seen)
        first_seen.add(tower)
        banks.append(FilterBank(layer.name, tower, kernels, note))
    return banks


def _layers_by_tower(model, towers: dict[int, str]) -> list[Any]:
    """Leaf layers, the shared ones first, then each tower's in order."""
    layers = list(leaf_layers(model))
    order = {name: index for index, name in enumerate(dict.fromkeys(towers.values()))}
    return sorted(layers, key=lambda layer: -1 if id(layer) not in towers else order[towers[id(layer)]])


def _spatial_kernel(layer) -> np.ndarray | None:
    """A 2-D conv's kernel (kh, kw, in, out) when it is wider than 1x1, else None."""
    weights = getattr(layer, "depthwise_kernel", None)
    if weights is None:
        weights = getattr(layer, "kernel", None)
    if weights is None:
        return None
    kernel = np.asarray(weights, dtype=np.float32)
    if kernel.ndim != 4 or kernel.shape[0] * kernel.shape[1] <= 1:
        return None
    return kernel


def _kernel_images(kernel: np.ndarray, layer_type: str, first: bool) -> tuple[np.ndarray, str]:
    """(n, kh, kw) images of a (kh, kw, in, out) kernel, and what they show."""
    inputs = kernel.shape[2]
    if layer_type in ("DepthwiseConv2D", "SeparableConv2D"):
        images = kernel.reshape(kernel.shape[0], kernel.shape[1], -1).transpose(2, 0, 1)
        return np.ascontiguousarray(images, dtype=np.float32), "depthwise: one kernel per input channel"
    if layer_type == "Conv2DTranspose":
        kernel = kernel.transpose(0, 1, 3, 2)
        inputs = kernel.shape[2]
    images = kernel.mean(axis=2).transpose(2, 0, 1)
    note = "" if inputs == 1 else f"mean over {inputs} input channels" + (" (RGB)" if first and inputs == 3 else "")
    return np.ascontiguousarray(images, dtype=np.float32), note
