"""The command line: predict --json records, blank and broken files, evaluate, train, Ctrl+C, where models go."""

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

from ml.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


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


def interrupt_once_printed(process: subprocess.Popen, marker: str) -> tuple[str, str]:
    """Read the run's stderr until ``marker`` appears, press Ctrl+C, and return its (stdout, stderr)."""
    seen = ""
    while marker not in seen:
        char = process.stderr.read(1)
        assert char, f"the run ended before printing {marker!r}: {seen[-2000:]}"
        seen += char
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=120)


def test_predict_json_gives_one_record_per_file(tmp_path, capsys, mnist_test):
    images, labels = mnist_test
    files = [str(write_digit_png(tmp_path / f"digit{i}.png", image)) for i, image in enumerate(images)]
    assert main(["predict", *files, "--json"]) == 0
    records = read_json_lines(capsys.readouterr().out)
    assert [record["file"] for record in records] == files
    for record in records:
        assert {"file", "prediction", "confidence", "probabilities", "verdict", "doubt"} <= set(record)
        optional = {"runner_up"} | ({"reason"} if record["verdict"] != "digit" else set())  # a refusal says why
        assert set(record) <= {"file", "prediction", "confidence", "probabilities", "verdict", "doubt"} | optional
        assert len(record["probabilities"]) == 10
        assert sum(record["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        assert record["confidence"] == pytest.approx(max(record["probabilities"]), abs=1e-6)
        assert record["prediction"] == int(np.argmax(record["probabilities"]))
    predicted = [record["prediction"] for record in records]
    assert sum(p == int(y) for p, y in zip(predicted, labels, strict=True)) >= 11
    # Test digit 8 is a 5 drawn as an open hook with a loop; the not-a-digit judge may refuse it, no more.
    assert sum(record["verdict"] == "digit" for record in records) >= 11


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
        [
            sys.executable,
            "-m",
            "app",
            "train",
            "--preset",
            "mlp",
            "--dataset",
            "mnist",
            "--epochs",
            "50",
            "--max-train-samples",
            "20000",
            "--batch-size",
            "32",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    stdout, stderr = interrupt_once_printed(process, "epoch 1/50 |")
    assert process.returncode == 130, stderr[-2000:]
    assert "Stopping after this batch" in stderr
    assert "test accuracy:" in stdout
    assert out.is_file()
    from ml.models.files import load_model

    loaded = load_model(out)
    assert loaded.metadata.preset == "mlp"
    assert loaded.metadata.hyperparameters["epochs"] == 50


# --------------------------------------------------------------------------- where the trained model goes


def tiny_train_args(out: Path) -> list[str]:
    """One quick epoch of the 8x8-digits MLP (a second or two), saved to ``out``."""
    return ["train", "--preset", "mlp-digits", "--dataset", "sklearn-digits", "--epochs", "1", "--out", str(out)]


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if training starts: a refused destination must be refused before any work is done."""

    def fit(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr("ml.training.fit.fit", fit)


def test_the_output_suffix_check_needs_no_keras():
    code = "import sys, ml.cli.train, ml.models.formats; print('keras' in sys.modules or 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"  # --out is checked at once, before TensorFlow loads


def test_a_wrong_suffix_is_refused_before_training(tmp_path, capsys, no_training):
    assert main(tiny_train_args(tmp_path / "model.txt")) == 2
    err = capsys.readouterr().err
    assert "cannot save a model as 'model.txt'" in err and "Nothing was trained" in err
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_made_is_refused_before_training(tmp_path, capsys, no_training):
    (tmp_path / "notes").write_text("a file where the folder should be")
    assert main(tiny_train_args(tmp_path / "notes" / "model.keras")) == 2
    assert f"cannot create the folder {tmp_path / 'notes'}" in capsys.readouterr().err


def test_an_unwritable_folder_is_refused_before_training(tmp_path, capsys, no_training, monkeypatch):
    import errno
    import tempfile

    tried: list[str] = []

    def read_only(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's own keyword
        tried.append(str(dir))
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only)
    assert main(tiny_train_args(tmp_path / "model.keras")) == 2
    assert tried == [str(tmp_path)]  # it tried to write there, and that failed
    assert f"cannot write the model to {tmp_path}: Read-only file system" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused_before_training(tmp_path, capsys, no_training):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    try:
        assert main(tiny_train_args(folder / "model.keras")) == 2
    finally:
        folder.chmod(0o700)
    assert f"cannot write the model to {folder}" in capsys.readouterr().err


def test_missing_folders_are_made_and_the_model_saved_there(tmp_path, capsys):
    out = tmp_path / "runs" / "today" / "model.keras"
    assert main(tiny_train_args(out)) == 0
    assert out.is_file() and f"saved: {out}" in capsys.readouterr().err
    assert [path.name for path in out.parent.iterdir()] == ["model.keras"]  # the write check left nothing behind


def test_a_save_that_fails_at_the_end_keeps_the_model_in_the_user_folder(tmp_path, capsys, monkeypatch):
    import ml.errors
    import ml.models.files

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    out = tmp_path / "model.keras"
    real_save = ml.models.files.save_model

    def save_to_a_full_disk(model, path, metadata):
        if Path(path) == out:
            raise ml.errors.ModelFileError(f"Could not save model to {out}: No space left on device.")
        return real_save(model, path, metadata)

    monkeypatch.setattr(ml.models.files, "save_model", save_to_a_full_disk)
    assert main(tiny_train_args(out)) == 1
    err = capsys.readouterr().err
    kept = list((tmp_path / "data" / "DigitLab" / "Digit Lab" / "trained").glob("model-*.keras"))
    assert len(kept) == 1 and f"The trained model was kept in {kept[0]} instead" in err
    assert "No space left on device" in err and not out.exists()
    from ml.models.files import load_model

    assert load_model(kept[0]).metadata.preset == "mlp-digits"


SLOW_SAVE = """
import sys, time
import ml.models.files
real_save = ml.models.files.save_model
def slow_save(model, path, metadata):
    sys.stderr.write("SAVING\\n"); sys.stderr.flush()
    time.sleep(3)  # Ctrl+C arrives now, in the middle of the save
    return real_save(model, path, metadata)
ml.models.files.save_model = slow_save
from ml.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_during_the_final_save_finishes_the_save_quietly(tmp_path):
    out = tmp_path / "model.keras"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_SAVE, *tiny_train_args(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    stdout, stderr = interrupt_once_printed(process, "SAVING\n")
    assert process.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "Finishing the save first" in stderr and "Interrupted: the save was finished first." in stderr
    from ml.models.files import load_model

    assert load_model(out).metadata.preset == "mlp-digits"


def test_the_usage_line_names_every_command(capsys):
    from ml.cli.main import build_parser

    parser = build_parser()
    usage = parser.format_usage()
    commands = next(action for action in parser._actions if action.dest == "command").choices
    assert set(commands) >= {"train", "predict", "evaluate", "presets", "teach", "export"}
    for command in commands:
        assert command in usage


# --------------------------------------------------------------------------- train's options, checked before any work

NO_SUCH_USER = "~digitlab-no-such-user"
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc"), reason="/proc is a folder nobody can write to (Linux)")


def refused_by_the_parser(argv: list[str], capsys) -> str:
    """The one error line argparse prints (exit status 2) for ``argv``."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--epochs", "0", "must be at least 1, not 0"),
        ("--epochs", "-3", "must be at least 1, not -3"),
        ("--batch-size", "0", "must be at least 1, not 0"),
        ("--batch-size", "-1", "must be at least 1, not -1"),
        ("--lr", "-1", "must be above 0, not -1"),
        ("--lr", "0", "must be above 0, not 0"),
        ("--lr", "nan", "must be a finite number, not nan"),
        ("--lr", "inf", "must be a finite number, not inf"),
        ("--max-train-samples", "0", "must be at least 1, not 0"),
        ("--max-train-samples", "-5", "must be at least 1, not -5"),
        ("--image-size", "0", "must be from 8 to 1024, not 0"),
        ("--image-size", "3", "must be from 8 to 1024, not 3"),
        ("--image-size", "100000", "must be from 8 to 1024, not 100000"),
        ("--early-stopping", "-1", "must be at least 0, not -1"),
        ("--momentum", "-1", "must be at least 0 and below 1, not -1"),
        ("--momentum", "1", "must be at least 0 and below 1, not 1"),
        ("--seed", "-1", "must be from 0 to 4294967295, not -1"),
        ("--reader-processes", "-1", "must be from 0 to 256, not -1"),
        ("--epochs", "two", "'two' is not a whole number"),
    ],
)
def test_a_number_out_of_range_is_refused_before_training(tmp_path, capsys, no_training, option, value, reason):
    out = tmp_path / "model.keras"
    error = refused_by_the_parser([*tiny_train_args(out), option, value], capsys)
    assert error == f"digitlab train: error: argument {option}: {reason}"
    assert list(tmp_path.iterdir()) == []


def test_the_edges_of_each_range_are_taken():
    from ml.cli.main import build_parser

    args = build_parser().parse_args(
        "train --epochs 1 --batch-size 1 --lr 1e-5 --max-train-samples 1 --image-size 8 --early-stopping 0 "
        "--momentum 0 --seed 4294967295 --reader-processes 0".split()
    )
    assert (args.epochs, args.batch_size, args.lr, args.max_train_samples) == (1, 1, 1e-5, 1)
    assert (args.image_size, args.early_stopping, args.momentum, args.seed, args.reader_processes) == (
        8,
        0,
        0,
        2**32 - 1,
        0,
    )
    assert build_parser().parse_args(["train", "--image-size", "1024", "--momentum", "0.99"]).image_size == 1024


def test_teach_refuses_epochs_below_one_as_train_does(tmp_path, capsys):
    error = refused_by_the_parser(["teach", str(tmp_path), "--epochs", "0"], capsys)
    assert error == "digitlab teach: error: argument --epochs: must be at least 1, not 0"


def test_a_checkpoint_with_a_wrong_suffix_is_refused_before_training(tmp_path, capsys, no_training):
    out = tmp_path / "model.keras"
    assert main([*tiny_train_args(out), "--checkpoint", str(tmp_path / "ck.txt")]) == 2
    err = capsys.readouterr().err
    assert "cannot save a model as 'ck.txt'" in err and "--checkpoint" in err and "Nothing was trained" in err
    assert list(tmp_path.iterdir()) == []


@needs_proc
def test_a_checkpoint_folder_that_cannot_be_written_is_refused_before_training(tmp_path, capsys, no_training):
    out = tmp_path / "model.keras"
    assert main([*tiny_train_args(out), "--checkpoint", "/proc/ck.keras"]) == 2
    err = capsys.readouterr().err
    assert "cannot write the best-model checkpoint (--checkpoint) to /proc" in err and "Nothing was trained" in err
    assert list(tmp_path.iterdir()) == []


@needs_proc
def test_a_cache_file_that_cannot_be_written_is_refused_before_training(tmp_path, capsys, no_training):
    out = tmp_path / "model.keras"
    assert main([*tiny_train_args(out), "--cache", "/proc/cachefile"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == "error: cannot write the image cache (--cache) to /proc: No such file or directory. Nothing was trained."
    )
    assert list(tmp_path.iterdir()) == []


def test_a_cache_file_gets_its_folder_made_and_the_words_need_none(tmp_path, monkeypatch):
    from ml.cli.train import prepare_run_files
    from ml.training.config import TrainConfig

    monkeypatch.chdir(tmp_path)
    cached = TrainConfig(folder_cache=str(tmp_path / "caches" / "digits"))
    assert prepare_run_files(cached, tmp_path / "model.keras") is None and (tmp_path / "caches").is_dir()
    for word in ("auto", "memory", None):
        assert prepare_run_files(TrainConfig(folder_cache=word), tmp_path / "model.keras") is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["caches"]


@needs_proc
def test_a_tensorboard_folder_that_cannot_be_made_is_refused_before_training(tmp_path, capsys, no_training):
    out = tmp_path / "model.keras"
    assert main([*tiny_train_args(out), "--tensorboard", "/proc/tb"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot create the folder /proc/tb for the TensorBoard logs (--tensorboard): ")
    assert err.endswith("Nothing was trained.") and "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_tensorboard_folder_that_is_a_file_is_refused_before_training(tmp_path, capsys, no_training):
    logs = tmp_path / "afile"
    logs.write_text("not a folder")
    assert main([*tiny_train_args(tmp_path / "model.keras"), "--tensorboard", str(logs)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: cannot create the folder {logs} for the TensorBoard logs (--tensorboard): it is a file, not a folder. "
        "Nothing was trained."
    )
    assert [path.name for path in tmp_path.iterdir()] == ["afile"]


def test_an_empty_out_is_refused_not_replaced_by_the_default_name(tmp_path, capsys, no_training, monkeypatch):
    monkeypatch.chdir(tmp_path)
    error = refused_by_the_parser([*tiny_train_args(tmp_path / "model.keras"), "--out", ""], capsys)
    assert error == "digitlab train: error: argument --out: give a path, not an empty string"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--preset", "mlp-digits", "--epochs", "1", "--out", f"{NO_SUCH_USER}/m.keras"],
        ["teach", "folder", "--out", f"{NO_SUCH_USER}/m.keras"],
        ["teach", f"{NO_SUCH_USER}/samples"],
        ["calibrate", "--model", "m.keras", "--out", f"{NO_SUCH_USER}/m.keras"],
        ["explain", "seven.png", "--out", f"{NO_SUCH_USER}/overlays"],
    ],
)
def test_a_home_folder_of_an_unknown_user_is_refused_in_one_line(tmp_path, capsys, no_training, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    error = refused_by_the_parser(argv, capsys)
    path = next(value for value in argv if value.startswith(NO_SUCH_USER))
    assert error.startswith(f"digitlab {argv[0]}: error: argument ")
    assert error.endswith(f": cannot expand {path}: there is no user '{NO_SUCH_USER[1:]}'")
    assert list(tmp_path.iterdir()) == []


def test_a_home_folder_is_expanded_for_every_path_option(tmp_path, monkeypatch):
    from ml.cli.main import build_parser

    monkeypatch.setenv("HOME", str(tmp_path))
    args = build_parser().parse_args(["train", "--out", "~/m.keras", "--checkpoint", "~/ck.keras", "--cache", "~/c"])
    assert (args.out, args.checkpoint, args.cache) == tuple(
        str(tmp_path / name) for name in ("m.keras", "ck.keras", "c")
    )
    assert build_parser().parse_args(["calibrate", "--model", "~/a.keras", "--out", "~/b.keras"]).out == str(
        tmp_path / "b.keras"
    )


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_a_home_folder_is_expanded_in_image_paths_and_an_empty_one_refused(tmp_path, monkeypatch, capsys, command):
    from ml.cli.main import build_parser

    monkeypatch.setenv("HOME", str(tmp_path))
    assert build_parser().parse_args([command, "~/7.png", "b.png"]).images == [str(tmp_path / "7.png"), "b.png"]
    assert refused_by_the_parser([command, "seven.png", ""], capsys).endswith("give a path, not an empty string")


def test_train_refuses_a_data_file_that_will_not_do_with_exit_2_as_the_other_commands(tmp_path, capsys):
    data = tmp_path / "notest.npz"
    np.savez(
        data,
        x_train=np.zeros((20, 28, 28), np.uint8),
        y_train=np.arange(20) % 10,
        x_test=np.zeros((0, 28, 28), np.uint8),
        y_test=np.zeros(0, np.int64),
    )
    out = tmp_path / "never.keras"
    assert main(["train", "--preset", "fast", "--epochs", "1", "--data", str(data), "--out", str(out)]) == 2
    assert "the test split is empty" in capsys.readouterr().err and not out.exists()


def test_train_on_a_tiny_folder_as_features_saves_a_model_and_refuses_a_smaller_folder_with_exit_2(tmp_path, capsys):
    folder = tmp_path / "tiny"
    for shade, name in ((40, "dark"), (220, "light")):
        (folder / name).mkdir(parents=True)
        for number in range(2):  # 4 images: 1 to test on, 3 to train on, none left to validate on
            Image.new("L", (12, 12), shade).save(folder / name / f"{number}.png")
    out = tmp_path / "tiny.keras"
    arguments = ["train", "--preset", "mlp-digits", "--dataset", str(folder), "--image-size", "8", "--epochs", "1"]
    assert main([*arguments, "--out", str(out)]) == 0
    assert out.is_file() and f"on {folder}: 1 epoch, batch" in capsys.readouterr().err
    (folder / "light" / "1.png").unlink()
    assert main([*arguments, "--out", str(tmp_path / "never.keras")]) == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith(f"error: The image folder {folder} holds 3 images, too few to train on")
    assert last_line.endswith("it needs at least 4 images in all (2 per class).")
    assert not (tmp_path / "never.keras").exists()


def test_a_checkpoint_that_fails_mid_run_saves_what_was_trained_and_exits_1(tmp_path, capsys, monkeypatch):
    from ml.errors import ModelFileError

    def full_disk(*args, **kwargs):
        raise ModelFileError("Could not save the model: No space left on device.")

    monkeypatch.setattr("ml.training.checkpoint.save_model", full_disk)
    out, checkpoint = tmp_path / "m.keras", tmp_path / "best.keras"
    arguments = ["train", "--preset", "mlp-digits", "--dataset", "sklearn-digits", "--epochs", "3", "--out", str(out)]
    assert main([*arguments, "--checkpoint", str(checkpoint)]) == 1
    err = capsys.readouterr().err
    assert "checkpoint could not be written" in err and "exit status 1" in err
    assert out.exists() and not checkpoint.exists()  # the model trained so far is kept


def test_python_dash_m_ml_cli_runs_the_command_line() -> None:
    """``python -m ml.cli predict … --model M`` is how an engineer with only the source tree reaches the CLI; it said
    "No module named ml.cli.__main__"."""
    done = subprocess.run(
        [sys.executable, "-m", "ml.cli", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "predict" in done.stdout and "evaluate" in done.stdout and "explain" in done.stdout
