"""Find the files that ship with Digit Lab (bundled model, MNIST), in a checkout or an installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def asset_path(*parts: str) -> Path:
    """Return the path of a bundled asset, e.g. ``asset_path("data", "mnist.npz")``."""
    root = Path(str(resources.files("digitlab_assets")))
    return root.joinpath(*parts)


def bundled_model_path() -> Path:
    """The default model shipped in ``assets/models/``."""
    return asset_path("models", "digitlab-best.keras")


def bundled_mnist_path() -> Path:
    """The MNIST archive shipped in ``assets/data/`` (keras layout)."""
    return asset_path("data", "mnist.npz")
