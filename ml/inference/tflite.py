"""TensorFlow Lite: convert a Keras model (float, or full-integer int8) and run the result on batches."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import tensorflow as tf

RunBatch = Callable[[np.ndarray], np.ndarray]


def convert_to_tflite(
    model: tf.keras.Model | object,
    batch_shape: tuple,
    *,
    representative_batches: Callable[[], Iterable[np.ndarray]] | None = None,
) -> bytes:
    """The inference graph of ``model`` for inputs of ``batch_shape`` (None: any batch size) as a TFLite flatbuffer.

    With ``representative_batches`` (float32 model inputs, one image per batch is usual) the model is quantised to
    full integers: int8 weights and activations, int8 input and output (the scales are in the interpreter's details).
    """
    holder = tf.Module()  # holds the tf.Variables so the converter freezes their values into the model
    holder.model_variables = [variable.value for variable in model.variables]
    holder.serve = tf.function(
        lambda batch: model(batch, training=False),
        input_signature=[tf.TensorSpec(batch_shape, tf.float32)],
    )
    concrete_function = holder.serve.get_concrete_function()
    with warnings.catch_warnings(), native_stderr_silenced():
        warnings.simplefilter("ignore")
        converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete_function], holder)
        if representative_batches is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([batch] for batch in representative_batches())
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        return converter.convert()


def tflite_runner(flatbuffer: bytes, threads: int = 1) -> RunBatch:
    """A function running the flatbuffer's interpreter on a float32 batch and returning float32 outputs.

    A model with a free batch size is resized to each batch; int8 inputs are quantised and outputs dequantised with
    the model's own scales.
    """
    with warnings.catch_warnings(), native_stderr_silenced():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=flatbuffer, num_threads=threads)
        interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    input_index, output_index = source["index"], target["index"]
    shape = {"current": tuple(source["shape"])}

    def run(batch: np.ndarray) -> np.ndarray:
        if tuple(batch.shape) != shape["current"]:
            interpreter.resize_tensor_input(input_index, list(batch.shape))
            interpreter.allocate_tensors()
            shape["current"] = tuple(batch.shape)
        interpreter.set_tensor(input_index, quantize(batch, source))
        interpreter.invoke()
        return dequantize(interpreter.get_tensor(output_index), target)

    return run


def quantize(batch: np.ndarray, details: dict) -> np.ndarray:
    """A float batch as the tensor's type: unchanged for float inputs, scaled and rounded for integer ones."""
    dtype = np.dtype(details["dtype"])
    if dtype.kind == "f":
        return np.ascontiguousarray(batch, dtype=dtype)
    scale, zero_point = details["quantization"]
    limits = np.iinfo(dtype)
    return np.clip(np.round(batch / scale + zero_point), limits.min, limits.max).astype(dtype)


def dequantize(values: np.ndarray, details: dict) -> np.ndarray:
    """An output tensor as float32 (integer outputs through their scale and zero point)."""
    if np.dtype(details["dtype"]).kind == "f":
        return np.asarray(values, dtype=np.float32)
    scale, zero_point = details["quantization"]
    return ((values.astype(np.float32) - zero_point) * scale).astype(np.float32)


def tflite_io_details(flatbuffer: bytes) -> dict:
    """The input and output tensors' shape, type and quantisation (for a sidecar file)."""
    with warnings.catch_warnings(), native_stderr_silenced():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=flatbuffer)

    def describe(details: dict) -> dict:
        scale, zero_point = details["quantization"]
        described = {
            "shape": [int(size) for size in details.get("shape_signature", details["shape"])],
            "dtype": np.dtype(details["dtype"]).name,
        }
        if np.dtype(details["dtype"]).kind != "f":
            described["quantization"] = {"scale": float(scale), "zero_point": int(zero_point)}
        return described

    return {
        "input": describe(interpreter.get_input_details()[0]),
        "output": describe(interpreter.get_output_details()[0]),
    }


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Hide the C++ converter's INFO lines (MLIR passes, XNNPACK) that Python's warnings cannot filter.

    This redirects file descriptor 2 for the duration of the conversion only (well under a second).
    """
    sys.stderr.flush()
    try:
        saved_stderr = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
