"""A model's layers as plain data, like ``model.summary()``: names, classes, output shapes, parameters, wiring.

``describe_model`` runs where the Keras model lives (the window's model worker); what it returns holds only
strings, ints, bools and tuples, so it can cross threads and be shown without Keras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
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
class TeachingRow:
    """One teach from the card, in words: when, the samples per class, and before → after on both sets."""

    date: str
    samples: str
    held_back: str
    test_set: str


@dataclass(frozen=True)
class ModelDescription:
    """A model's name, its layers in order (inputs first) and its parameter totals."""

    name: str
    layers: tuple[LayerDescription, ...]
    total_parameters: int
    trainable_parameters: int
    card_note: str | None = None  # what the card says about the probabilities (calibrated, with which T), or None
    card: tuple[tuple[str, str], ...] = ()  # the model card's facts as (label, text): preset, dataset, accuracy, …
    teaching: tuple[TeachingRow, ...] = ()  # the card's teaching record, one row per teach, oldest first

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


def sequential_input(model: Any) -> LayerDescription | None:
    """A Sequential model's input as a row of its own (``model.layers`` leaves the InputLayer out), when known."""
    input_layer = next(iter(getattr(model, "_layers", None) or []), None)  # Keras keeps it first, if it has one
    if input_layer is not None and type(input_layer).__name__ == "InputLayer":
        return describe_operation(input_layer, [], getattr(input_layer, "output", None))
    try:
        shapes = tensor_shapes(model.inputs[0])
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    return LayerDescription("input", "InputLayer", shapes, 0, 0, False, ())


def describe_sequential(model: Any) -> list[LayerDescription]:
    """One description per layer of a Sequential model, each fed by the one before, after a row for its input."""
    layers = []
    previous: list[str] = []
    first = sequential_input(model)
    if first is not None:
        layers.append(first)
        previous = [first.name]
    for layer in model.layers:
        try:
            outputs = layer.output
        except (AttributeError, ValueError):
            outputs = None
        layers.append(describe_operation(layer, previous, outputs))
        previous = [layer.name]
    return layers


def describe_model(model: Any, metadata: Any = None, has_card: bool = True) -> ModelDescription:
    """The layers, output shapes and parameter counts of a built Keras model, as plain data; with its card
    (``metadata``), the card's facts and whether its probabilities are calibrated. ``has_card=False``: the file
    carried no card (``metadata`` holds the defaults Digit Lab assumed)."""
    nodes = graph_nodes(model)
    layers = describe_functional(model, nodes) if nodes else describe_sequential(model)
    return ModelDescription(
        name=str(model.name),
        layers=tuple(layers),
        total_parameters=int(model.count_params()),
        trainable_parameters=weight_count(list(model.trainable_weights)),
        card_note=None if metadata is None else metadata.calibration_note(),
        card=() if metadata is None else card_facts(metadata, has_card),
        teaching=() if metadata is None else teaching_rows(metadata.hyperparameters),
    )


def teaching_rows(hyperparameters: Any) -> tuple[TeachingRow, ...]:
    """The card's ``teaching_history`` (or its one ``teaching`` record) in words; entries that are not records
    (a hand-edited or hostile card) are skipped."""
    if not isinstance(hyperparameters, dict):
        return ()
    history = hyperparameters.get("teaching_history")
    if not isinstance(history, list):
        history = [hyperparameters["teaching"]] if isinstance(hyperparameters.get("teaching"), dict) else []
    return tuple(_teaching_row(record) for record in history if isinstance(record, dict))


def _teaching_row(record: dict) -> TeachingRow:
    per_class = record.get("samples_per_class")
    per_class = per_class if isinstance(per_class, dict) else {}
    counts = [(str(name), count) for name, count in per_class.items() if isinstance(count, int)]
    samples = ", ".join(f"{name}: {count}" for name, count in counts)
    samples = f"{sum(count for _, count in counts)} ({samples})" if counts else "–"
    held = record.get("held_back")
    held_text = (
        f"{_percent(record.get('samples_before'))} → {_percent(record.get('samples_after'))} ({_count(held)} held back)"
        if isinstance(held, int) and held > 0
        else "none held back"
    )
    test_name = record.get("test_set")
    test_text = (
        f"{_percent(record.get('test_before'), 2)} → {_percent(record.get('test_after'), 2)} "
        f"({DATASET_TITLES.get(str(test_name), str(test_name))}, {_count(record.get('test_images'))} images)"
        if test_name
        else "not measured (no test set fits)"
    )
    date = record.get("date")
    return TeachingRow(readable_date(date) if isinstance(date, str) else "–", samples, held_text, test_text)


def _percent(value: Any, decimals: int = 1) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return f"{100 * value:.{decimals}f} %"


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "?"


DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "sklearn-digits": "scikit-learn digits"}
INPUT_WORDS = {"white_on_black": "white on black", "black_on_white": "black on white", "standardize": "standardized"}


def card_facts(metadata: Any, has_card: bool = True) -> tuple[tuple[str, str], ...]:
    """What a model's card says, as (label, text) pairs for people: preset, dataset, test accuracy, date, input."""
    polarity = INPUT_WORDS.get(metadata.input_polarity, metadata.input_polarity)
    input_text = f"{polarity}, {INPUT_WORDS.get(metadata.input_scale, metadata.input_scale)}"
    if not has_card:
        return (("Card", "none in the file (a plain Keras model): Digit Lab's defaults"), ("Input", input_text))
    facts: list[tuple[str, str]] = []
    if metadata.preset:
        facts.append(("Preset", str(metadata.preset)))
    continued = (metadata.hyperparameters or {}).get("fine_tune_from")
    if continued:
        facts.append(("Continued from", file_name(str(continued))))
    if metadata.dataset:
        facts.append(("Dataset", DATASET_TITLES.get(str(metadata.dataset), file_name(str(metadata.dataset)))))
    accuracy = metadata.test_accuracy
    if isinstance(accuracy, int | float) and math.isfinite(accuracy):
        facts.append(("Test accuracy", f"{accuracy * 100:.2f} %"))
    if metadata.created:
        facts.append(("Created", readable_date(str(metadata.created))))
    facts.append(("Input", input_text))
    names = [str(name) for name in metadata.class_names]
    shown = ", ".join(names) if len(names) <= 10 else ", ".join(names[:4]) + ", …"
    facts.append(("Classes", f"{len(names)}: {shown}"))
    if metadata.digitlab_version:
        facts.append(("Saved by", f"Digit Lab {metadata.digitlab_version}"))
    return tuple(facts)


def file_name(path: str) -> str:
    """The last part of a path written on any system (a dataset or model file), or the text itself."""
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or path


def readable_date(created: str) -> str:
    """``2026-12-03T09:41:52+00:00`` -> ``2026-12-03 09:41`` in local time; other text as it is."""
    try:
        when = datetime.fromisoformat(created)
    except ValueError:
        return created
    return (when.astimezone() if when.tzinfo else when).strftime("%Y-%m-%d %H:%M")
