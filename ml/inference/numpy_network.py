"""Small convolutional networks run in numpy, without TensorFlow: the layer kernels and a runner for a plan of them.

A convolution is im2col (the shifted windows side by side) and one matmul per image row, so BLAS does the work with
Python's GIL released and a window's thread is not starved. The not-a-digit detector (``ml.doubt.detector``) and the
bundled classifier's TensorFlow-free fast path (``ml.inference.shipped_numpy``) both run on these kernels.

A plan is plain data (JSON): ``{"format": 1, "output_is_probabilities": bool, "steps": [...]}``, each step
``{"name", "op", "inputs": [names], ...}`` in the order they run, the first one the ``input`` with its ``shape``;
its arrays are named ``<step>.kernel``, ``<step>.bias``, ``<step>.scale``, ``<step>.shift``.
"""

from __future__ import annotations

import logging
import math
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ml.data.sources import sha256_of
from ml.errors import ModelFileError
from ml.inference.calibration import softmax

logger = logging.getLogger(__name__)

PLAN_FORMAT = 1
OPS = ("input", "conv2d", "dense", "scale_shift", "relu", "softmax", "max_pool", "flatten", "average")
ACTIVATIONS = ("linear", "relu", "softmax")
MAX_STEPS = 1000


class NumpyNetworkError(ModelFileError):
    """A plan or its arrays do not make a network the numpy runner can run."""


def relu(values: np.ndarray) -> np.ndarray:
    """max(x, 0)."""
    return np.maximum(values, 0.0)


def conv2d(values: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None = None, padding: str = "same") -> np.ndarray:
    """A stride-1 convolution as Keras's Conv2D computes it: NHWC values, kernel (kh, kw, in, out), 'same' (the
    extra row or column of an even kernel after) or 'valid' padding."""
    count, height, width, channels = values.shape
    kernel_height, kernel_width = kernel.shape[:2]
    if padding == "same":
        top, left = (kernel_height - 1) // 2, (kernel_width - 1) // 2
        values = np.pad(values, ((0, 0), (top, kernel_height - 1 - top), (left, kernel_width - 1 - left), (0, 0)))
    else:
        height, width = height - kernel_height + 1, width - kernel_width + 1
    columns = np.concatenate(
        [
            values[:, row : row + height, column : column + width, :]
            for row in range(kernel_height)
            for column in range(kernel_width)
        ],
        axis=-1,
    )
    outputs = columns @ kernel.reshape(kernel_height * kernel_width * channels, -1)
    return outputs if bias is None else outputs + bias


def max_pool(values: np.ndarray, size: int = 2) -> np.ndarray:
    """size x size max pooling, stride size, Keras's 'valid' padding (a partial last row or column is dropped)."""
    count, height, width, channels = values.shape
    values = values[:, : height // size * size, : width // size * size, :]
    return values.reshape(count, height // size, size, width // size, size, channels).max(axis=(2, 4))


def checked_arrays(
    arrays: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, ...]], what: str, error: type = NumpyNetworkError
) -> dict[str, np.ndarray]:
    """``arrays`` as float32 when they are exactly the named ``shapes``, all finite; else raises ``error`` saying
    which array of the ``what`` is wrong."""
    if set(arrays) != set(shapes):
        raise error(f"The {what} file holds other layers than Digit Lab's {what}.")
    checked = {}
    for name, shape in shapes.items():
        array = np.asarray(arrays[name])
        if array.shape != shape or array.dtype.kind != "f" or not np.isfinite(array).all():
            raise error(f"The {what}'s {name} is not a finite {shape} array.")
        checked[name] = array.astype(np.float32)
    return checked


