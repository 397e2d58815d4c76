"""Re-trace a Keras model layer by layer (inside nested models too), keeping every layer's output tensor.

Run inside a ``tf.function``: the walk is plain Python, so it happens once, at tracing time, and the compiled graph
returns every tensor it kept. ``keras.Model(model.inputs[0], [layer.output …])`` would not do: nested backbones are
"not connected to inputs", and a Sequential model's ``output`` raises (INSIGHT-NOTES 2 and 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ml.models.anatomy import (
    ensemble_branches,
    head_operation,
    is_nested_model,
    producer,
    tower_names,
    tower_of_operations,
)

KINDS = {
    "conv": ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"),
    "pool": (
        "MaxPooling1D",
        "MaxPooling2D",
        "AveragePooling1D",
        "AveragePooling2D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
    ),
    "dense": ("Dense", "EinsumDense"),
    "dropout": ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout"),
    "flatten": ("Flatten",),
    "norm": ("BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization"),
    "activation": ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax"),
    "merge": ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"),
}
KIND_OF_TYPE = {type_name: kind for kind, names in KINDS.items() for type_name in names}
FOLDABLE = ("norm", "activation")
PROBABILITY_FLOOR = 1e-12  # log of an ensemble's averaged probabilities never reaches -inf


@dataclass
class Step:
    """One entry of the network view while tracing: a tensor (None for dropout) and what it is."""

    name: str
    kind: str
    tower: str | None
    note: str
    tensor: Any
    shape: tuple
    folded: list[str] = field(default_factory=list)


@dataclass
class Trace:
    """Everything one walk kept: the entries in order and the tensors the explainers differentiate."""

    steps: list[Step]
    probabilities: Any  # (batch, k)
    class_scores: Any  # (batch, k): what the explainers differentiate: logits (an ensemble: its towers' mean logits)
    tower_scores: dict[str | None, Any]  # each tower's logits (None: the single tower)
    last_conv: dict[str | None, Any]  # each tower's last conv output, after the norm and activation that follow it
    towers: list[str]  # an ensemble's towers in order ("tower 1", …); [] for a single-tower model


def kind_of(operation: Any) -> str:
    """The network view's kind for a layer: conv, pool, dense, dropout, flatten, norm, activation, merge, other."""
    return KIND_OF_TYPE.get(type(operation).__name__, "other")


def applies_softmax(operation: Any) -> bool:
    """A Softmax layer, or a layer whose activation is softmax."""
    return output_activation(operation) == "softmax"


def output_activation(operation: Any) -> str | None:
    """The head's way from logits to probabilities: "softmax", "sigmoid" (one per class), or None (logits)."""
    if type(operation).__name__ == "Softmax":
        return "softmax"
    name = getattr(getattr(operation, "activation", None), "__name__", None)
    return name if name in ("softmax", "sigmoid") else None


def shape_without_batch(tensor) -> tuple:
    """A tensor's static shape without its batch axis."""
    return tuple(None if size is None else int(size) for size in tuple(tensor.shape)[1:])


