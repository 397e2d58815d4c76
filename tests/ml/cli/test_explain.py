"""digitlab explain: the --json format, overlay PNGs, blank and broken files, refused requests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
LEGACY_MLP = ROOT / "tests" / "fixtures" / "tutorial_mlp_28x28_tfkeras2.h5"
KEYS = ["file", "prediction", "class_explained", "method", "input28", "saliency", "layers"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """Three MNIST test digits as scans (dark ink on white), their labels, and a blank and a broken file."""
    folder = tmp_path_factory.mktemp("digits")
    with np.load(ROOT / "assets" / "data" / "mnist.npz") as archive:
        images, labels = archive["x_test"][:3], archive["y_test"][:3]
    files = []
    for index, image in enumerate(images):
        Image.fromarray(255 - image).resize((112, 112), Image.Resampling.BICUBIC).save(folder / f"digit{index}.png")
        files.append(str(folder / f"digit{index}.png"))
    Image.new("L", (60, 60), 255).save(folder / "blank.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return files, [int(label) for label in labels], str(folder / "blank.png"), str(folder / "broken.png")


def read_json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.strip().splitlines()]


@pytest.mark.parametrize("method", ["gradcam", "guided-gradcam", "integrated-gradients"])
def test_explain_json_has_the_issues_format(tmp_path, capsys, digits, method):
    files, labels, _, _ = digits
    assert main(["explain", *files, "--json", "--method", method, "--out", str(tmp_path / "out")]) == 0
    records = read_json_lines(capsys.readouterr().out)
    assert [record["file"] for record in records] == files
    for record, label, file in zip(records, labels, files, strict=True):
        assert list(record) == KEYS
        assert record["prediction"] == record["class_explained"] == label and record["method"] == method
        input28 = np.array(record["input28"])
        saliency = np.array(record["saliency"])
        assert input28.shape == saliency.shape == (28, 28)
        assert input28.min() >= 0 and input28.max() <= 1 and input28.max() > 0.9
        assert saliency.min() >= 0 and saliency.sum() == pytest.approx(1.0, abs=1e-3)
        assert record["layers"][0] == {"name": "image", "type": "input", "output_shape": [28, 28, 1]}
        assert [layer["type"] for layer in record["layers"][-2:]] == ["logits", "softmax"]
        assert all(set(layer) == {"name", "type", "output_shape"} for layer in record["layers"])
        overlay = tmp_path / "out" / f"{Path(file).stem}-{method}.png"
        with Image.open(overlay) as picture:
            assert picture.size == (280, 302)


def test_explain_another_class_and_names_overlays_apart(tmp_path, capsys, digits):
    files, _, _, _ = digits
    same_stem = tmp_path / "again"
    same_stem.mkdir()
    copy = same_stem / Path(files[0]).name
    copy.write_bytes(Path(files[0]).read_bytes())
    assert main(["explain", files[0], str(copy), "--class", "3", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "Grad-CAM for 3" in lines[0] and lines[0].endswith("digit0-gradcam.png")
    assert lines[1].endswith("digit0-gradcam-2.png") and (tmp_path / "digit0-gradcam-2.png").is_file()


def test_explain_reports_blank_and_broken_files_and_still_does_the_rest(tmp_path, capsys, digits):
    files, labels, blank, broken = digits
    status = main(["explain", blank, broken, files[1], "--json", "--out", str(tmp_path)])
    assert status == 1
    blank_record, broken_record, good_record = read_json_lines(capsys.readouterr().out)
    assert blank_record["prediction"] is None and blank_record["reason"]
    assert "error" in broken_record and "broken.png" in broken_record["error"]
    assert good_record["prediction"] == labels[1]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["digit1-gradcam.png"]


def test_explain_refuses_a_class_the_model_lacks_and_gradcam_without_convs(tmp_path, capsys, digits):
    files, _, _, _ = digits
    with pytest.raises(SystemExit) as stopped:
        main(["explain", files[0], "--class", "10", "--out", str(tmp_path)])
    assert stopped.value.code == 2 and "classes 0 to 9" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["explain", files[0], "--model", str(LEGACY_MLP), "--out", str(tmp_path)])
    assert stopped.value.code == 2 and "--method integrated-gradients" in capsys.readouterr().err
    assert (
        main(
            [
                "explain",
                files[0],
                "--model",
                str(LEGACY_MLP),
                "--method",
                "integrated-gradients",
                "--out",
                str(tmp_path),
                "--json",
            ]
        )
        == 0
    )
    record = read_json_lines(capsys.readouterr().out)[0]
    assert [layer["type"] for layer in record["layers"]] == [
        "input",
        "flatten",
        "dense",
        "dense",
        "dense",
        "logits",
        "softmax",
    ]


def test_explain_says_when_the_output_folder_cannot_be_made(tmp_path, capsys, digits):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as stopped:
        main(["explain", digits[0][0], "--out", str(blocker / "out")])
    assert stopped.value.code == 2 and f"cannot create the folder {blocker / 'out'}" in capsys.readouterr().err


def test_explain_says_when_out_is_a_file_not_a_folder(tmp_path, capsys, digits):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as stopped:
        main(["explain", digits[0][0], "--out", str(blocker)])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"error: cannot create the folder {blocker} for the overlays: it is a file, not a folder."
    )


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="/proc is a folder nobody can write to (Linux)")
def test_explain_refuses_a_folder_it_cannot_write_before_any_image(capsys, digits):
    files, _, _, _ = digits
    with pytest.raises(SystemExit) as stopped:
        main(["explain", *files, "--out", "/proc"])
    captured = capsys.readouterr()
    assert stopped.value.code == 2 and captured.out == ""  # no image was tried, one after the other
    assert captured.err.strip() == "error: cannot write the overlays to /proc: No such file or directory."


def test_explain_makes_no_folder_for_a_request_it_refuses(tmp_path, capsys, digits, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["explain", digits[0][0], "--class", "12", "--out", "made_by_failed_run"])
    assert stopped.value.code == 2 and "classes 0 to 9" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["explain", digits[0][0], "--model", str(tmp_path / "missing.keras"), "--out", "made_by_failed_run"])
    assert stopped.value.code == 2
    assert list(tmp_path.iterdir()) == []


def test_explain_refuses_gradcam_on_a_last_conv_map_of_one_cell_and_runs_guided_gradcam(tmp_path, capsys, digits):
    """A network that shrinks its input to 1x1 before its last conv (MobileNetV2 at 32x32) gives Grad-CAM one weight
    for every pixel: the overlay said "for" everywhere."""
    import keras

    from ml.models.files import save_model
    from ml.models.metadata import ModelMetadata

    files, _, _, _ = digits
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(8, 13, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    path = save_model(model, tmp_path / "one_cell.keras", ModelMetadata())
    with pytest.raises(SystemExit) as stopped:
        main(["explain", files[0], "--model", str(path), "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert stopped.value.code == 2 and "1x1" in error and "--method guided-gradcam" in error
    assert not (tmp_path / "out").exists()
    arguments = ["explain", files[0], "--model", str(path), "--method", "guided-gradcam", "--out", str(tmp_path)]
    assert main(arguments) == 0
    assert (tmp_path / "digit0-guided-gradcam.png").is_file()
