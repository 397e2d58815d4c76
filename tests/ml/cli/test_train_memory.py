"""``digitlab train`` at an image size whose dataset will not fit in memory: one line and exit 2, nothing resized."""

from __future__ import annotations

import pytest

from ml.cli.main import main

GB = 10**9


@pytest.fixture
def twelve_gb_free(monkeypatch):
    """A machine with 12 GB free, whatever this one has."""
    monkeypatch.setattr("ml.training.memory.available_memory_bytes", lambda: 12 * GB)


def test_mnist_at_1024_is_refused_in_one_line_before_a_single_image_is_resized(
    tmp_path, capsys, monkeypatch, twelve_gb_free
):
    def no_resizing(*args, **kwargs):
        raise AssertionError("the images were resized before the check")

    monkeypatch.setattr("ml.data.datasets.resize_images", no_resizing)  # 294 GB would have followed
    out = tmp_path / "model.keras"
    arguments = ["train", "--preset", "fast", "--dataset", "mnist", "--image-size", "1024", "--out", str(out)]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: MNIST at 1024x1024 needs about 755 GB of memory to train (its 70,000 images take 294 GB, and "
        "training copies them); this machine has 12 GB free. Choose an image size of at most 111 (--image-size) or "
        "an image folder, which is streamed from its files."
    ]
    assert "Traceback" not in err and not out.exists()


def test_an_ordinary_image_size_is_not_refused(tmp_path, capsys, twelve_gb_free):
    out = tmp_path / "model.keras"
    arguments = ["train", "--preset", "fast", "--dataset", "sklearn-digits", "--image-size", "28", "--epochs", "1"]
    assert main([*arguments, "--max-train-samples", "64", "--out", str(out)]) == 0
    assert out.is_file() and "error:" not in capsys.readouterr().err
