"""``digitlab export``: the figures on success, exit status 2 with one clear line on failure, nothing left behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ml.cli import export as export_command
from ml.cli.main import EXPORT_FORMATS, main
from ml.export.exporter import FORMATS
from ml.export.verification import mnist_reference
from ml.models.files import save_model
from tests.ml.export.tiny import tiny_digit_model


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    tiny = tiny_digit_model()
    return save_model(tiny.model, tmp_path_factory.mktemp("model") / "tiny.keras", tiny.metadata)


@pytest.fixture(autouse=True)
def small_reference(monkeypatch):
    """Verify on 300 images instead of 1,000 to keep the suite fast (the exporter's tests use 1,000)."""
    import ml.export.exporter as exporter

    reference = mnist_reference(test_count=300, calibration_count=100)
    monkeypatch.setattr(exporter, "mnist_reference", lambda: reference)


def test_the_parser_offers_every_format():
    assert EXPORT_FORMATS == tuple(FORMATS)


def test_export_prints_the_verification_figures(model_file, tmp_path, capsys):
    status = main(
        ["export", "--model", str(model_file), "--format", "tflite-int8", "--out", str(tmp_path / "tiny.tflite")]
    )
    output = capsys.readouterr()
    assert status == 0, output.err
    assert "verified on 300 MNIST test images: max probability difference" in output.out
    assert "int8 accuracy drop:" in output.out and "accuracy: Keras" in output.out
    assert sorted(os.listdir(tmp_path)) == ["tiny.tflite", "tiny.tflite.json"]
    assert json.loads((tmp_path / "tiny.tflite.json").read_text())["source_model"] == str(model_file)  # its file


def test_a_wrong_name_fails_before_the_model_loads(model_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(export_command, "load_model_or_exit", lambda _path: pytest.fail("loaded"))
    status = main(["export", "--model", str(model_file), "--format", "h5", "--out", str(tmp_path / "tiny.tflite")])
    assert status == 2
    assert capsys.readouterr().err.strip() == "error: An h5 export must be named .h5 or .hdf5, not 'tiny.tflite'."


def test_an_unreadable_model_is_refused_plainly(tmp_path, capsys):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--model", str(broken), "--format", "tflite", "--out", str(tmp_path / "x.tflite")])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error
    assert not (tmp_path / "x.tflite").exists()


def test_a_failed_export_exits_2_with_the_reason_and_writes_nothing(model_file, tmp_path, capsys, monkeypatch):
    import ml.export.exporter as exporter

    def broken(*_arguments, **_keywords):
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(exporter, "convert_to_tflite", broken)
    status = main(["export", "--model", str(model_file), "--format", "tflite", "--out", str(tmp_path / "t.tflite")])
    error = capsys.readouterr().err
    assert status == 2
    assert "error: Could not export tiny as tflite" in error and "converter crashed" in error
    assert "Traceback" not in error
    assert os.listdir(tmp_path) == []


def test_the_format_is_required(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--out", "x.tflite"])
    assert exit_.value.code == 2 and "--format" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_that_cannot_be_written_fails_in_one_line_before_the_model_loads(model_file, capsys, monkeypatch):
    monkeypatch.setattr(export_command, "load_model_or_exit", lambda _path: pytest.fail("loaded"))
    status = main(["export", "--model", str(model_file), "--format", "tflite", "--out", "/proc/m.tflite"])
    error = capsys.readouterr().err.strip()
    assert status == 2
    assert error.startswith("error: Cannot export to /proc/m.tflite: the folder /proc cannot be written")
    assert "\n" not in error and "Traceback" not in error
    assert not Path("/proc/m.tflite").exists()


def test_a_tflite_and_a_savedmodel_of_one_name_keep_their_own_metadata(model_file, tmp_path, capsys):
    for fmt, name in (("tflite", "m.tflite"), ("savedmodel", "m")):
        assert main(["export", "--model", str(model_file), "--format", fmt, "--out", str(tmp_path / name)]) == 0
    assert sorted(os.listdir(tmp_path)) == ["m", "m.savedmodel.json", "m.tflite", "m.tflite.json"]
    assert json.loads((tmp_path / "m.tflite.json").read_text())["format"] == "tflite"
    assert f"metadata: {tmp_path / 'm.savedmodel.json'}" in capsys.readouterr().out
