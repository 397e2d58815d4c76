"""``ml/__init__.py``: what importing the package sets up before TensorFlow is imported."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CHANNELS_FIRST_MODEL = """
import ml, keras, numpy as np
inputs = keras.Input((1, 28, 28))
features = keras.layers.Conv2D(4, 3, activation="relu", data_format="channels_first")(inputs)
features = keras.layers.MaxPooling2D(2, data_format="channels_first")(features)
outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(features))
print(keras.Model(inputs, outputs)(np.zeros((2, 1, 28, 28), "float32")).shape)
"""


def run_python(code: str, **environ: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    env.update(environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


X86 = pytest.mark.skipif(platform.machine().lower() not in {"x86_64", "amd64"}, reason="oneDNN is set on x86 only")


@X86
def test_a_channels_first_model_runs_on_the_cpu_of_any_x86_machine():
    # failed on an AMD EPYC before ml turned on TensorFlow's oneDNN kernels ("Conv2D ... only supports the NHWC
    # tensor format on the CPU"); recent Intel CPUs have them on by default
    result = run_python(CHANNELS_FIRST_MODEL)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "(2, 10)"


@X86
def test_a_onednn_setting_the_user_made_is_kept():
    code = "import os, ml; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    assert run_python(code).stdout.strip() == "1"
    assert run_python(code, TF_ENABLE_ONEDNN_OPTS="0").stdout.strip() == "0"
