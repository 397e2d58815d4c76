"""Argument types for the commands: numbers in their range and paths with ``~`` expanded, refused by argparse in one
line (``digitlab train: error: argument --lr: must be above 0, not -1``) before anything is loaded."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable

IMAGE_SIZES = (8, 1024)  # pixels: the least every preset's pooling takes; the most worth the memory (4 MB an image)
MAX_READER_PROCESSES = 256


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``minimum`` to ``maximum`` (no upper limit when None)."""

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if maximum is None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        if maximum is not None and not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be from {minimum} to {maximum}, not {value}")
        return value

    return read


positive_int = whole_number(1)
non_negative_int = whole_number(0)
image_size = whole_number(*IMAGE_SIZES)
random_seed = whole_number(0, 2**32 - 1)  # what keras.utils.set_random_seed takes
reader_processes = whole_number(0, MAX_READER_PROCESSES)


def finite_number(text: str) -> float:
    """A finite decimal number, or argparse's error (NaN and infinity teach a model nothing)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
    return value


def positive_float(text: str) -> float:
    """An argparse ``type``: a finite number above 0 (a learning rate)."""
    value = finite_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def momentum_value(text: str) -> float:
    """An argparse ``type``: a momentum, from 0 up to (not including) 1."""
    value = finite_number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, not {text}")
    return value


def path_argument(text: str) -> str:
    """An argparse ``type``: a path with ``~`` or ``~user`` expanded; an empty path or an unknown user is refused."""
    if not text:
        raise argparse.ArgumentTypeError("give a path, not an empty string")
    expanded = os.path.expanduser(text)
    if text.startswith("~") and expanded == text:
        user = text[1:].split(os.sep, 1)[0]
        whose = f"there is no user '{user}'" if user else "your home folder is unknown (HOME is not set)"
        raise argparse.ArgumentTypeError(f"cannot expand {text}: {whose}")
    return expanded
