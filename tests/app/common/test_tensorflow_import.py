"""Importing TensorFlow off the window's thread: native libraries preloaded, collector paused, imports frozen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.common.tensorflow_import import tensorflow_native_libraries

ROOT = Path(__file__).resolve().parents[3]

CHILD = r"""
import gc, json, sys
from app.common.tensorflow_import import import_tensorflow, preload_without_gil, tensorflow_native_libraries
libraries = tensorflow_native_libraries()
preloaded = preload_without_gil(libraries)
tf, keras = import_tensorflow()
frozen = gc.get_freeze_count()
garbage = [[] for _ in range(1000)]
import_tensorflow()
print(json.dumps({
    "libraries": len(libraries),
    "preloaded": preloaded,
    "frozen": frozen,
    "frozen_again": gc.get_freeze_count(),
    "collector_enabled": gc.isenabled(),
    "sum": float(tf.reduce_sum(tf.constant([1.0, 2.0, 3.5]))),
    "keras_sum": float(keras.ops.sum(keras.ops.ones((2, 3)))),
}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the native-library preload is for Linux wheels")
def test_tensorflow_libraries_are_found_in_the_installed_package():
    names = [path.name for path in tensorflow_native_libraries()]

    assert any(name.startswith("libtensorflow_framework.so") for name in names)
    assert all(path.is_file() for path in tensorflow_native_libraries())


def test_preloaded_tensorflow_imports_and_computes_and_freezes_its_objects_once():
    completed = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]  # e.g. a crash from loading the libraries wrongly
    report = json.loads(completed.stdout.strip().splitlines()[-1])

    assert report["preloaded"] == report["libraries"]
    assert report["sum"] == 6.5 and report["keras_sum"] == 6.0
    assert report["collector_enabled"]
    assert report["frozen"] > 100_000  # TensorFlow's and Keras's objects are out of later full collections
    assert report["frozen_again"] == report["frozen"]  # a second call freezes nothing new (no garbage kept)


QUIET_CHILD = r"""
import os
from app.common.tensorflow_import import import_tensorflow
tf, keras = import_tensorflow()
os.write(2, b"E0000 00:00:1.0 1 kernel.cc:1] a real error\n")  # after the import: not held back
print(os.environ["TF_CPP_MIN_LOG_LEVEL"], float(tf.reduce_sum(tf.constant([1.0, 2.0]))))
"""


@pytest.mark.parametrize("debug", [False, True])
def test_the_windows_import_holds_back_tensorflows_chatter_unless_debugging(debug):
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    if debug:
        environment["DIGITLAB_DEBUG"] = "1"
    completed = subprocess.run([sys.executable, "-c", QUIET_CHILD], cwd=ROOT, capture_output=True, text=True,
                               timeout=240, env=environment)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.split() == ["0" if debug else "3", "3.0"]  # the level TensorFlow was imported with
    assert "a real error" in completed.stderr
    chatter = [line for line in completed.stderr.splitlines() if "oneDNN" in line or "absl::InitializeLog" in line
               or "cuda drivers" in line or "cpu_feature_guard" in line]
    if debug:
        assert chatter  # TensorFlow 2.21 on x86 always announces oneDNN and its CPU features
    else:
        assert chatter == [], completed.stderr


ARRAY_TYPES_CHILD = r"""
import json, sys, numpy as np
from app.common.tensorflow_import import import_array_types_before_showing
imported = import_array_types_before_showing()
print(json.dumps({
    "imported": imported,
    "ml_dtypes": "ml_dtypes" in sys.modules,
    "tensorflow": "tensorflow" in sys.modules or "keras" in sys.modules,
    "bfloat16": str(np.dtype("bfloat16")) if imported else None,  # numpy knows TensorFlow's types now
}))
"""


def test_the_array_types_are_registered_early_without_importing_tensorflow():
    completed = subprocess.run([sys.executable, "-c", ARRAY_TYPES_CHILD], cwd=ROOT, capture_output=True, text=True,
                               timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report == {"imported": True, "ml_dtypes": True, "tensorflow": False, "bfloat16": "bfloat16"}


def test_without_ml_dtypes_the_early_import_is_skipped(monkeypatch):
    import importlib.util

    from app.common import tensorflow_import

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    assert tensorflow_import.import_array_types_before_showing() is False
