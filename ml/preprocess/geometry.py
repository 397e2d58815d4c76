"""MNIST's geometry and the thresholds that several stages share."""

from __future__ import annotations

MNIST_SIZE = 28
MNIST_GLYPH_SIZE = 20
