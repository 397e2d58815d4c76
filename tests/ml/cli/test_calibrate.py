"""``digitlab calibrate`` on a validation split too small to fit a temperature: the model is saved uncalibrated
and one line says why."""

from __future__ import annotations

from ml.cli.main import main
from ml.models.files import load_model, save_model
from tests.ml.evaluation.tiny import tiny_digit_model


def test_a_tiny_validation_split_leaves_the_model_uncalibrated(tmp_path, capsys):
    tiny = tiny_digit_model()
    tiny.metadata.hyperparameters = {"validation_size": 20, "seed": 0}
    tiny.metadata.temperature = 20.0  # a bound temperature an earlier fit stored
    tiny.metadata.calibration = {"split": "validation", "images": 20}
    model = save_model(tiny.model, tmp_path / "tiny.keras", tiny.metadata)
    out = tmp_path / "calibrated.keras"
    assert main(["calibrate", "--model", str(model), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "not calibrated: only 20 validation images (at least 100 needed)"
    assert "removing the stored temperature 20.000" in captured.err
    saved = load_model(out).metadata
    assert saved.temperature is None and saved.calibration == {} and saved.calibration_note() is None
