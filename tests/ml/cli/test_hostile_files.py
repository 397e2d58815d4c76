"""digitlab predict and evaluate survive bad model and data files: one line per file as it is done, strict JSON on a
clean stdout, NaN never printed, bad data refused with the validation layer's message (exit 2, no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from ml.cli.main import main
from ml.cli.predict import format_record, predict_record, stdout_kept_for_results
from ml.models.files import save_model
from ml.models.metadata import ModelMetadata

ROOT = Path(__file__).resolve().parents[3]


def digit_png(path: Path, value: int = 0) -> Path:
    picture = np.full((60, 60), 255, np.uint8)
    picture[10:50, 27 + value : 33 + value] = 0
    Image.fromarray(picture).save(path)
    return path


def small_model(classes: int = 10) -> keras.Model:
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(classes, activation="softmax")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, outputs)


def mnist_like_npz(path: Path, **changes) -> Path:
    rng = np.random.default_rng(0)
    data = {
        "x_train": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        "y_train": np.arange(40) % 10,
        "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_test": np.arange(20) % 10,
    }
    np.savez(path, **{**data, **changes})
    return path


class NanPredictor:
    def predict_one(self, image):
        return np.full(10, np.nan, np.float32)


def test_a_nan_score_prints_null_with_a_reason_as_strict_json(tmp_path: Path) -> None:
    record = predict_record(str(digit_png(tmp_path / "one.png")), NanPredictor(), [str(i) for i in range(10)])
    line = format_record(record, as_json=True)
    parsed = json.loads(line)
    assert parsed["prediction"] is None and parsed["confidence"] is None
    assert "not a number" in parsed["reason"]
    assert "NaN" not in line.replace("(NaN or infinite)", "")


def test_each_line_is_flushed_before_the_next_file_is_read(tmp_path: Path, monkeypatch, capsys) -> None:
    import ml.cli.predict as predict_module
    import ml.preprocess.pipeline as pipeline

    files = [str(digit_png(tmp_path / f"{index}.png", index)) for index in range(3)]
    seen_before: list[int] = []
    real = pipeline.preprocess_file

    def watch(path):
        seen_before.append(len(capsys.readouterr().out.splitlines()))
        return real(path)

    monkeypatch.setattr(pipeline, "preprocess_file", watch)
    assert predict_module.run_predict(type("Args", (), {"images": files, "model": None, "json": True})()) == 0
    assert seen_before == [0, 1, 1]  # readouterr empties the buffer: one new line appeared before each later file


def test_library_chatter_on_descriptor_1_goes_to_stderr_in_json_mode(tmp_path: Path) -> None:
    script = (
        "import os, sys\n"
        "from ml.cli.predict import stdout_kept_for_results\n"
        "with stdout_kept_for_results(True) as results:\n"
        "    os.write(1, b'INFO: Created TensorFlow Lite XNNPACK delegate\\n')\n"
        "    print('python chatter')\n"
        '    print(\'{"file": "a"}\', file=results, flush=True)\n'
        "print('after')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.splitlines() == ['{"file": "a"}', "after"]
    assert "XNNPACK" in done.stderr and "python chatter" in done.stderr


def test_stdout_is_left_alone_without_json() -> None:
    with stdout_kept_for_results(False) as results:
        assert results is sys.stdout


def test_predict_json_subprocess_prints_only_json(tmp_path: Path) -> None:
    files = [str(digit_png(tmp_path / "a.png")), str(tmp_path / "missing.png")]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}  # chatter on: it must still stay off stdout
    done = subprocess.run(
        [sys.executable, "-m", "ml.cli", "predict", *files, "--json"] if (ROOT / "ml/cli/__main__.py").exists()
        else [sys.executable, "-c", "import sys; from ml.cli.main import main; sys.exit(main(sys.argv[1:]))",
              "predict", *files, "--json"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=180,
    )  # fmt: skip
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [record["file"] for record in records] == files
    assert "error" in records[1] and isinstance(records[0]["prediction"], int)
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_predict_with_a_model_that_cannot_be_fed_exits_2_naming_the_shape(tmp_path: Path, capsys) -> None:
    inputs = keras.Input((28, 28, 5))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs)))
    path = save_model(model, tmp_path / "five.keras", ModelMetadata())
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(digit_png(tmp_path / "a.png")), "--model", str(path), "--json"])
    assert stop.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "(None, 28, 28, 5)" in captured.err


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"y_test": np.full(20, 12)}, "20 labels lie outside the 10 classes"),
        ({"y_test": np.r_[np.arange(19) % 10, -1]}, "found -1 to 9"),
        ({"x_test": np.full((20, 28, 28), np.nan)}, "NaN or infinite"),
        ({"x_test": np.zeros((0, 28, 28)), "y_test": np.zeros(0)}, "the test split is empty"),
    ],
)
def test_evaluate_refuses_bad_data_instead_of_a_wrong_accuracy(tmp_path: Path, capsys, changes, expected) -> None:
    path = mnist_like_npz(tmp_path / "bad.npz", **changes)
    started = time.perf_counter()
    assert main(["evaluate", "--data", str(path)]) == 2
    captured = capsys.readouterr()
    assert "test accuracy" not in captured.out and expected in captured.err
    assert time.perf_counter() - started < 60


def test_evaluate_refuses_labels_the_model_does_not_score(tmp_path: Path, capsys) -> None:
    model_path = save_model(small_model(5), tmp_path / "five.keras", ModelMetadata(class_names=list("01234")))
    data = mnist_like_npz(tmp_path / "data.npz")
    assert main(["evaluate", "--model", str(model_path), "--data", str(data)]) == 2
    assert "has labels outside five's classes: 5, 6, 7, 8, 9 (it scores 0, 1, 2, 3, 4)" in capsys.readouterr().err


def test_train_refuses_bad_labels_before_training(tmp_path: Path, capsys) -> None:
    path = mnist_like_npz(tmp_path / "bad.npz", y_train=np.full(40, 12))
    status = main(
        ["train", "--preset", "fast", "--data", str(path), "--epochs", "1", "--out", str(tmp_path / "m.keras")]
    )
    assert status == 2  # data that will not do, as evaluate, calibrate and teach say it
    assert "labels lie outside the 10 classes" in capsys.readouterr().err
    assert not (tmp_path / "m.keras").exists()
