"""A run's failure in the window's words: the core's messages name CLI flags, the window names its own controls."""

from __future__ import annotations

FASHION_MNIST_FILES = "github.com/zalandoresearch/fashion-mnist"


def in_window_words(message: str) -> str:
    """``message`` with its remedy worded for the training dock (Data → Browse…) instead of the command line."""
    if message.startswith("Could not download Fashion-MNIST"):
        return (
            "Fashion-MNIST could not be downloaded (no network?). Choose your own copy with Data → Browse…: "
            f"one of the four IDX .gz files from {FASHION_MNIST_FILES} (the other three beside it), "
            "or a .npz with x_train, y_train, x_test and y_test."
        )
    return message