class _Walker:
    """Calls every leaf operation of a model on real tensors and records what the network view shows."""

    def __init__(self, model, fold: bool, guided: bool = False) -> None:
        import keras

        self.keras = keras
        self.model = model
        self.fold = fold
        self.guided = guided
        self.towers = tower_of_operations(model)
        branches = ensemble_branches(model)
        self.tower_order = tower_names(len(branches))
        head = head_operation(model)
        if branches:
            self.heads = {id(producer(tensor)[0]): self.towers.get(id(producer(tensor)[0])) for tensor in branches}
            self.ensemble_head = head
        else:
            self.heads = {id(head): None}
            self.ensemble_head = None
        self.steps: list[Step] = []
        self.owner: dict[int, int] = {}  # id(tensor) → index of the step showing it
        self.kept: list[Any] = []  # every owned tensor stays referenced, so no id is reused
        self.tower_scores: dict[str | None, Any] = {}
        self.last_conv_step: dict[str | None, int] = {}
        self.probabilities = None
        self.class_scores = None

    # ------------------------------------------------------------------------------------------ walking

    def run(self, inputs) -> Trace:
        name = getattr(getattr(self.model, "inputs", [None])[0], "name", None) or "input"
        input_layer = producer(self.model.inputs[0])
        if input_layer is not None:
            name = input_layer[0].name
        self._add(Step(name, "input", None, "", inputs, shape_without_batch(inputs)))
        outputs = self._walk(self.model, inputs)
        if self.probabilities is None:  # a head the rules below did not see
            self._finish_unseen_head(outputs)
        return Trace(
            steps=self._ordered_steps(),
            probabilities=self.probabilities,
            class_scores=self.class_scores,
            tower_scores=self.tower_scores,
            last_conv={tower: self.steps[index].tensor for tower, index in self.last_conv_step.items()},
            towers=list(self.tower_order),
        )

    def _walk(self, model, inputs):
        if isinstance(model, self.keras.Sequential):
            x = inputs
            for layer in model.layers:
                x = self._call(layer, (x,), {})
            return x
        values = {id(reference): value for reference, value in zip(model.inputs, [inputs], strict=False)}
        nodes_by_depth = model._nodes_by_depth
        for depth in sorted(nodes_by_depth, reverse=True):
            for node in nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(tensor) not in values for tensor in node.input_tensors):
                    continue
                args, kwargs = node.arguments.fill_in(values)
                outputs = self._call(node.operation, args, kwargs)
                flat = self.keras.tree.flatten(outputs)
                for reference, value in zip(node.outputs, flat, strict=False):
                    values[id(reference)] = value
        return values[id(model.outputs[0])]

    def _call(self, operation, args, kwargs):
        if is_nested_model(operation):
            return self._walk(operation, args[0])
        kwargs = {key: value for key, value in kwargs.items() if key != "training"}
        output = operation(*args, **kwargs)
        if self.guided and _applies_relu(operation):
            output = _guided_gradient(output)
        first = args[0] if args else None
        if id(operation) in self.heads:
            self._finish_head(operation, self.heads[id(operation)], first, output)
        elif operation is self.ensemble_head:
            self._finish_ensemble(operation, output)
        else:
            self._record(operation, first, output)
        return output

    # ------------------------------------------------------------------------------------------ recording

    def _add(self, step: Step) -> int:
        self.steps.append(step)
        index = len(self.steps) - 1
        if step.tensor is not None:
            self.owner[id(step.tensor)] = index
            self.kept.append(step.tensor)
        return index

    def _record(self, operation, first, output) -> None:
        kind = kind_of(operation)
        tower = self.towers.get(id(operation))
        shape = shape_without_batch(output)
        if kind == "dropout":
            self._add(Step(operation.name, kind, tower, "off at inference", None, shape))
            return
        source = self.owner.get(id(first)) if first is not None and not isinstance(first, list | tuple) else None
        if self.fold and kind in FOLDABLE and source is not None and self.steps[source].kind in ("conv", "dense"):
            step = self.steps[source]
            step.tensor = output
            step.folded.append("batch norm" if kind == "norm" else _activation_name(operation))
            step.note = f"{_join(step.folded)} folded in"
            self.owner[id(output)] = source
            self.kept.append(output)
            return
        index = self._add(Step(operation.name, kind, tower, "", output, shape))
        if kind == "conv":
            self.last_conv_step[tower] = index

    def _finish_head(self, operation, tower, first, output) -> None:
        """A classifier's last layer: its logits and its softmax (a sigmoid per class: its scores over their sum)."""
        ops = self.keras.ops
        activation = output_activation(operation)
        before = f"before {activation}"
        if type(operation).__name__ == "Dense" and activation is not None:
            logits = ops.matmul(first, operation.kernel)
            if operation.bias is not None:
                logits = logits + operation.bias
            self._add(Step(operation.name, "logits", tower, before, logits, shape_without_batch(logits)))
        elif activation is not None:
            logits = first
            source = self.owner.get(id(first))
            if source is not None and self.steps[source].kind == "dense":
                self.steps[source].kind = "logits"
            else:
                self._add(Step(operation.name, "logits", tower, before, logits, shape_without_batch(logits)))
        else:
            logits = output
            self._add(Step(operation.name, "logits", tower, "", logits, shape_without_batch(logits)))
        if activation is None:
            probabilities = ops.softmax(logits, axis=-1)
            note = "computed from the logits (the model outputs logits)"
        elif activation == "sigmoid":
            probabilities = output / ops.maximum(ops.sum(output, axis=-1, keepdims=True), PROBABILITY_FLOOR)
            note = "the model's sigmoid scores (one per class) divided by their sum"
        else:
            probabilities = output
            note = ""
        self._add(Step("softmax", "softmax", tower, note, probabilities, shape_without_batch(probabilities)))
        self.tower_scores[tower] = logits
        if tower is None:
            self.probabilities, self.class_scores = probabilities, logits

    def _finish_unseen_head(self, output) -> None:
        """The model's output as logits and softmax when its last layer was not recognised as a head."""
        from ml.models.classifier import outputs_probabilities

        ops, shape = self.keras.ops, shape_without_batch(output)
        if outputs_probabilities(self.model):
            logits = ops.log(ops.maximum(output, PROBABILITY_FLOOR))
            self._add(Step("logits", "logits", None, "log of the output probabilities", logits, shape))
            self._add(Step("softmax", "softmax", None, "", output, shape))
            self.probabilities, self.class_scores = output, logits
        else:
            probabilities = ops.softmax(output, axis=-1)
            self._add(Step("logits", "logits", None, "", output, shape))
            self._add(Step("softmax", "softmax", None, "computed from the logits", probabilities, shape))
            self.probabilities, self.class_scores = probabilities, output

    def _finish_ensemble(self, operation, output) -> None:
        """The towers' averaged probabilities; the ensemble has no logits, so its score is their log."""
        log_probabilities = self.keras.ops.log(self.keras.ops.maximum(output, PROBABILITY_FLOOR))
        count = len(self.tower_scores)
        note = f"log of the {count} towers' averaged probabilities (an ensemble has no logits of its own)"
        self._add(Step("logits", "logits", None, note, log_probabilities, shape_without_batch(output)))
        shape = shape_without_batch(output)
        self._add(Step(operation.name, "softmax", None, f"average of {count} towers", output, shape))
        self.probabilities = output
        self.class_scores = self.keras.ops.mean(self.keras.ops.stack(list(self.tower_scores.values())), axis=0)

    def _ordered_steps(self) -> list[Step]:
        """The input and shared layers first, then each tower's layers in turn, then the combined head."""
        order = {name: index for index, name in enumerate(self.tower_order)}
        first_tower = next((index for index, step in enumerate(self.steps) if step.tower), len(self.steps))

        def key(item: tuple[int, Step]) -> tuple[int, int, int]:
            index, step = item
            if step.tower is not None:
                return (1, order[step.tower], index)
            return (0 if index < first_tower else 2, 0, index)

        return [step for _, step in sorted(enumerate(self.steps), key=key)]


