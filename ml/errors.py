"""Digit Lab's errors: each message is meant for the user, and says what went wrong and what to do."""

from __future__ import annotations


class DigitLabError(Exception):
    """A failure the user can act on; ``str(error)`` is the message to show."""


class DatasetError(DigitLabError):
    """A dataset that cannot be found, read or trusted."""


class ModelFileError(DigitLabError):
    """A model file Digit Lab refuses or cannot read."""


class TrainingError(DigitLabError):
    """Training could not start or went wrong."""


class ImageReadError(DigitLabError, ValueError):
    """An image file could not be read."""
