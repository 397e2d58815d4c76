"""Digit Lab's core: data, preprocessing, models, training and model files. Never imports Qt."""

from __future__ import annotations

__version__ = "0.1.0"