def _applies_relu(operation) -> bool:
    """A ReLU layer, an Activation("relu"), or a layer (conv, dense) whose own activation is ReLU."""
    if type(operation).__name__ == "ReLU":
        return True
    return getattr(getattr(operation, "activation", None), "__name__", None) == "relu"


def _guided_gradient(tensor):
    """``tensor`` unchanged, but only positive gradients flow back through it: after a ReLU (whose own gradient keeps
    the units that were on) this is guided backpropagation (Springenberg et al. 2015)."""
    import tensorflow as tf

    @tf.custom_gradient
    def guided(values):
        return tf.identity(values), lambda upstream: tf.nn.relu(upstream)

    return guided(tensor)


def _activation_name(operation) -> str:
    name = type(operation).__name__
    if name == "Activation":
        return getattr(operation.activation, "__name__", "activation")
    return {"ReLU": "ReLU", "LeakyReLU": "leaky ReLU", "ELU": "ELU", "PReLU": "PReLU"}.get(name, name)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def trace_model(model, inputs, fold: bool = True, guided: bool = False) -> Trace:
    """Walk ``model`` on ``inputs`` (a batch tensor), keeping every layer's output; call inside a tf.function.

    ``guided``: gradients back through every ReLU are guided backpropagation's (the values are the same)."""
    return _Walker(model, fold, guided).run(inputs)
