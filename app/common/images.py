"""Conversions between 2-D gray numpy arrays (float32 in [0, 1], 1 = white) and QImages."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from ml.preprocess.gray import to_gray


def array_to_qimage(gray: np.ndarray) -> QImage:
    """A 2-D gray array (float in [0, 1], or uint8) as a Grayscale8 QImage that owns its pixels."""
    array = np.asarray(gray)
    if array.ndim != 2:
        raise ValueError(f"Expected a 2-D gray image, got shape {array.shape}.")
    if array.dtype != np.uint8:
        array = np.round(np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0) * 255.0).astype(np.uint8)
    array = np.ascontiguousarray(array)
    height, width = array.shape
    return QImage(array.data, width, height, width, QImage.Format.Format_Grayscale8).copy()


def shrunk_to_fit(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` area-averaged by the largest whole factor that keeps its longer side at least ``side`` pixels (the
    last rows and columns that do not fill a block are dropped); unchanged when it is not that large."""
    factor = max(image.shape) // max(side, 1)
    if factor < 2:
        return image
    height, width = image.shape[0] // factor, image.shape[1] // factor
    if height == 0 or width == 0:
        return image
    blocks = image[: height * factor, : width * factor].reshape(height, factor, width, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def qimage_to_array(image: QImage) -> np.ndarray:
    """Any QImage as a 2-D float32 gray array in [0, 1]; transparency is blended into the paper colour."""
    if image.isNull():
        raise ValueError("The image is empty.")
    if image.hasAlphaChannel():
        rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
        return to_gray(_pixels(rgba, channels=4))
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    return _pixels(gray, channels=1).astype(np.float32) / np.float32(255.0)


def _pixels(image: QImage, channels: int) -> np.ndarray:
    """A copy of an 8-bit-per-channel QImage's pixels, (H, W) or (H, W, channels)."""
    height, width, stride = image.height(), image.width(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    pixels = rows[:, : width * channels].copy()
    return pixels if channels == 1 else pixels.reshape(height, width, channels)
