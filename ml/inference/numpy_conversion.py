"""A Keras classifier as a numpy network plan (``ml.inference.numpy_network``): its layers in running order, batch
norms folded into the convolution or dense layer before them, activations fused, dropout dropped.

Handles what Digit Lab's conv nets are made of (Conv2D, Dense, BatchNormalization, ReLU, Activation, MaxPooling2D,
Flatten, Dropout, Average; Sequential or functional, one input, one output) and refuses anything else by name.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from ml.errors import ModelFileError
from ml.inference.numpy_network import PLAN_FORMAT
from ml.models.classifier import outputs_probabilities


class NumpyConversionError(ModelFileError):
    """The model has a layer or setting the numpy runner does not reproduce."""


def network_plan(model: keras.Model) -> tuple[dict, dict[str, np.ndarray]]:
    """``(plan, arrays)`` for ``model``, ready for :class:`ml.inference.numpy_network.NumpyNetwork`."""
    graph = _layer_graph(model)
    steps: list[dict] = [{"name": "input", "op": "input", "shape": [int(side) for side in model.inputs[0].shape[1:]]}]
    arrays: dict[str, np.ndarray] = {}
    uses = {name: sum(name in sources for _, sources in graph) for name, _ in graph}  # layers reading each layer
    producer: dict[str, str] = {graph[0][0]: "input"}  # a Keras layer's name -> the step that gives its output
    readers = {"input": uses[graph[0][0]]}  # how many layers read each step's output
    by_name = {"input": steps[0]}
    for layer_name, input_names in graph[1:]:
        layer = model.get_layer(layer_name)
        inputs = [producer[name] for name in input_names]
        kind = type(layer).__name__
        step = None if _is_identity(layer, kind) else _step_for(layer, kind, inputs, arrays)
        if step is None or (len(inputs) == 1 and readers[inputs[0]] == 1 and _fold(step, by_name[inputs[0]], arrays)):
            producer[layer_name] = inputs[0]  # the same values as the step before (or folded into it)
            readers[inputs[0]] += uses[layer_name] - 1
            continue
        steps.append(step)
        by_name[step["name"]] = step
        readers[step["name"]] = uses[layer_name]
        producer[layer_name] = step["name"]
    last = producer[graph[-1][0]]
    if last != steps[-1]["name"]:
        raise NumpyConversionError("The model's output is not its last layer.")
    plan = {"format": PLAN_FORMAT, "output_is_probabilities": outputs_probabilities(model), "steps": steps}
    return plan, arrays


def _layer_graph(model: keras.Model) -> list[tuple[str, list[str]]]:
    """(layer name, names of the layers it reads) in running order, the input layer first."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise NumpyConversionError("The numpy path runs models with one input and one output only.")
    if isinstance(model, keras.Sequential):
        names = [layer.name for layer in model.layers]
        input_name = model.inputs[0]._keras_history.operation.name
        chain = [input_name, *names]
        return [(input_name, [])] + [(name, [chain[index]]) for index, name in enumerate(names)]
    graph = []
    for entry in model.get_config()["layers"]:
        sources: list[str] = []
        for node in entry.get("inbound_nodes", []):
            _collect_history(node.get("args", []), sources)
        graph.append((entry["name"], sources))
    return graph


def _collect_history(value: Any, names: list[str]) -> None:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        names.append(value["config"]["keras_history"][0])
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_history(item, names)


def _is_identity(layer: keras.layers.Layer, kind: str) -> bool:
    """Layers that change nothing at inference: dropout and a linear activation."""
    if kind == "Activation":
        return _activation(layer.get_config()["activation"], layer.name) == "linear"
    return kind == "Dropout"


