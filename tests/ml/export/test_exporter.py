"""Exports in every format, reloaded on their own and compared; atomic writes; refusals in plain words."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from ml.export import exporter
from ml.export.exporter import ExportError, check_destination, export_model, sidecar_path
from ml.export.verification import keras_probabilities, mnist_reference, model_inputs
from ml.models.files import load_model
from tests.ml.export.tiny import tiny_digit_model


@pytest.fixture(scope="module")
def tiny():
    return tiny_digit_model()


@pytest.fixture(scope="module")
def reference():
    return mnist_reference()


@pytest.fixture(scope="module")
def expected(tiny, reference):
    return keras_probabilities(tiny, model_inputs(tiny, reference.test_images))


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def run_tflite_file(path: Path, inputs: np.ndarray) -> tuple[np.ndarray, dict]:
    """Score with TensorFlow's own interpreter, one image at a time (independent of Digit Lab's runner)."""
    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    rows = []
    for image in inputs:
        batch = image[None]
        if source["dtype"] == np.int8:
            scale, zero = source["quantization"]
            batch = np.clip(np.round(batch / scale + zero), -128, 127).astype(np.int8)
        interpreter.set_tensor(source["index"], batch)
        interpreter.invoke()
        raw = interpreter.get_tensor(target["index"])[0]
        if target["dtype"] == np.int8:
            scale, zero = target["quantization"]
            raw = (raw.astype(np.float32) - zero) * scale
        rows.append(raw)
    return np.array(rows), source


def test_tflite_export_matches_keras_and_says_so(tiny, reference, expected, tmp_path):
    report = export_model(tiny, "tflite", tmp_path / "digits.tflite", reference=reference)
    assert listing(tmp_path) == ["digits.tflite", "digits.tflite.json"]  # no temporary left
    probabilities, source = run_tflite_file(tmp_path / "digits.tflite", model_inputs(tiny, reference.test_images[:200]))
    assert source["dtype"] == np.float32
    assert np.abs(probabilities - expected[:200]).max() < 1e-4
    check = report.verification
    assert check.images == 1000
    assert check.max_probability_difference < 1e-4
    assert check.exported_accuracy == check.keras_accuracy
    assert check.keras_accuracy == pytest.approx(np.mean(expected.argmax(1) == reference.test_labels))
    assert report.size_bytes == (tmp_path / "digits.tflite").stat().st_size
    assert any("max probability difference" in line for line in report.as_lines())


def test_int8_export_is_integer_only_and_reports_its_accuracy_drop(tiny, reference, expected, tmp_path):
    report = export_model(tiny, "tflite-int8", tmp_path / "digits-int8.tflite", reference=reference)
    probabilities, source = run_tflite_file(tmp_path / "digits-int8.tflite", model_inputs(tiny, reference.test_images))
    assert source["dtype"] == np.int8
    accuracy = float(np.mean(probabilities.argmax(1) == reference.test_labels))
    check = report.verification
    assert check.exported_accuracy == pytest.approx(accuracy)
    assert check.accuracy_drop == pytest.approx(check.keras_accuracy - accuracy)
    assert abs(check.accuracy_drop) < 0.02
    assert 0 < check.max_probability_difference < 0.2  # quantised: close, not equal
    assert any("int8 accuracy drop" in line for line in report.as_lines())
    sidecar = json.loads((tmp_path / "digits-int8.tflite.json").read_text())
    quantization = sidecar["tensors"]["input"]["quantization"]
    assert sidecar["tensors"]["input"]["dtype"] == "int8" and quantization["scale"] > 0
    assert sidecar["verification"]["accuracy_drop"] == pytest.approx(check.accuracy_drop)
    float_report = export_model(tiny, "tflite", tmp_path / "digits.tflite", reference=reference)
    assert report.size_bytes < float_report.size_bytes / 2  # int8 weights: about a quarter of float32


def test_savedmodel_export_reloads_with_tensorflow_alone(tiny, reference, expected, tmp_path):
    report = export_model(tiny, "savedmodel", tmp_path / "digits", reference=reference)
    assert listing(tmp_path) == ["digits", "digits.savedmodel.json"]
    served = tf.saved_model.load(str(tmp_path / "digits"))
    probabilities = served.serve(tf.constant(model_inputs(tiny, reference.test_images[:100]))).numpy()
    assert np.abs(probabilities - expected[:100]).max() < 1e-5
    assert report.verification.max_probability_difference < 1e-5
    card = json.loads((tmp_path / "digits.savedmodel.json").read_text())
    assert card["class_names"] == [str(digit) for digit in range(10)]
    assert card["input_convention"]["polarity"] == "white_on_black" and card["input_convention"]["scale"] == "0-1"
    assert card["model_card"]["preset"] == "tiny"


def test_savedmodel_export_replaces_an_older_savedmodel_but_not_other_folders(tiny, reference, tmp_path):
    export_model(tiny, "savedmodel", tmp_path / "digits", reference=reference)
    export_model(tiny, "savedmodel", tmp_path / "digits", reference=reference)
    assert (tmp_path / "digits" / "saved_model.pb").is_file()
    assert listing(tmp_path) == ["digits", "digits.savedmodel.json"]
    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"jpeg")
    with pytest.raises(ExportError, match="holds other files"):
        export_model(tiny, "savedmodel", other, reference=reference)
    assert listing(other) == ["holiday.jpg"]


def test_h5_export_keeps_the_card_inside_and_reloads_safely(tiny, reference, expected, tmp_path):
    report = export_model(tiny, "h5", tmp_path / "digits.h5", reference=reference)
    assert report.sidecar is None and listing(tmp_path) == ["digits.h5"]
    reloaded = load_model(tmp_path / "digits.h5")
    assert reloaded.has_metadata and reloaded.metadata.preset == "tiny"
    probabilities = keras.ops.convert_to_numpy(reloaded.model(model_inputs(tiny, reference.test_images[:100])))
    assert np.abs(probabilities - expected[:100]).max() < 1e-6
    assert report.verification.max_probability_difference < 1e-6


def test_an_export_that_fails_verification_leaves_nothing_and_keeps_the_old_file(
    tiny, reference, tmp_path, monkeypatch
):
    target = tmp_path / "digits.tflite"
    target.write_bytes(b"the previous export")
    real_compare = exporter.compare
    monkeypatch.setattr(
        exporter,
        "compare",
        lambda reference_, exported, labels: dataclasses.replace(
            real_compare(reference_, exported, labels), max_probability_difference=0.5
        ),
    )
    with pytest.raises(ExportError, match="differ by up to 0.5"):
        export_model(tiny, "tflite", target, reference=reference)
    assert listing(tmp_path) == ["digits.tflite"]
    assert target.read_bytes() == b"the previous export"


def test_an_interrupted_export_leaves_no_partial_file(tiny, reference, tmp_path, monkeypatch):
    def interrupted(*_arguments, **_keywords):
        (tmp_path / next(name for name in listing(tmp_path) if name.startswith("."))).joinpath("x").write_bytes(b"x")
        raise KeyboardInterrupt

    monkeypatch.setattr(exporter, "convert_to_tflite", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_model(tiny, "tflite", tmp_path / "digits.tflite", reference=reference)
    assert listing(tmp_path) == []


def test_a_converter_failure_becomes_one_plain_line(tiny, reference, tmp_path, monkeypatch):
    def broken(*_arguments, **_keywords):
        raise RuntimeError("MLIR pass failed\n" + "x" * 2000)

    monkeypatch.setattr(exporter, "convert_to_tflite", broken)
    with pytest.raises(ExportError) as caught:
        export_model(tiny, "tflite", tmp_path / "digits.tflite", reference=reference)
    message = str(caught.value)
    assert message.startswith("Could not export tiny as tflite") and "MLIR pass failed" in message
    assert len(message) < 500 and "\n" not in message
    assert listing(tmp_path) == []


def test_an_int8_export_losing_too_much_accuracy_is_refused(tiny, reference, tmp_path):
    with pytest.raises(ExportError, match="int8 export loses .* Export as tflite"):
        export_model(tiny, "tflite-int8", tmp_path / "q.tflite", reference=reference, max_int8_drop=-1.0)
    assert listing(tmp_path) == []


def test_models_of_other_classes_are_compared_without_mnist_labels(tiny, reference, tmp_path):
    letters = dataclasses.replace(tiny, metadata=dataclasses.replace(tiny.metadata, class_names=list("abcdefghij")))
    report = export_model(letters, "tflite", tmp_path / "letters.tflite", reference=reference)
    assert report.verification.keras_accuracy is None and report.verification.agreement == 1.0
    assert not any(line.startswith("accuracy") for line in report.as_lines())
    assert json.loads((tmp_path / "letters.tflite.json").read_text())["class_names"] == list("abcdefghij")


@pytest.mark.parametrize(
    ("fmt", "name", "message"),
    [
        ("tflite", "digits.h5", "must be named .tflite"),
        ("h5", "digits.keras", "must be named .h5 or .hdf5"),
        ("onnx", "digits.onnx", "Unknown export format"),
    ],
)
def test_destinations_are_checked_first(tmp_path, fmt, name, message):
    with pytest.raises(ExportError, match=message):
        check_destination(fmt, tmp_path / name)


@pytest.mark.parametrize(
    ("fmt", "name", "message"),
    [
        ("h5", "digits.tflite", "An h5 export must be named .h5 or .hdf5, not 'digits.tflite'."),
        ("tflite", "digits.h5", "A TFLite export must be named .tflite, not 'digits.h5'."),
        ("tflite-int8", "digits.h5", "An int8 TFLite export must be named .tflite, not 'digits.h5'."),
    ],
)
def test_a_wrong_suffix_names_the_format_with_the_right_article(tmp_path, fmt, name, message):
    with pytest.raises(ExportError) as refused:
        check_destination(fmt, tmp_path / name)
    assert str(refused.value) == message


def test_missing_folders_and_folders_in_the_way_are_refused(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        check_destination("tflite", tmp_path / "absent" / "digits.tflite")
    (tmp_path / "digits.tflite").mkdir()
    with pytest.raises(ExportError, match="folder of that name is in the way"):
        check_destination("tflite", tmp_path / "digits.tflite")
    (tmp_path / "model").write_text("a file")
    with pytest.raises(ExportError, match="file of that name is in the way"):
        check_destination("savedmodel", tmp_path / "model")


def test_sidecar_names():
    assert sidecar_path(Path("/a/digits.tflite"), "tflite") == Path("/a/digits.tflite.json")
    assert sidecar_path(Path("/a/digits.TFLITE"), "tflite-int8") == Path("/a/digits.TFLITE.json")
    assert sidecar_path(Path("/a/digits"), "savedmodel") == Path("/a/digits.savedmodel.json")
    assert sidecar_path(Path("/a/digits.v2"), "savedmodel") == Path("/a/digits.v2.savedmodel.json")
    assert sidecar_path(Path("/a/digits.h5"), "h5") is None


def test_exports_sharing_a_stem_keep_their_own_metadata_and_a_users_json_is_kept(tiny, reference, tmp_path):
    (tmp_path / "digits.json").write_text('{"mine": true}')
    export_model(tiny, "tflite", tmp_path / "digits.tflite", reference=reference)
    export_model(tiny, "savedmodel", tmp_path / "digits", reference=reference)
    exports = ["digits", "digits.savedmodel.json", "digits.tflite", "digits.tflite.json"]
    assert listing(tmp_path) == sorted([*exports, "digits.json"])
    assert json.loads((tmp_path / "digits.json").read_text()) == {"mine": True}
    tflite_card = json.loads((tmp_path / "digits.tflite.json").read_text())
    assert tflite_card["format"] == "tflite" and tflite_card["file"] == "digits.tflite"
    assert tflite_card["class_names"] == [str(digit) for digit in range(10)]
    saved_card = json.loads((tmp_path / "digits.savedmodel.json").read_text())
    assert saved_card["format"] == "savedmodel" and saved_card["file"] == "digits"


def test_a_folder_that_cannot_be_written_is_refused_plainly_and_nothing_is_left(tiny, reference, tmp_path, monkeypatch):
    check_destination("tflite", tmp_path / "digits.tflite")
    assert listing(tmp_path) == []  # the check's test folder is removed at once

    def full_disk(*_arguments, **_keywords):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkdtemp", full_disk)
    with pytest.raises(ExportError) as caught:
        export_model(tiny, "tflite", tmp_path / "digits.tflite", reference=reference)
    message = str(caught.value)
    assert message.startswith(f"Cannot export to {tmp_path / 'digits.tflite'}: the folder {tmp_path} cannot be written")
    assert "No space left on device" in message and "\n" not in message
    assert listing(tmp_path) == []


def test_a_disk_that_fills_after_the_check_is_refused_plainly(tiny, reference, tmp_path, monkeypatch):
    real_mkdtemp, calls = tempfile.mkdtemp, []

    def fills_after_the_check(*arguments, **keywords):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real_mkdtemp(*arguments, **keywords)

    monkeypatch.setattr(tempfile, "mkdtemp", fills_after_the_check)
    with pytest.raises(ExportError, match="cannot be written .No space left on device.; nothing was written"):
        export_model(tiny, "tflite", tmp_path / "digits.tflite", reference=reference)
    assert len(calls) == 2 and listing(tmp_path) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_proc_is_refused_before_anything_is_done():
    with pytest.raises(ExportError, match="/proc cannot be written"):
        check_destination("tflite", "/proc/digits.tflite")


def test_a_model_that_outputs_nan_is_refused_in_plain_words(tiny, reference, tmp_path):
    broken = keras.models.clone_model(tiny.model)
    broken.set_weights([np.full_like(weights, np.nan) for weights in tiny.model.get_weights()])
    with pytest.raises(ExportError) as caught:
        export_model(dataclasses.replace(tiny, model=broken), "tflite", tmp_path / "nan.tflite", reference=reference)
    message = str(caught.value)
    assert "outputs NaN (not-a-number) scores" in message and "differ by up to nan" not in message
    assert listing(tmp_path) == []


def test_an_export_that_outputs_nan_where_the_model_does_not_says_so(tiny, reference, tmp_path, monkeypatch):
    real_compare = exporter.compare
    monkeypatch.setattr(
        exporter,
        "compare",
        lambda reference_, exported, labels: real_compare(reference_, np.full_like(exported, np.nan), labels),
    )
    with pytest.raises(ExportError) as caught:
        export_model(tiny, "tflite", tmp_path / "digits.tflite", reference=reference)
    message = str(caught.value)
    assert (
        "export does not match the model: it outputs NaN (not-a-number) scores where" in message
        and "up to nan" not in message
    )
    assert listing(tmp_path) == []


def test_a_calibrated_models_export_says_its_probabilities_are_uncalibrated(tiny, reference, tmp_path):
    calibrated = dataclasses.replace(tiny, metadata=dataclasses.replace(tiny.metadata, temperature=1.5))
    report = export_model(calibrated, "tflite", tmp_path / "digits.tflite", reference=reference)
    card = json.loads((tmp_path / "digits.tflite.json").read_text())
    assert card["calibration"]["temperature"] == 1.5 and "softmax(log p / T)" in card["calibration"]["apply"]
    assert any("calibrated with T = 1.500" in line for line in report.as_lines())
    assert report.as_dict()["temperature"] == 1.5
    plain = export_model(tiny, "tflite", tmp_path / "plain.tflite", reference=reference)
    assert json.loads((tmp_path / "plain.tflite.json").read_text())["calibration"] is None
    assert not any(line.startswith("calibration:") for line in plain.as_lines())
