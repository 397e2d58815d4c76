"""Synthetic handwriting styles for benchmarks and tests: digits drawn as outlines (hollow strokes), or with a strong
slant.

The bundled model reads MNIST test digits drawn these ways at about 68 % and 72 %, as it reads some people's hands.
"""

from __future__ import annotations

import numpy as np

_UPSCALE = 3


def outline_digits(images28: np.ndarray) -> np.ndarray:
    """(N, 28, 28) white-on-black digits in [0, 1] -> the same digits as hollow outlines, float32 in {0, 1}.

    The ink is traced at 3x (a one-pixel ring round the strokes) and sampled back to 28x28.
    """
    images = np.asarray(images28, dtype=np.float32)
    ink = np.kron(images, np.ones((1, _UPSCALE, _UPSCALE), np.float32)) > 0.5
    grown = ink.copy()
    grown[:, 1:, :] |= ink[:, :-1, :]
    grown[:, :-1, :] |= ink[:, 1:, :]
    grown[:, :, 1:] |= ink[:, :, :-1]
    grown[:, :, :-1] |= ink[:, :, 1:]
    ring = grown & ~ink
    return ring[:, 0::_UPSCALE, 1::_UPSCALE].astype(np.float32)


STRONG_SLANT = 1.5  # columns shifted right per row up: the bundled model reads MNIST validation digits so at 71 %


def slanted_digits(images28: np.ndarray, slant: float = STRONG_SLANT) -> np.ndarray:
    """(N, 28, 28) digits in [0, 1] -> the same digits sheared about the centre, tops to the right by ``slant``
    pixels per row (bilinear, black outside), float32."""
    from scipy import ndimage

    shear = np.array([[1.0, 0.0], [slant, 1.0]])
    centre = np.array([13.5, 13.5])
    offset = centre - shear @ centre
    images = np.asarray(images28, dtype=np.float32)
    return np.stack([ndimage.affine_transform(image, shear, offset=offset, order=1) for image in images])
