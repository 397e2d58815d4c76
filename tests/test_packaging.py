"""A non-editable install (a built wheel) finds the bundled model and MNIST, from any working folder."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built once per test run: pytest-xdist workers share it, and build it one at a time (an in-tree build
    writes ``build/``, and two at once broke each other's wheel)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    base = tmp_path_factory.getbasetemp()
    out = base.parent / f"wheel-{run}" if run else base / "wheel"
    out.mkdir(exist_ok=True)
    with open(out / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not list(out.glob("digitlab-*.whl")):
            result = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
                capture_output=True, text=True, timeout=300,
            )
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (built,) = out.glob("digitlab-*.whl")
    return built


def test_wheel_contains_code_and_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {path.relative_to(ROOT).as_posix() for folder in ("app", "ml") for path in (ROOT / folder).rglob("*.py")}
    assert sources - names == set()  # every room is packaged (pyproject lists each subpackage)
    assert "digitlab_assets/data/mnist.npz" in names
    assert "digitlab_assets/data/mnist.npz.sha256" in names
    assert "digitlab_assets/models/digitlab-best.keras" in names
    assert "digitlab_assets/models/digitlab-best.tflite" in names  # the shipped conversion and its record
    assert "digitlab_assets/models/digitlab-best.tflite.json" in names
    assert "digitlab_assets/models/digitlab-best.numpy.npz" in names  # the answers without TensorFlow, and their record
    assert "digitlab_assets/models/digitlab-best.numpy.json" in names
    assert not any(name.startswith("tests/") for name in names)


def test_installed_wheel_finds_assets_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    code = (
        "import ml.assets as a, ml.data.datasets as d\n"
        "print(a.__file__)\n"
        "print(a.bundled_model_path().is_file(), a.bundled_mnist_path().is_file())\n"
        "print(len(d.load_mnist().x_test))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    module_file, found, test_images = run.stdout.strip().splitlines()
    assert module_file.startswith(str(site))
    assert found.split() == ["True", "True"]
    assert test_images == "10000"
