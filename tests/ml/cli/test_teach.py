"""``digitlab teach FOLDER``: JSON with before/after on the held-back fifth and the test set; bad folders refused
with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from ml.cli.main import main
from ml.models.files import load_model, save_model
from ml.models.metadata import ModelMetadata

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def digits():
    with np.load(ROOT / "assets" / "data" / "mnist.npz") as archive:
        images, labels = archive["x_test"][:400], archive["y_test"][:400]
    return images, labels


def _stranger(path: Path) -> Path:
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    return save_model(model, path, ModelMetadata())


def _folder(root: Path, digits, per_class: int = 5) -> Path:
    images, labels = digits
    for digit in range(10):
        (root / str(digit)).mkdir(parents=True)
        for number, index in enumerate(np.flatnonzero(labels == digit)[:per_class]):
            Image.fromarray(255 - images[index]).resize((112, 112)).save(root / str(digit) / f"{number}.png")
    return root


def test_teach_prints_json_and_saves_a_taught_model_with_its_record(tmp_path, capsys, digits):
    folder = _folder(tmp_path / "mine", digits)
    (folder / "3" / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "taught.keras"
    assert (
        main(
            [
                "teach",
                str(folder),
                "--model",
                str(_stranger(tmp_path / "s.h5")),
                "--out",
                str(out),
                "--epochs",
                "2",
                "--json",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert record["held_back"] == 10 and sum(record["samples_per_class"].values()) == 40
    assert record["test_set"] == "mnist" and record["test_before"] is not None and record["test_after"] is not None
    assert record["skipped_images"] == 1 and "skipped 1" in captured.err
    assert "forget" in captured.err  # no replay data for a stranger's model
    taught = load_model(out)
    assert taught.metadata.hyperparameters["teaching"]["samples_after"] == record["samples_after"]


def test_an_unknown_class_or_an_empty_folder_is_refused_and_nothing_is_written(tmp_path, capsys, digits):
    model = str(_stranger(tmp_path / "s.h5"))
    folder = _folder(tmp_path / "mine", digits, per_class=1)
    (folder / "cat").mkdir()
    Image.fromarray(255 - digits[0][0]).save(folder / "cat" / "c.png")
    out = tmp_path / "taught.keras"
    assert main(["teach", str(folder), "--model", model, "--out", str(out)]) == 2
    assert "cat" in capsys.readouterr().err and not out.exists()
    empty = tmp_path / "empty"
    (empty / "1").mkdir(parents=True)
    assert main(["teach", str(empty), "--model", model, "--out", str(out)]) == 2
    assert "no readable images" in capsys.readouterr().err and not out.exists()


def test_the_default_name_never_replaces_an_earlier_taught_model(tmp_path, monkeypatch):
    from datetime import datetime

    from ml.cli.teach import default_out

    class OneInstant(datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2025, 3, 14, 15, 9, 26)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("ml.cli.outputs.datetime", OneInstant)  # two runs within the same second
    first = default_out(None)
    assert first == tmp_path / "digitlab-best-taught-20250314-150926.keras" and not first.exists()
    first.write_bytes(b"the first taught model")
    second = default_out(None)
    assert second == tmp_path / "digitlab-best-taught-20250314-150926-2.keras" and not second.exists()
    assert default_out("models/mine.h5") == tmp_path / "mine-taught-20250314-150926.keras"
    assert first.read_bytes() == b"the first taught model"


def test_a_missing_folder_is_said_to_be_missing_and_a_file_not_a_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["teach", "nonexist"]) == 2
    assert "error: There is no folder at nonexist." in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("a file")
    assert main(["teach", "notes.txt"]) == 2
    assert "error: notes.txt is not a folder." in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]  # nothing was written


def test_the_text_result_says_none_was_held_back_rather_than_n_a_to_n_a():
    from ml.cli.teach import _as_text

    record = {
        "samples_per_class": {"7": 2},
        "held_back": 0,
        "epochs": 1,
        "replay": "mnist",
        "seconds": 3.0,
        "samples_before": None,
        "samples_after": None,
        "test_set": "mnist",
        "test_images": 10000,
        "test_before": 0.997,
        "test_after": 0.996,
    }
    text = _as_text(record)
    assert "n/a -> n/a" not in text
    assert "held-back samples: none (a class needs 3 samples or more to hold one back)" in text
    assert "taught on 2 samples (none held back)" in text
    assert "MNIST test (10,000 images): 99.70 % -> 99.60 %" in text
