"""The model file formats Digit Lab reads and writes, known without importing Keras."""

from __future__ import annotations

KERAS_SUFFIXES = (".keras",)
H5_SUFFIXES = (".h5", ".hdf5")
SUPPORTED_SUFFIXES = KERAS_SUFFIXES + H5_SUFFIXES
