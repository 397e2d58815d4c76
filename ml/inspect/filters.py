"""The learned conv kernels as small images: the first conv's as they are, deeper ones' mean over input channels."""

from __future__ import annotations

from ml.models.anatomy import FilterBank, conv_kernel_banks
from ml.models.files import LoadedModel

__all__ = ["FilterBank", "conv_filters"]


def conv_filters(loaded: LoadedModel) -> list[FilterBank]:
    """One bank per conv layer with a spatial kernel, each tower's in turn; [] for a model without convs (an MLP)."""
    return conv_kernel_banks(loaded.model)
