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


def test_a_stop_after_a_nan_loss_ended_the_batches_says_the_run_had_finished_training(tmp_path, capsys, monkeypatch):
    """A NaN loss ends the batches early, with no batch known to be the last: Ctrl+C while the run was then tested
    said "Stopping after this batch…", though no batch was left to stop after."""
    calibrate = ml.training.fit.fit_run_temperature

    def ctrl_c_while_calibrating(*args, **kwargs):
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
        return calibrate(*args, **kwargs)

    monkeypatch.setattr(ml.training.fit, "fit_run_temperature", ctrl_c_while_calibrating)
    out = tmp_path / "m.keras"
    arguments = ["train", "--preset", "mlp-digits", "--dataset", "sklearn-digits", "--epochs", "3"]
    main([*arguments, "--optimizer", "sgd", "--lr", "1e12", "--out", str(out)])
    err = capsys.readouterr().err
    assert "The loss became NaN" in err
    assert "Stopping after this batch" not in err and "The run has finished training" in err
    assert "saving it" not in err and "no model was saved" in err  # nothing was learnt before the NaN


def test_a_run_whose_loss_is_nan_from_its_first_epoch_saves_nothing_and_says_nothing_was_learnt(tmp_path, capsys):
    """It saved the untrained starting weights as "what it trained" (exit 1), said the weights of "the end of epoch
    0" were kept, and printed "device: …" on the end of the unfinished progress bar."""
    out = tmp_path / "m.keras"
    arguments = ["train", "--preset", "mlp-digits", "--dataset", "sklearn-digits", "--epochs", "3"]
    assert main([*arguments, "--optimizer", "sgd", "--lr", "1e12", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "training stopped and nothing was learnt" in err and "end of epoch 0" not in err
    assert "no model was saved" in err and not out.exists()
    assert any(line.startswith("device: ") for line in err.splitlines())


def test_a_run_stopped_mid_epoch_asks_to_save_what_it_trained_with_the_fraction_of_the_cut_epoch(
    tmp_path, capsys, monkeypatch
):
    """Stopped at batch 3 of 36 of the first epoch, it asked "Save the model trained so far (1 epoch)?": Keras
    counts the cut epoch as a whole one."""
    import ml.cli.train
    from ml.cli.progress import TerminalProgress

    questions: list[str] = []
    monkeypatch.setattr(ml.cli.train, "confirm", lambda question: questions.append(question) or True)
    draw = TerminalProgress.on_batch

    def ctrl_c_at_the_third_batch(self, report):
        draw(self, report)
        if report["batch"] == 3:
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)

    monkeypatch.setattr(TerminalProgress, "on_batch", ctrl_c_at_the_third_batch)
    out = tmp_path / "m.keras"
    arguments = ["train", "--preset", "mlp-digits", "--dataset", "sklearn-digits", "--epochs", "2"]
    assert main([*arguments, "--batch-size", "32", "--out", str(out)]) == 130
    [question] = questions
    assert question == f"Save the model trained so far (0.08 epochs) to {out}?"  # 3 of 36 batches
    assert out.is_file()
