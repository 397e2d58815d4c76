"""Fit a 28x28 digit to whatever input a model takes (size, channels, scale)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from ml.models.metadata import ModelMetadata
from ml.preprocess.geometry import MNIST_SIZE

SCALES = ("0-1", "0-255", "-1-1", "0-16")
_PIXEL_SCALE_BEFORE_STANDARDIZING = "0-1"  # "standardize" models: (pixel in [0, 1] - mean) / std per feature


def prepare_for_model(images28: np.ndarray, input_shape: tuple, metadata: ModelMetadata) -> np.ndarray:
    """Digit Lab's (N, 28, 28) white-on-black images ([0, 1] floats or uint8) -> the float32 batch a model expects,
    following its card (polarity, scale, standardisation)."""
    if images28.dtype == np.uint8:
        images28 = images28.astype(np.float32) / 255.0
    images28 = images28.astype(np.float32, copy=False)
    if metadata.input_polarity == "black_on_white":
        images28 = 1.0 - images28
    scale = metadata.input_scale
    if scale == "standardize":
        scale = _PIXEL_SCALE_BEFORE_STANDARDIZING  # adapt_to_input standardizes when given mean/std
    batch = adapt_to_input(images28, input_shape, scale=scale, mean=metadata.input_mean, std=metadata.input_std)
    return np.ascontiguousarray(batch, dtype=np.float32)


def prepare_color_for_model(images: np.ndarray, input_shape: tuple, metadata: ModelMetadata) -> np.ndarray:
    """(N, H, W, 3) colour images in [0, 1], already at the model's size -> the float32 batch an RGB model expects
    (its card's polarity, scale and standardisation); ValueError when the model does not take such images."""
    batch = np.asarray(images, dtype=np.float32)
    height, width, channels, layout = _input_layout(tuple(input_shape))
    if batch.ndim != 4 or batch.shape[-1] != 3 or channels != 3 or batch.shape[1:3] != (height, width):
        raise ValueError(f"Colour images of shape {batch.shape[1:]} do not fit a model input of {tuple(input_shape)}.")
    if metadata.input_polarity == "black_on_white":
        batch = 1.0 - batch
    scale = metadata.input_scale
    batch = _apply_scale(batch, _PIXEL_SCALE_BEFORE_STANDARDIZING if scale == "standardize" else scale)
    if layout == "channels_first":
        batch = np.transpose(batch, (0, 3, 1, 2))
    if metadata.input_mean is not None or metadata.input_std is not None:
        batch = _standardize(batch, metadata.input_mean, metadata.input_std)
    return np.ascontiguousarray(batch, dtype=np.float32)


def adapt_to_input(
    images: np.ndarray,
    input_shape: tuple,
    *,
    scale: str = "0-1",
    mean: np.ndarray | float | None = None,
    std: np.ndarray | float | None = None,
) -> np.ndarray:
    """An (N, 28, 28) white-on-black batch in [0, 1] reshaped, resized and scaled for a model's input shape."""
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}; use one of {', '.join(SCALES)}.")
    batch = np.asarray(images, dtype=np.float32)
    if batch.ndim == 4 and batch.shape[-1] == 1:
        batch = batch[..., 0]
    if batch.ndim == 2:
        batch = batch[None]
    if batch.ndim != 3:
        raise ValueError(f"Expected a batch of 2-D images (N, H, W), got shape {batch.shape}.")
    shape = tuple(input_shape)
    if len(shape) >= 2 and shape[0] is None and (len(shape) == 4 or shape[1] is not None):
        shape = shape[1:]
    height, width, channels, layout = _input_layout(shape)
    resized = _resize_batch(batch, height, width)
    scaled = _apply_scale(resized, scale)
    if layout == "flat":
        adapted = scaled.reshape(len(scaled), -1)
    elif layout == "gray":
        adapted = scaled
    elif layout == "channels_last":
        adapted = np.repeat(scaled[..., None], channels, axis=-1)
    else:
        adapted = np.repeat(scaled[:, None], channels, axis=1)
    if mean is not None or std is not None:
        adapted = _standardize(adapted, mean, std)
    return np.ascontiguousarray(adapted, dtype=np.float32)


def input_frame(digit28: np.ndarray, input_shape: tuple) -> tuple[int, int, tuple[float, float, float, float]]:
    """(height, width, box) of the image a model receives from a 28x28 digit: its size, and the square of the digit
    it shows as (left, top, right, bottom) in 28x28 pixels: the glyph's square for small (8x8) inputs, else 0..28."""
    shape = tuple(input_shape)
    if len(shape) >= 2 and shape[0] is None and (len(shape) == 4 or shape[1] is not None):
        shape = shape[1:]
    height, width, _, _ = _input_layout(shape)
    box = _glyph_square(np.asarray(digit28, dtype=np.float32)) if max(height, width) < 16 else None
    return height, width, box or (0.0, 0.0, float(MNIST_SIZE), float(MNIST_SIZE))


def input_image_size(input_shape: tuple) -> tuple[int, int, int]:
    """(height, width, channels) of the images a model input of ``input_shape`` (no batch dimension) takes;
    a free size counts as 28; ValueError for an input Digit Lab cannot feed."""
    height, width, channels, _layout = _input_layout(tuple(input_shape))
    return height, width, channels