def read_checked_arrays(
    path: Path,
    expected_sha256: str | None,
    shapes: Mapping[str, tuple[int, ...]],
    max_bytes: int,
    what: str,
    error: type = NumpyNetworkError,
) -> dict[str, np.ndarray]:
    """The arrays of a shipped ``.npz`` network (its size and SHA-256 checked before numpy parses it, pickled objects
    refused, every array of ``shapes`` present and finite). Raises ``error`` with a one-line message naming ``what``."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as failure:
        raise error(f"The {what} file {path.name} cannot be read ({failure.strerror}).") from failure
    if not path.is_file() or size > max_bytes:
        raise error(f"The {what} file {path.name} is not a {what} Digit Lab shipped.")
    if expected_sha256 is not None and sha256_of(path) != expected_sha256:
        raise error(
            f"The {what} file {path.name} has been altered or damaged (its SHA-256 differs from the one "
            "Digit Lab shipped); reinstall Digit Lab."
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as failure:
        raise error(f"The {what} file {path.name} is damaged ({failure}).") from failure
    return checked_arrays(arrays, shapes, what, error)


def small_cnn_hidden(values: np.ndarray, weights: Mapping[str, np.ndarray], conv_layers: int) -> np.ndarray:
    """The hidden layer of a shipped small CNN (``conv1``..``conv<n>``: 3x3 'same', ReLU, 2x2 max pooling; then
    ``dense`` with ReLU) for NHWC ``values``."""
    for index in range(1, conv_layers + 1):
        values = max_pool(relu(conv2d(values, weights[f"conv{index}_kernel"], weights[f"conv{index}_bias"])))
    return relu(values.reshape(len(values), -1) @ weights["dense_kernel"] + weights["dense_bias"])


def small_cnn_keras(input_shape: tuple[int, ...], conv_channels: tuple[int, ...], hidden_units: int):
    """The Keras network of :func:`small_cnn_hidden`'s layers and a one-unit ``score`` (for fitting one)."""
    import keras

    layers = [keras.Input(input_shape)]
    for index, width in enumerate(conv_channels, start=1):
        layers += [keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{index}")]
        layers += [keras.layers.MaxPooling2D(2)]
    layers += [keras.layers.Flatten(), keras.layers.Dense(hidden_units, activation="relu", name="dense")]
    layers += [keras.layers.Dropout(0.2), keras.layers.Dense(1, name="score")]
    return keras.Sequential(layers)


_WARNED: set[str] = set()


def shipped_network_usable(load: Callable[[], object], name: str) -> bool:
    """Whether ``load()`` (a shipped network's cached reader) succeeds; a :class:`ModelFileError` is logged once per
    ``name``, and the caller goes on without the network."""
    try:
        load()
    except ModelFileError as error:
        if name not in _WARNED:
            _WARNED.add(name)
            logger.warning("%s", error)
        return False
    return True


def activate(values: np.ndarray, activation: str) -> np.ndarray:
    """Apply a plan's activation by name."""
    if activation == "relu":
        return relu(values)
    if activation == "softmax":
        return softmax(values)
    return values


class NumpyNetwork:
    """A checked plan with its float32 arrays: ``outputs`` maps (n, *input_shape) inputs to (n, k) outputs."""

    def __init__(self, plan: Mapping, weights: Mapping[str, np.ndarray]) -> None:
        """Check the plan and every array's shape against it (raises :class:`NumpyNetworkError`)."""
        if not isinstance(plan, Mapping) or plan.get("format") != PLAN_FORMAT:
            raise NumpyNetworkError("The network plan is not one Digit Lab writes (unknown format).")
        steps = plan.get("steps")
        if not isinstance(steps, list) or not 2 <= len(steps) <= MAX_STEPS:
            raise NumpyNetworkError("The network plan has no usable list of steps.")
        self.output_is_probabilities = bool(plan.get("output_is_probabilities"))
        self.steps: list[dict] = []
        self._weights: dict[str, np.ndarray] = {}
        shapes: dict[str, tuple[int, ...]] = {}
        for index, step in enumerate(steps):
            shapes[_step_name(step)] = self._check_step(step, index, shapes, weights)
            self.steps.append(dict(step))
        if set(weights) != set(self._weights):
            raise NumpyNetworkError("The network file holds arrays its plan does not use.")
        self.input_shape = shapes[self.steps[0]["name"]]
        self.output_shape = shapes[self.steps[-1]["name"]]
        if len(self.output_shape) != 1:
            raise NumpyNetworkError("The network's last step does not give one row of scores per image.")

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        """(n, *input_shape) -> (n, k) float32 outputs of the last step."""
        batch = np.asarray(inputs, np.float32)
        if batch.shape[1:] != self.input_shape:
            raise ValueError(f"The network expects inputs of shape {self.input_shape}, got {batch.shape[1:]}.")
        values: dict[str, np.ndarray] = {}
        for step in self.steps:
            values[step["name"]] = self._run_step(step, [values[name] for name in step.get("inputs", [])], batch)
        return values[self.steps[-1]["name"]]

    def _run_step(self, step: dict, inputs: list[np.ndarray], batch: np.ndarray) -> np.ndarray:
        op, name = step["op"], step["name"]
        if op == "input":
            return batch
        if op == "conv2d":
            kernel, bias = self._weights[f"{name}.kernel"], self._weights.get(f"{name}.bias")
            return activate(conv2d(inputs[0], kernel, bias, step["padding"]), step["activation"])
        if op == "dense":
            outputs = inputs[0] @ self._weights[f"{name}.kernel"]
            if f"{name}.bias" in self._weights:
                outputs = outputs + self._weights[f"{name}.bias"]
            return activate(outputs, step["activation"])
        if op == "scale_shift":
            return inputs[0] * self._weights[f"{name}.scale"] + self._weights[f"{name}.shift"]
        if op in ("relu", "softmax"):
            return activate(inputs[0], op)
        if op == "max_pool":
            return max_pool(inputs[0], step["size"])
        if op == "flatten":
            return inputs[0].reshape(len(inputs[0]), -1)
        total = inputs[0]  # average, summed in order as Keras's Average layer does
        for other in inputs[1:]:
            total = total + other
        return total / np.float32(len(inputs))

    def _check_step(self, step: object, index: int, shapes: dict, weights: Mapping[str, np.ndarray]) -> tuple:
        """The step's output shape, once its op, inputs, settings and arrays are checked."""
        if not isinstance(step, Mapping) or step.get("op") not in OPS:
            raise NumpyNetworkError(f"Step {index} of the network plan is not a known layer.")
        name, op = _step_name(step), step["op"]
        if name in shapes:
            raise NumpyNetworkError(f"The network plan names two steps {name!r}.")
        if (op == "input") != (index == 0):
            raise NumpyNetworkError("The network plan must start with its input, and have only one.")
        if op == "input":
            shape = step.get("shape")
            if not isinstance(shape, list) or len(shape) not in (1, 3) or not all(_positive(side) for side in shape):
                raise NumpyNetworkError("The network plan's input shape is not usable.")
            return tuple(shape)
        names = step.get("inputs")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n in shapes for n in names):
            raise NumpyNetworkError(f"Step {name!r} of the network plan reads a step that does not come before it.")
        shape = shapes[names[0]]
        if op == "average":
            if len(names) < 2 or any(shapes[other] != shape for other in names):
                raise NumpyNetworkError(f"Step {name!r} averages fewer than two outputs, or outputs of other shapes.")
            return shape
        if len(names) != 1:
            raise NumpyNetworkError(f"Step {name!r} of the network plan reads more than one step.")
        if op in ("relu", "softmax"):
            return shape
        if op == "flatten":
            return (math.prod(shape),)
        if op == "max_pool":
            size = step.get("size")
            if len(shape) != 3 or not _positive(size) or size > min(shape[:2]):
                raise NumpyNetworkError(f"Step {name!r} pools something that is not a stack of maps.")
            return (shape[0] // size, shape[1] // size, shape[2])
        if op == "scale_shift":
            self._take(weights, f"{name}.scale", (shape[-1],))
            self._take(weights, f"{name}.shift", (shape[-1],))
            return shape
        if step.get("activation") not in ACTIVATIONS:
            raise NumpyNetworkError(f"Step {name!r} of the network plan has an unknown activation.")
        if op == "dense":
            if len(shape) != 1:
                raise NumpyNetworkError(f"Step {name!r} is a dense layer on something that is not flat.")
            kernel = self._take(weights, f"{name}.kernel", None, rank=2, rows=shape[0])
            self._take(weights, f"{name}.bias", (kernel.shape[1],), optional=True)
            return (kernel.shape[1],)
        padding = step.get("padding")
        if len(shape) != 3 or padding not in ("same", "valid"):
            raise NumpyNetworkError(f"Step {name!r} is a convolution on something that is not a stack of maps.")
        kernel = self._take(weights, f"{name}.kernel", None, rank=4)
        too_big = kernel.shape[0] > shape[0] or kernel.shape[1] > shape[1]
        if kernel.shape[2] != shape[2] or (padding == "valid" and too_big):
            raise NumpyNetworkError(f"The kernel of step {name!r} does not fit its input.")
        self._take(weights, f"{name}.bias", (kernel.shape[3],), optional=True)
        if padding == "same":
            return (shape[0], shape[1], kernel.shape[3])
        return (shape[0] - kernel.shape[0] + 1, shape[1] - kernel.shape[1] + 1, kernel.shape[3])

    def _take(
        self,
        weights: Mapping[str, np.ndarray],
        key: str,
        shape: tuple | None,
        rank: int | None = None,
        rows: int | None = None,
        optional: bool = False,
    ) -> np.ndarray:
        """Keep ``weights[key]`` as float32 after checking it is a finite float array of the expected shape."""
        if key not in weights:
            if optional:
                return np.zeros(0, np.float32)
            raise NumpyNetworkError(f"The network file lacks the array {key!r}.")
        array = np.asarray(weights[key])
        fits = array.shape == shape if shape is not None else array.ndim == rank and min(array.shape) > 0
        if rows is not None:
            fits = fits and array.shape[0] == rows
        if not fits or array.dtype.kind != "f" or not np.isfinite(array).all():
            raise NumpyNetworkError(f"The network's array {key!r} is not a finite array of the shape its plan needs.")
        self._weights[key] = np.ascontiguousarray(array, np.float32)
        return self._weights[key]


def _step_name(step: object) -> str:
    name = step.get("name") if isinstance(step, Mapping) else None
    if not isinstance(name, str) or not name or "." in name:
        raise NumpyNetworkError("A step of the network plan has no usable name.")
    return name


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 100_000
