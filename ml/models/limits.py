"""What a model file may declare, checked before Keras allocates anything; and whether a loaded model can be fed.

A digit classifier needs little: an input of at most 512x512x4 values and at most 1 GB of weights. A hostile or
careless file can declare far more (a Dense kernel of 1e9 floats in a 31 KB file, an input of 12000x12000x3, a zip
entry that inflates to gigabytes, a configuration nested 100,000 levels deep), and Keras would allocate it, or
crash, before saying anything. These checks read only the configuration and the file's directory (zip entry sizes,
HDF5 dataset shapes), never the weights themselves.
"""

from __future__ import annotations

import io
import logging
import math
import typing
import zipfile
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np

from ml.errors import ModelFileError

logger = logging.getLogger(__name__)

MAX_INPUT_VALUES = 512 * 512 * 4
"""Values in one input image: 512x512 pixels of up to 4 channels."""
MAX_INPUT_TEXT = "512x512x4 = 1,048,576"
MAX_ACTIVATION_VALUES = 32 * 1024 * 1024
"""Values in one sample's declared intermediate tensor (128 MB of float32): beyond it, predicting would not fit."""
MAX_WEIGHT_BYTES = 1 << 30
"""Uncompressed weights: 1 GiB, far beyond any digit classifier (the bundled one holds under 2 MB)."""
MAX_ARCHIVE_ENTRIES = 10_000
MAX_INFLATED_IN_MEMORY = 128 * 1024 * 1024
"""A compressed weights entry up to this size is inflated into memory once to read its directory."""
MAX_CONFIG_DEPTH = 100
"""Nesting of a model configuration: Keras's own models nest about a dozen levels; Python's recursion gives up
near 1,000, which a crafted file reaches."""
MAX_LAYERS = 2_000
"""Layers (and nested models) in one configuration: the bundled ensemble has 64, a ResNet-152 about 500; Keras
takes minutes to build tens of thousands, which a crafted file declares in a few kilobytes."""
MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""Size of a model configuration (``config.json``, or an .h5 file's ``model_config``), checked before it is parsed:
the bundled 64-layer ensemble's takes 59 KB, about 1 KB a layer, so 2,000 layers fit; a crafted file pads one with
millions of numbers that take seconds to parse and walk."""
MAX_CONFIG_VALUES = 250_000
"""Values in a model configuration, counted by its commas before parsing (the bundled 64-layer model's has about 2,500;
2,000 such layers about 100,000): every check walks them, so a list of 2 million numbers took seconds."""
MAX_SHOWN_CHARACTERS = 300
"""Of a library's error text in a message; the whole text goes to the log."""
FEEDABLE_CHANNELS = (1, 3)
_DEFAULT_SIDE = 28  # what ml.inference.model_input feeds a side the model leaves free
MIN_IMAGE_SIDE = 4
_BYTES_PER_VALUE = 4  # float32


def shorten(text: str, limit: int = MAX_SHOWN_CHARACTERS) -> str:
    """``text`` cut to ``limit`` characters (Keras errors embed whole configurations); the full text is logged."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    logger.info("Full error text (%d characters): %s", len(text), text)
    return text[: limit - 1].rstrip() + "… (shortened; the full text is in the log)"


def check_config_values(text: str, name: str) -> None:
    """Refuse a configuration text of more than about ``MAX_CONFIG_VALUES`` values, before it is parsed."""
    values = text.count(",") + 1  # each value but the last in a list or object is followed by a comma
    if values > MAX_CONFIG_VALUES:
        raise ModelFileError(
            f"{name} has a model configuration of about {values:,} values; a Keras classifier's holds a few "
            f"thousand (Digit Lab opens configurations of up to {MAX_CONFIG_VALUES:,}), so Digit Lab refuses it "
            "without parsing it."
        )


def check_config_size(size: int, name: str) -> None:
    """Refuse a model configuration of more than ``MAX_CONFIG_BYTES``, before it is read or parsed."""
    if size > MAX_CONFIG_BYTES:
        raise ModelFileError(
            f"{name} has a model configuration of {size / 1e6:,.1f} MB; a Keras classifier's takes well under 1 MB "
            f"(Digit Lab opens configurations of up to {MAX_CONFIG_BYTES / 2**20:g} MB), so Digit Lab refuses it "
            "without reading it."
        )


def check_config_depth(config: Any, name: str) -> None:
    """Refuse a configuration nested deeper than ``MAX_CONFIG_DEPTH`` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(config, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise ModelFileError(
                f"{name} has a model configuration nested more than {MAX_CONFIG_DEPTH} levels deep; no Keras "
                "model is built like that, so Digit Lab refuses it."
            )
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def check_layer_count(config: Any, name: str) -> None:
    """Refuse a configuration that declares more than ``MAX_LAYERS`` layers, before Keras builds any."""
    count = 0
    for _node in _class_nodes(config):
        count += 1
        if count > MAX_LAYERS:
            raise ModelFileError(
                f"{name} declares more than {MAX_LAYERS:,} layers; no digit classifier is built like that, so Digit "
                "Lab refuses it before building anything."
            )


def _class_nodes(config: Any) -> Iterator[dict]:
    """Every dict in the configuration that names a class and has a config dict (layers, models, ...)."""
    stack = [config]
    while stack:
        node = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict) and "class_name" in node and isinstance(node.get("config"), dict):
            yield node
        stack.extend(child for child in children if isinstance(child, dict | list))  # numbers never hold layers


def _shape(value: Any) -> tuple | None:
    """A declared shape as a tuple of ints and Nones, or None when it is not one."""
    if isinstance(value, dict) and isinstance(value.get("value"), list):  # Keras's {"class_name": "__tuple__"}
        value = value["value"]
    if not isinstance(value, list | tuple) or not value:
        return None
    if all(isinstance(item, list | tuple | dict) for item in value):
        return _shape(value[0])  # several inputs: the first
    shape = []
    for size in value:
        if size is None:
            shape.append(None)
        elif isinstance(size, int) and not isinstance(size, bool):
            shape.append(size)
        elif isinstance(size, float) and size.is_integer():
            shape.append(int(size))
        else:
            return None
    return tuple(shape)


def _values(shape: tuple) -> int:
    return math.prod(max(int(size), 0) for size in shape if size is not None)


def _format_shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + (",)" if len(shape) == 1 else ")")


def declared_input_shapes(config: Any, nodes: list[dict] | None = None) -> list[tuple]:
    """The batch shapes the configuration declares for its inputs (InputLayer, or a first layer's input shape).

    ``nodes``: the configuration's class nodes when already collected (each walk visits every list in it)."""
    shapes = []
    for node in _class_nodes(config) if nodes is None else nodes:
        layer = node["config"]
        for key in ("batch_shape", "batch_input_shape"):
            shape = _shape(layer.get(key))
            if shape is not None:
                shapes.append(shape)
        shape = _shape(layer.get("input_shape")) if node.get("class_name") != "Functional" else None
        if shape is not None:
            shapes.append((None, *shape))
    return shapes


def _build_input_shape(node: dict) -> tuple | None:
    build = node.get("build_config")
    return _shape(build.get("input_shape")) if isinstance(build, dict) else None


def check_declared_sizes(config: Any, name: str) -> None:
    """Refuse declared inputs over 512x512x4, intermediate tensors over 32M values, or weights over 1 GB."""
    nodes = list(_class_nodes(config))  # walked once for all the checks below
    for shape in declared_input_shapes(config, nodes):
        if any(size is not None and size < 0 for size in shape):
            raise ModelFileError(f"{name} declares an input of shape {_format_shape(shape)}, with a negative size.")
        if _values(shape[1:]) > MAX_INPUT_VALUES:
            raise ModelFileError(
                f"{name} declares an input of shape {_format_shape(shape)}: {_values(shape[1:]):,} values per "
                f"image. Digit Lab opens models whose input holds at most {MAX_INPUT_TEXT} values."
            )
    for node in nodes:
        shape = _build_input_shape(node)
        if shape is not None and _values(shape[1:]) > MAX_ACTIVATION_VALUES:
            raise ModelFileError(
                f"{name} declares a tensor of shape {_format_shape(shape)} inside the model "
                f"({_values(shape[1:]):,} values per image), far more than a digit classifier needs."
            )
    values = estimate_weight_values(config, nodes)
    if values * _BYTES_PER_VALUE > MAX_WEIGHT_BYTES:
        raise ModelFileError(
            f"{name} declares about {values * _BYTES_PER_VALUE / 1e9:,.1f} GB of weights; Digit Lab opens models "
            f"of at most {MAX_WEIGHT_BYTES / 1e9:.1f} GB, and refused it before allocating anything."
        )


def _int_option(layer: dict, key: str, default: int = 0) -> int:
    value = layer.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return default
    return max(int(value), 0)


def _kernel_values(layer: dict) -> int:
    kernel = layer.get("kernel_size", 1)
    sizes = kernel if isinstance(kernel, list | tuple) else [kernel]
    numbers = [size for size in sizes if isinstance(size, int | float) and not isinstance(size, bool)]
    return math.prod(max(int(size), 0) for size in numbers)


def _widest_declared(config: Any, nodes: list[dict]) -> int:
    """The largest width the configuration declares: a stand-in for a layer input it does not record."""
    widest = 1
    for node in nodes:
        layer = node["config"]
        for key in ("units", "filters", "output_dim"):
            widest = max(widest, _int_option(layer, key))
    for shape in declared_input_shapes(config, nodes):
        widest = max(widest, _values(shape[1:]))
    return widest


def estimate_weight_values(config: Any, nodes: list[dict] | None = None) -> int:
    """About how many weight values building the configuration would allocate (Keras's usual layers).

    Each layer's input width comes from its ``build_config`` (Keras 3 records it); where none is recorded, the
    widest size the configuration declares stands in, which over-estimates rather than misses a bomb.
    """
    nodes = list(_class_nodes(config)) if nodes is None else nodes
    fallback = None
    total = 0
    for node in nodes:
        layer, kind = node["config"], str(node.get("class_name"))
        shape = _build_input_shape(node)
        if shape is not None and shape[-1] is not None:
            width = max(int(shape[-1]), 0)
        else:
            fallback = _widest_declared(config, nodes) if fallback is None else fallback
            width = fallback
        units, filters = _int_option(layer, "units"), _int_option(layer, "filters")
        if kind in ("Dense", "EinsumDense"):
            total += units * width + units
        elif kind.startswith("Conv"):
            total += _kernel_values(layer) * width * filters + filters
        elif kind.startswith("DepthwiseConv"):
            total += _kernel_values(layer) * width * _int_option(layer, "depth_multiplier", 1)
        elif kind.startswith("SeparableConv"):
            multiplier = _int_option(layer, "depth_multiplier", 1)
            total += _kernel_values(layer) * width * multiplier + width * multiplier * filters + filters
        elif kind == "Embedding":
            total += _int_option(layer, "input_dim") * _int_option(layer, "output_dim")
        elif kind in ("LSTM", "LSTMCell", "GRU", "GRUCell", "SimpleRNN", "SimpleRNNCell"):
            gates = 4 if kind.startswith("LSTM") else 3 if kind.startswith("GRU") else 1
            total += gates * units * (width + units + 2)
        elif kind in ("BatchNormalization", "LayerNormalization", "GroupNormalization"):
            total += 4 * width
    return total


def check_archive_sizes(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse a .keras zip whose entries would inflate past the weight limit (read from its directory)."""
    entries = archive.infolist()
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        raise ModelFileError(f"{name} holds {len(entries):,} entries; a Keras model file holds a handful.")
    inflated = sum(entry.file_size for entry in entries)
    if inflated > MAX_WEIGHT_BYTES + (64 << 20):
        raise ModelFileError(
            f"{name} would inflate to {inflated / 1e9:,.1f} GB; Digit Lab opens model files of at most "
            f"{MAX_WEIGHT_BYTES / 1e9:.1f} GB uncompressed, and refused it before inflating anything."
        )
    for entry in entries:
        if entry.filename.endswith(".h5") and entry.file_size:
            with _opened_entry(archive, entry) as inner, h5py.File(inner, "r") as weights:
                check_h5_sizes(weights, name)


def _opened_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> typing.BinaryIO:
    """A zip entry to read with seeks: a small compressed one inflated once into memory (HDF5 seeks back and forth,
    and every backward seek in a deflated stream inflates it again from the start: 2-4 s for a 7 MB model)."""
    if entry.compress_type != zipfile.ZIP_STORED and entry.file_size <= MAX_INFLATED_IN_MEMORY:
        return io.BytesIO(archive.read(entry))
    return archive.open(entry)


def check_h5_sizes(h5_file: h5py.File, name: str) -> None:
    """Refuse HDF5 weights whose datasets declare more than the weight limit (shapes only; no data is read)."""
    declared = 0

    def add(_path: str, item: Any) -> None:
        nonlocal declared
        if isinstance(item, h5py.Dataset):
            declared += int(item.size or 0) * int(item.dtype.itemsize)

    h5_file.visititems(add)
    if declared > MAX_WEIGHT_BYTES:
        raise ModelFileError(
            f"{name} declares {declared / 1e9:,.1f} GB of weights; Digit Lab opens models of at most "
            f"{MAX_WEIGHT_BYTES / 1e9:.1f} GB, and refused it before reading them."
        )


def feeding_problem(input_shape: tuple, mean: list[float] | None, std: list[float] | None) -> str | None:
    """Why Digit Lab cannot turn a digit into this input (without the batch dimension), or None when it can.

    The same rules as :func:`ml.inference.model_input.adapt_to_input` (a test keeps them equal): a square of
    features, (H, W), or (H, W, C) / (C, H, W) with 1 or 3 channels, sides of at least 4, and a mean and std of
    one value or one per input value.
    """
    shape = tuple(input_shape)
    if any(size is not None and size <= 0 for size in shape):
        return "its sizes must be positive"
    if len(shape) == 1:
        if shape[0] is not None and math.isqrt(shape[0]) ** 2 != shape[0]:
            return f"{shape[0]} features are not a square image (e.g. 784 = 28x28)"
        side = math.isqrt(shape[0]) if shape[0] is not None else MIN_IMAGE_SIDE
        sides = (side, side)
    elif len(shape) == 2:
        sides = shape
    elif len(shape) == 3:
        first, second, last = shape
        if last in FEEDABLE_CHANNELS:
            sides = (first, second)
        elif first in FEEDABLE_CHANNELS:
            sides = (second, last)
        else:
            return "Digit Lab feeds images of 1 (grey) or 3 (colour) channels, first or last"
    else:
        return "Digit Lab feeds (H, W), (H, W, C), (C, H, W) or flat (H*W,) inputs"
    if any(side is not None and side < MIN_IMAGE_SIDE for side in sides):
        return f"an image side under {MIN_IMAGE_SIDE} pixels is too small for a digit"
    features = math.prod(_DEFAULT_SIDE if size is None else size for size in shape)  # a free side is fed 28
    if shape == (None,):
        features = _DEFAULT_SIDE * _DEFAULT_SIDE  # free flat features: a 28x28 digit
    for label, values in (("mean", mean), ("std", std)):
        if values is not None and len(values) != 1 and len(values) != features:
            return f"its recorded input {label} has {len(values)} values, but the input has {features}"
        if values is not None and not np.all(np.isfinite(np.asarray(values, dtype=np.float64))):
            return f"its recorded input {label} holds NaN or infinite values"
    return None


def check_can_feed(input_shape: tuple, mean: list[float] | None, std: list[float] | None, name: str) -> None:
    """Refuse a model Digit Lab could load but never feed, naming its input shape."""
    problem = feeding_problem(input_shape, mean, std)
    if problem is not None:
        shape = _format_shape((None, *input_shape))
        raise ModelFileError(f"Cannot use {name}: its input has shape {shape}; {problem}.")


def check_finite_weights(weights: list, name: str) -> None:
    """Refuse a model holding NaN or infinite weights: every answer it gave would be NaN or meaningless."""
    for variable in weights:
        values = np.asarray(variable)
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            raise ModelFileError(
                f"Cannot use {name}: its weights hold NaN or infinite values (perhaps a training run that "
                "diverged), so every prediction would be meaningless."
            )