def _input_layout(shape: tuple) -> tuple[int, int, int, str]:
    """(height, width, channels, layout) for a model input shape without its batch dimension."""
    problem = f"Cannot prepare digits for a model input of shape {shape}"
    if any(size is not None and (not isinstance(size, int | np.integer) or size <= 0) for size in shape):
        raise ValueError(f"{problem}: sizes must be positive integers.")
    if len(shape) == 1:
        features = shape[0]
        side = math.isqrt(features) if features is not None else MNIST_SIZE
        if features is not None and side * side != features:
            raise ValueError(f"{problem}: {features} features are not a square image (e.g. 784 = 28x28).")
        height = width = side
        channels, layout = 1, "flat"
    elif len(shape) == 2:
        height, width = shape
        channels, layout = 1, "gray"
    elif len(shape) == 3:
        first, second, last = shape
        if last in (1, 3):
            height, width, channels, layout = first, second, last, "channels_last"
        elif first in (1, 3):
            height, width, channels, layout = second, last, first, "channels_first"
        else:
            raise ValueError(f"{problem}: expected 1 or 3 colour channels first or last.")
    else:
        raise ValueError(f"{problem}: expected (H, W), (H, W, C), (C, H, W) or (H*W,).")
    height = MNIST_SIZE if height is None else int(height)
    width = MNIST_SIZE if width is None else int(width)
    if min(height, width) < 4:
        raise ValueError(f"{problem}: an image of {height}x{width} pixels is too small for a digit.")
    return height, width, int(channels), layout


def _resize_batch(batch: np.ndarray, height: int, width: int) -> np.ndarray:
    if batch.shape[1:] == (height, width):
        return batch.copy()
    small = max(height, width) < 16
    resized = np.empty((len(batch), height, width), dtype=np.float32)
    for index, digit in enumerate(batch):
        picture = Image.fromarray(np.ascontiguousarray(digit, dtype=np.float32), mode="F")
        box = _glyph_square(digit) if small else None
        shrinking = height < digit.shape[0] or width < digit.shape[1]
        resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
        if box is not None:
            margin = MNIST_SIZE
            picture = Image.fromarray(np.pad(np.ascontiguousarray(digit, dtype=np.float32), margin), mode="F")
            box = tuple(value + margin for value in box)
        resized[index] = np.asarray(picture.resize((width, height), resample, box=box), dtype=np.float32)
    resized = np.clip(resized, 0.0, 1.0)
    return _like_block_counts(resized) if small else resized


def _like_block_counts(batch: np.ndarray) -> np.ndarray:
    """Full-contrast cells with no faint ink, as sklearn's 8x8 digits count a glyph's pixels per block.

    Shrinking blurs strokes; without this, faint cells where the training data is almost always empty
    explode under standardization and an 8x8 model misreads drawn digits (70 % → 87 % measured).
    """
    peaks = batch.max(axis=(1, 2), keepdims=True)
    stretched = batch / np.where(peaks > 0, peaks, np.float32(1.0))
    return np.where(stretched < 1.0 / 16.0, np.float32(0.0), stretched).astype(np.float32)


def _glyph_square(digit: np.ndarray) -> tuple[float, float, float, float] | None:
    """The square around a digit's ink, as sklearn's 8x8 digits fill their frame with the glyph."""
    rows = np.flatnonzero((digit > 0.1).any(axis=1))
    columns = np.flatnonzero((digit > 0.1).any(axis=0))
    if rows.size == 0:
        return None
    side = max(rows[-1] + 1 - rows[0], columns[-1] + 1 - columns[0])
    centre_row = (rows[0] + rows[-1] + 1) / 2
    centre_column = (columns[0] + columns[-1] + 1) / 2
    return (centre_column - side / 2, centre_row - side / 2, centre_column + side / 2, centre_row + side / 2)


def _apply_scale(batch: np.ndarray, scale: str) -> np.ndarray:
    if scale == "0-255":
        return batch * np.float32(255.0)
    if scale == "-1-1":
        return batch * np.float32(2.0) - np.float32(1.0)
    if scale == "0-16":
        return batch * np.float32(16.0)
    return batch


def _standardize(batch: np.ndarray, mean: np.ndarray | float | None, std: np.ndarray | float | None) -> np.ndarray:
    """(x - mean) / std, like scikit-learn's StandardScaler (a zero std counts as 1)."""
    sample_shape = batch.shape[1:]
    centre = _as_feature_array(mean, sample_shape, "mean", default=0.0)
    spread = _as_feature_array(std, sample_shape, "std", default=1.0)
    spread = np.where(spread == 0, np.float32(1.0), spread)
    return (batch - centre) / spread


def _as_feature_array(value: np.ndarray | float | None, sample_shape: tuple, name: str, default: float) -> np.ndarray:
    array = np.asarray(default if value is None else value, dtype=np.float32)
    if array.size == math.prod(sample_shape):
        return array.reshape(sample_shape)
    if array.size == 1:
        return array.reshape(())
    raise ValueError(f"{name} has {array.size} values but the model input has {math.prod(sample_shape)} features.")
