"""``digitlab evaluate`` (--json, --report, bad input) and ``digitlab calibrate``; predict once a temperature is
stored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.cli.main import main
from ml.evaluation.calibration import apply_temperature
from ml.evaluation.report import REPORT_FILES
from ml.models.files import load_model, save_model
from tests.ml.evaluation.tiny import tiny_digit_model

ROOT = Path(__file__).resolve().parents[3]
JSON_KEYS = {"n", "accuracy", "accuracy_ci95", "top2_accuracy", "per_class", "confusion", "ece", "temperature",
             "ece_calibrated", "robustness"}  # fmt: skip


@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory) -> Path:
    """MNIST with its first 300 test images only."""
    with np.load(ROOT / "assets" / "data" / "mnist.npz") as archive:
        arrays = {key: archive[key] for key in ("x_train", "y_train")}
        arrays.update(x_test=archive["x_test"][:300], y_test=archive["y_test"][:300])
    path = tmp_path_factory.mktemp("data") / "small.npz"
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    tiny = tiny_digit_model()
    return save_model(tiny.model, tmp_path_factory.mktemp("models") / "tiny.keras", tiny.metadata)


def test_evaluate_json_has_the_issue_format(small_mnist, tmp_path, capsys):
    report = tmp_path / "report"
    status = main(["evaluate", "--data", str(small_mnist), "--json", "--report", str(report),
                   "--robustness-sample", "40"])  # fmt: skip
    captured = capsys.readouterr()
    assert status == 0, captured.err
    data = json.loads(captured.out)  # stdout holds the one JSON object and nothing else
    assert set(data) == JSON_KEYS and data["n"] == 300
    assert data["accuracy_ci95"][0] < data["accuracy"] <= data["accuracy_ci95"][1]
    assert data["accuracy"] >= 0.98 and data["top2_accuracy"] >= data["accuracy"]
    assert [entry["class"] for entry in data["per_class"]] == [str(i) for i in range(10)]
    assert sum(entry["support"] for entry in data["per_class"]) == 300
    confusion = np.asarray(data["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 300
    assert np.trace(confusion) / 300 == pytest.approx(data["accuracy"])
    assert data["temperature"] is None and data["ece_calibrated"] is None and 0 <= data["ece"] < 0.05
    assert set(data["robustness"]) == {"rotation", "scale", "shift", "thickness", "noise"}
    rotation = dict((level, accuracy) for level, accuracy in data["robustness"]["rotation"])
    assert min(rotation) == -45 and max(rotation) == 45
    assert sorted(path.name for path in report.iterdir()) == sorted(REPORT_FILES)
    for name in REPORT_FILES[:-1]:
        with Image.open(report / name) as image:
            image.verify()


def test_evaluate_text_names_the_interval_and_the_calibration(tiny_file, small_mnist, capsys):
    assert main(["evaluate", "--model", str(tiny_file), "--data", str(small_mnist)]) == 0
    out = capsys.readouterr().out
    assert "95 % interval" in out and "top-2 accuracy" in out and "ECE (15 bins)" in out
    assert "no temperature stored" in out


def test_calibrate_stores_a_temperature_that_evaluate_and_predict_then_use(tiny_file, small_mnist, tmp_path, capsys):
    calibrated = tmp_path / "out" / "calibrated.keras"
    assert main(["calibrate", "--model", str(tiny_file), "--out", str(calibrated)]) == 0
    out = capsys.readouterr().out
    assert "temperature" in out and "5,000 images" in out and "mnist validation split" in out
    temperature = load_model(calibrated).metadata.temperature
    assert temperature is not None and temperature != 1.0
    assert main(["evaluate", "--model", str(calibrated), "--data", str(small_mnist), "--json",
                 "--robustness-sample", "20"]) == 0  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["temperature"] == pytest.approx(temperature) and data["ece_calibrated"] is not None

    with np.load(ROOT / "assets" / "data" / "mnist.npz") as archive:
        digit = archive["x_test"][0]
    image = tmp_path / "seven.png"
    Image.fromarray(255 - digit).resize((140, 140)).save(image)
    raw, shown = [], []
    for model, into in ((tiny_file, raw), (calibrated, shown)):
        assert main(["predict", str(image), "--model", str(model), "--json"]) == 0
        into.extend(json.loads(capsys.readouterr().out)["probabilities"])
    expected = apply_temperature(np.asarray([raw], np.float64), temperature)[0]
    np.testing.assert_allclose(shown, expected, atol=2e-4)
    assert not np.allclose(shown, raw, atol=1e-3)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({}, "no class subfolders"),
        ({"3": 0}, "holds no images"),
        ({"3": 1, "banana": 1}, "labels outside"),
    ],
    ids=["no-classes", "empty", "label-outside"],
)
def test_bad_input_gets_one_line_and_exit_2_and_no_report(tmp_path, capsys, layout, message):
    folder = tmp_path / "data"
    folder.mkdir()
    for name, count in layout.items():
        (folder / name).mkdir()
        for index in range(count):
            Image.fromarray(np.full((20, 20), 255, np.uint8)).save(folder / name / f"{index}.png")
    report = tmp_path / "report"
    assert main(["evaluate", "--dataset", str(folder), "--report", str(report)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not report.exists()


def test_calibrate_refuses_a_bad_destination_before_loading(tmp_path, capsys):
    assert main(["calibrate", "--model", str(tmp_path / "missing.keras"), "--out", str(tmp_path / "x.txt")]) == 2
    assert "ending in .keras" in capsys.readouterr().err


def test_a_negative_robustness_sample_is_refused_at_once(capsys):
    assert main(["evaluate", "--json", "--robustness-sample", "-1"]) == 2
    assert "--robustness-sample takes a number of images" in capsys.readouterr().err


def test_evaluating_a_folder_streams_it_and_prints_the_in_memory_figures(tmp_path, capsys, monkeypatch):
    from ml.evaluation import streamed

    arrays = np.load(ROOT / "assets" / "data" / "mnist.npz")
    folder = tmp_path / "digits"
    for index in range(60):
        label = int(arrays["y_test"][index])
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(arrays["x_test"][index]).save(folder / str(label) / f"{index:03d}.png")
    command = ["evaluate", "--dataset", str(folder), "--json", "--robustness-sample", "20"]
    opened = []
    original = streamed.open_folder_stream
    monkeypatch.setattr(streamed, "open_folder_stream", lambda *args: opened.append(args) or original(*args))
    assert main(command) == 0
    streamed_output = json.loads(capsys.readouterr().out)
    assert len(opened) == 1
    monkeypatch.setattr(streamed, "is_image_folder", lambda name: False)  # read into memory, as before
    assert main(command) == 0
    in_memory_output = json.loads(capsys.readouterr().out)
    assert streamed_output == in_memory_output and streamed_output["n"] == 60


def test_a_report_path_that_is_a_file_is_refused_before_evaluating(tmp_path, capsys, monkeypatch):
    from ml.cli import evaluate as evaluate_command
    from ml.evaluation import run

    monkeypatch.setattr(evaluate_command, "load_model_or_exit", lambda _path: pytest.fail("the model was loaded"))
    monkeypatch.setattr(run, "evaluate", lambda *_arguments: pytest.fail("the set was evaluated"))
    (tmp_path / "taken").write_text("mine")
    assert main(["evaluate", "--report", str(tmp_path / "taken"), "--robustness-sample", "5"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == f"error: {tmp_path / 'taken'} is a file, not a folder; give a folder for the report."
    assert (tmp_path / "taken").read_text() == "mine"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_report_folder_that_cannot_be_written_is_refused_before_evaluating(capsys, monkeypatch):
    from ml.cli import evaluate as evaluate_command

    monkeypatch.setattr(evaluate_command, "load_model_or_exit", lambda _path: pytest.fail("the model was loaded"))
    assert main(["evaluate", "--report", "/proc/digitlab-report"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: Cannot write the report to /proc/digitlab-report") and "\n" not in error


def test_a_report_into_an_existing_folder_leaves_no_hidden_folder(small_mnist, tmp_path, capsys):
    (tmp_path / "rep_exist").mkdir()
    command = ["evaluate", "--data", str(small_mnist), "--report", str(tmp_path / "rep_exist"),
               "--robustness-sample", "5"]  # fmt: skip
    assert main(command) == 0, capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["rep_exist"]
    assert sorted(path.name for path in (tmp_path / "rep_exist").iterdir()) == sorted(REPORT_FILES)


def test_a_model_of_another_dataset_is_told_how_to_judge_it_on_its_own_test_split(tmp_path, small_mnist, capsys):
    tiny = tiny_digit_model()
    tiny.metadata.dataset = "sklearn-digits"  # an 8x8 digits model read 41 % on MNIST, with no word why
    model = save_model(tiny.model, tmp_path / "digits.keras", tiny.metadata)
    assert main(["evaluate", "--model", str(model), "--data", str(small_mnist)]) == 0
    note = (
        "note: digits was trained on scikit-learn digits, not MNIST; --dataset sklearn-digits judges it on its own "
        "test split."
    )
    assert note in capsys.readouterr().err.splitlines()
    assert main(["evaluate", "--model", str(model), "--data", str(small_mnist), "--dataset", "mnist"]) == 0
    assert "note:" not in capsys.readouterr().err  # asked for by name: no note
