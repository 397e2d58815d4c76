"""``digitlab train``: Ctrl+C that lands after the last batch (while the run is tested and calibrated) is not
silently ignored; the complete model is saved and the exit status is 0. The signal is simulated in-process."""

from __future__ import annotations

import signal

import ml.training.fit
from ml.cli.main import main
from ml.models.files import load_model


def test_a_stop_after_the_last_batch_says_so_and_saves_the_complete_model(tmp_path, capsys, monkeypatch):
    calibrate = ml.training.fit.fit_run_temperature

    def ctrl_c_while_calibrating(*args, **kwargs):
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # what Ctrl+C would call now
        return calibrate(*args, **kwargs)

    monkeypatch.setattr(ml.training.fit, "fit_run_temperature", ctrl_c_while_calibrating)
    out = tmp_path / "m.keras"
    arguments = ["train", "--preset", "mlp-digits", "--dataset", "sklearn-digits", "--epochs", "1", "--out", str(out)]
    assert main(arguments) == 0
    err = capsys.readouterr().err
    assert "Stopping after this batch" not in err
    assert "the run had already finished training; saving it" in err and f"saved: {out}" in err
    assert load_model(out).metadata.hyperparameters["epochs"] == 1
