"""Refuse model files that would run foreign code: walk the config before Keras sees it."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from typing import Any

import keras

from ml.errors import ModelFileError

_MODEL_CLASS_NAMES = frozenset({"Sequential", "Functional", "Model"})
_NESTED_LAYER_KEYS = ("layers", "layer", "backward_layer", "forward_layer", "cell", "cells")
_UNSAFE_BUILTIN_CLASSES = {  # built into Keras, yet they run code or graphs from outside the model file's layers
    "Lambda": "a Lambda layer, which can run arbitrary code",
    "__lambda__": "a serialized Python lambda, which can run arbitrary code",
    "TFSMLayer": "a TFSMLayer, which runs an external TensorFlow SavedModel",
    "TorchModuleWrapper": "a TorchModuleWrapper, which unpickles a PyTorch module (arbitrary code)",
    "JaxLayer": "a JaxLayer, which wraps arbitrary JAX functions",
    "FlaxLayer": "a FlaxLayer, which wraps an arbitrary Flax module",
}
_IGNORED_CONFIG_KEYS = ("compile_config",)  # loss/metrics are never built: models load with compile=False


def check_config_is_safe(config: dict, name: str) -> None:
    """Refuse Lambda layers, wrappers of foreign code or graphs, and any class that is not built into Keras."""
    for node, is_layer in _walk_config(config, is_layer=True):
        class_name = str(node.get("class_name"))
        if class_name in _UNSAFE_BUILTIN_CLASSES:
            raise ModelFileError(
                f"{name} contains {_UNSAFE_BUILTIN_CLASSES[class_name]}; Digit Lab refuses to load it."
            )
        if class_name.startswith("__") and class_name.endswith("__"):
            continue  # Keras's own markers for tensors, tuples and arrays inside configs
        if not _is_builtin(node, is_layer):
            raise ModelFileError(
                f"{name} uses a custom {_describe_custom(node, is_layer)} that Digit Lab does not "
                "know. Digit Lab never runs code from model files; rebuild the model from built-in Keras "
                "layers to open it here."
            )


def _describe_custom(node: dict, is_layer: bool) -> str:
    """E.g. "layer 'MyLayer' (registered as 'MyPackage>MyLayer')" for the refusal message."""
    class_name = str(node.get("class_name"))
    if class_name == "function" and isinstance(node.get("config"), str):
        class_name = node["config"]  # Keras 3 records plain functions as class "function"
    registered = node.get("registered_name")
    kind = "layer" if is_layer else "component"
    description = f"{kind} '{class_name.split('>')[-1]}'"
    if isinstance(registered, str) and ">" in registered:
        description += f" (registered as '{registered}')"
    return description


def _walk_config(node: Any, is_layer: bool) -> Iterator[tuple[dict, bool]]:
    """Yield every dict that names a class, flagging those that sit where a layer or model belongs."""
    if isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):  # a long list of numbers is skipped without a call per number
                yield from _walk_config(item, is_layer)
        return
    if not isinstance(node, dict):
        return
    names_class = "class_name" in node
    if names_class:
        yield node, is_layer
    for key, value in node.items():
        if key in _IGNORED_CONFIG_KEYS:
            continue
        if key == "config" and names_class and isinstance(value, dict):
            for inner_key, inner_value in value.items():
                yield from _walk_config(inner_value, inner_key in _NESTED_LAYER_KEYS)
        else:
            yield from _walk_config(value, False)


def _is_builtin(node: dict, is_layer: bool) -> bool:
    class_name = node.get("class_name")
    if not isinstance(class_name, str) or ">" in class_name:
        return False
    registered = node.get("registered_name")
    if isinstance(registered, str) and ">" in registered:
        return False
    if "module" in node:  # Keras 3 config: the module says where the class lives
        module = node["module"]
        if not isinstance(module, str) or module.split(".")[0] != "keras":
            return False
        return not is_layer or class_name in _builtin_layer_names() or _is_keras_operation(module, class_name)
    return not is_layer or class_name in _builtin_layer_names()  # Keras 2 (tf.keras) .h5 config


@functools.cache
def _builtin_layer_names() -> frozenset[str]:
    names = {
        attribute
        for attribute, value in vars(keras.layers).items()
        if isinstance(value, type) and issubclass(value, keras.layers.Layer)
    }
    return frozenset(names | _MODEL_CLASS_NAMES)


def _is_keras_operation(module: str, class_name: str) -> bool:
    """True for Keras's own ops (e.g. keras.src.ops.numpy.Add) recorded in functional configs."""
    try:
        candidate = getattr(importlib.import_module(module), class_name, None)
    except ImportError:
        return False
    return isinstance(candidate, type) and issubclass(candidate, keras.Operation)
