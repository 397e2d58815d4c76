"""The command line: predict --json records, blank and broken files, evaluate, train and Ctrl+C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mnist_test():
    with np.load(ROOT / "assets" / "data" / "mnist.npz") as archive:
        return archive["x_test"][:12], archive["y_test"][:12]


def write_digit_png(path: Path, digit: np.ndarray) -> Path:
    """A scan-like file: the digit as dark ink on white paper, enlarged."""
    Image.fromarray(255 - digit).resize((140, 140), Image.Resampling.BICUBIC).save(path)
    return path


def read_json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.strip().splitlines()]


def test_predict_json_gives_one_record_per_file(tmp_path, capsys, mnist_test):
    images, labels = mnist_test
    files = [str(write_digit_png(tmp_path / f"digit{i}.png", image)) for i, image in enumerate(images)]
    assert main(["predict", *files, "--json"]) == 0
    records = read_json_lines(capsys.readouterr().out)
    assert [record["file"] for record in records] == files
    for record in records:
        assert set(record) == {"file", "prediction", "confidence", "probabilities"}
        assert len(record["probabilities"]) == 10
        assert sum(record["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        assert record["confidence"] == pytest.approx(max(record["probabilities"]), abs=1e-6)
        assert record["prediction"] == int(np.argmax(record["probabilities"]))
    predicted = [record["prediction"] for record in records]
    assert sum(p == int(y) for p, y in zip(predicted, labels, strict=True)) >= 11


def test_predict_reports_blank_and_broken_files_and_still_does_the_rest(tmp_path, capsys, mnist_test):
    good = write_digit_png(tmp_path / "seven.png", mnist_test[0][0])
    blank = tmp_path / "blank.png"
    Image.new("L", (100, 100), 255).save(blank)
    broken = tmp_path / "broken.png"
    broken.write_bytes(good.read_bytes()[:60])
    missing = tmp_path / "missing.png"
    status = main(["predict", str(blank), str(broken), str(good), str(missing), "--json"])
    assert status != 0
    blank_record, broken_record, good_record, missing_record = read_json_lines(capsys.readouterr().out)
    assert blank_record["prediction"] is None and blank_record["reason"]
    assert "error" in broken_record and "broken.png" in broken_record["error"]
    assert "error" in missing_record and "missing.png" in missing_record["error"]
    assert good_record["prediction"] == int(mnist_test[1][0])


def test_predict_all_blank_files_succeeds(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (64, 64), "white").save(blank)
    assert main(["predict", str(blank)]) == 0
    assert "no prediction" in capsys.readouterr().out


def test_predict_with_a_bad_model_file_says_why(tmp_path, capsys):
    bad = tmp_path / "model.keras"
    bad.write_text("not a model")
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(bad), "--model", str(bad)])
    assert stop.value.code == 2
    assert "model.keras" in capsys.readouterr().err


def test_evaluate_prints_accuracy_per_class_and_confusion(tmp_path, capsys):
    with np.load(ROOT / "assets" / "data" / "mnist.npz") as archive:
        arrays = {key: archive[key] for key in ("x_train", "y_train")}
        arrays.update(x_test=archive["x_test"][:500], y_test=archive["y_test"][:500])
    small = tmp_path / "small.npz"
    np.savez(small, **arrays)
    assert main(["evaluate", "--data", str(small)]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy:")[1].split()[0])
    assert accuracy >= 0.98
    assert "per-class accuracy" in out and "confusion matrix" in out
    matrix_rows = [line for line in out.splitlines()[-10:]]
    assert sum(int(v) for row in matrix_rows for v in row.split()[1:]) == 500


def test_train_stops_cleanly_on_ctrl_c_and_saves_what_was_trained(tmp_path):
    out = tmp_path / "partial.keras"
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "train", "--preset", "mlp", "--dataset", "mnist", "--epochs", "50",
         "--max-train-samples", "20000", "--batch-size", "32", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    seen = ""
    while "epoch 1/50 |" not in seen:
        char = process.stderr.read(1)
        assert char, f"training ended before any progress: {seen[-2000:]}"
        seen += char
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "Stopping after this batch" in stderr
    assert "test accuracy:" in stdout
    assert out.is_file()
    from ml.modelio import load_model

    loaded = load_model(out)
    assert loaded.metadata.preset == "mlp"
    assert loaded.metadata.hyperparameters["epochs"] == 50
