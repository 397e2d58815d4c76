"""The teaching tests' MNIST, loaded once per module."""

from __future__ import annotations

import pytest

from ml.data.datasets import load_mnist


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()