def _step_for(layer: keras.layers.Layer, kind: str, inputs: list[str], arrays: dict) -> dict:
    """The plan step of one layer (its arrays added to ``arrays``); refuses what the runner cannot reproduce."""
    config, name = layer.get_config(), layer.name
    step = {"name": name.replace(".", "_"), "inputs": inputs}
    if kind == "Conv2D":
        plain = tuple(config["strides"]) == (1, 1) and tuple(config["dilation_rate"]) == (1, 1)
        if not plain or config.get("groups", 1) != 1 or config["data_format"] != "channels_last":
            raise NumpyConversionError(f"Layer {name}: only stride-1, undilated, channels-last convolutions run.")
        step.update(op="conv2d", padding=config["padding"], activation=_activation(config["activation"], name))
        return _with_kernel(step, layer, arrays)
    if kind == "Dense":
        step.update(op="dense", activation=_activation(config["activation"], name))
        return _with_kernel(step, layer, arrays)
    if kind == "BatchNormalization":
        axis = config["axis"][0] if isinstance(config["axis"], list) else config["axis"]
        if axis not in (-1, len(layer.input.shape) - 1):
            raise NumpyConversionError(f"Layer {name}: only batch norm over the last axis runs.")
        scale, shift = _batch_norm_scale_shift(layer)
        arrays[f"{step['name']}.scale"], arrays[f"{step['name']}.shift"] = scale, shift
        return {**step, "op": "scale_shift"}
    if kind == "ReLU":
        if config.get("max_value") is not None or config.get("negative_slope") or config.get("threshold"):
            raise NumpyConversionError(f"Layer {name}: only a plain ReLU runs.")
        return {**step, "op": "relu"}
    if kind == "Activation":
        return {**step, "op": _activation(config["activation"], name)}
    if kind == "MaxPooling2D":
        size, strides = tuple(config["pool_size"]), tuple(config["strides"] or config["pool_size"])
        if size[0] != size[1] or strides != size or config["padding"] != "valid":
            raise NumpyConversionError(f"Layer {name}: only square, non-overlapping 'valid' max pooling runs.")
        return {**step, "op": "max_pool", "size": int(size[0])}
    if kind == "Flatten":
        return {**step, "op": "flatten"}
    if kind == "Average":
        return {**step, "op": "average"}
    raise NumpyConversionError(f"Layer {name} is a {kind}, which the numpy path does not run.")


def _activation(activation: Any, layer_name: str) -> str:
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", str(activation))
    if name not in ("linear", "relu", "softmax"):
        raise NumpyConversionError(f"Layer {layer_name}: the {name} activation does not run in the numpy path.")
    return name


def _with_kernel(step: dict, layer: keras.layers.Layer, arrays: dict) -> dict:
    arrays[f"{step['name']}.kernel"] = keras.ops.convert_to_numpy(layer.kernel).astype(np.float32)
    if layer.use_bias:
        arrays[f"{step['name']}.bias"] = keras.ops.convert_to_numpy(layer.bias).astype(np.float32)
    return step


def _batch_norm_scale_shift(layer: keras.layers.Layer) -> tuple[np.ndarray, np.ndarray]:
    """Inference-time batch norm as x * scale + shift (tf.nn.batch_normalization's own rearrangement)."""
    mean = keras.ops.convert_to_numpy(layer.moving_mean).astype(np.float64)
    variance = keras.ops.convert_to_numpy(layer.moving_variance).astype(np.float64)
    gamma = keras.ops.convert_to_numpy(layer.gamma).astype(np.float64) if layer.scale else 1.0
    beta = keras.ops.convert_to_numpy(layer.beta).astype(np.float64) if layer.center else 0.0
    scale = gamma / np.sqrt(variance + layer.epsilon)
    return scale.astype(np.float32), (beta - mean * scale).astype(np.float32)


def _fold(step: dict, source: dict, arrays: dict) -> bool:
    """Fold a batch norm or an activation into the linear conv or dense step before it; True when folded."""
    if source["op"] not in ("conv2d", "dense") or source["activation"] != "linear":
        return False
    if step["op"] in ("relu", "softmax"):
        source["activation"] = step["op"]
        return True
    if step["op"] != "scale_shift":
        return False
    scale, shift = arrays.pop(f"{step['name']}.scale"), arrays.pop(f"{step['name']}.shift")
    kernel = arrays[f"{source['name']}.kernel"].astype(np.float64)
    bias = arrays.get(f"{source['name']}.bias", np.zeros(kernel.shape[-1])).astype(np.float64)
    arrays[f"{source['name']}.kernel"] = (kernel * scale).astype(np.float32)
    arrays[f"{source['name']}.bias"] = (bias * scale + shift).astype(np.float32)
    return True
