"""Digit Lab's core: data, preprocessing, models, training and model files. Never imports Qt."""

from __future__ import annotations

import os
import platform

__version__ = "0.1.0"

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
if platform.machine().lower() in {"x86_64", "amd64"}:
    os.environ.setdefault(ONEDNN_VARIABLE, "1")
"""Before TensorFlow is imported: its oneDNN kernels on every x86 CPU. TensorFlow turns them on by itself only on
recent Intel ones, and its own CPU kernels cannot run a channels-first convolution or pooling ("The Conv2D op
currently only supports the NHWC tensor format on the CPU"), so a channels-first model failed on an AMD machine.
A value the user set is kept."""
