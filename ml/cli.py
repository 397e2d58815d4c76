"""``digitlab train | predict | evaluate``: the same jobs as the window, without one."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from ml.presets import PRESETS


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ start-up chatter off the terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def format_duration(seconds: float) -> str:
    """``75`` → ``1:15``; ``3725`` → ``1:02:05``."""
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TerminalProgress:
    """A one-line progress bar per batch with ETA and samples/s, and a line per epoch."""

    def __init__(self, stream: TextIO | None = None, width: int = 28) -> None:
        self.stream = stream if stream is not None else sys.stderr  # looked up now, not at import
        self.width = width
        self.last_draw = 0.0

    def on_batch(self, report: dict) -> None:
        """Redraw the bar (at most 20 times a second)."""
        now = time.perf_counter()
        if report["batch"] < report["steps"] and now - self.last_draw < 0.05:
            return
        self.last_draw = now
        done = report["batch"] / max(report["steps"], 1)
        filled = int(done * self.width)
        speed = report["samples_per_second"]
        remaining_samples = (report["steps"] - report["batch"]) * report.get("batch_size", 0)
        remaining = remaining_samples / speed if speed > 0 else 0.0
        bar = "█" * filled + "·" * (self.width - filled)
        self.stream.write(
            f"\repoch {report['epoch']}/{report['epochs']} |{bar}| {report['batch']}/{report['steps']} "
            f"loss {report['loss']:.4f} acc {report['accuracy']:.4f} "
            f"{speed:,.0f} samples/s ETA {format_duration(remaining)}  "
        )
        self.stream.flush()

    def on_epoch(self, report: dict) -> None:
        """Finish the bar line with the epoch's summary."""
        self.stream.write(
            f"\repoch {report['epoch']}/{report['epochs']}: loss {report['loss']:.4f} "
            f"acc {report['accuracy']:.4f} val_loss {report.get('val_loss', float('nan')):.4f} "
            f"val_acc {report.get('val_accuracy', float('nan')):.4f} lr {report['learning_rate']:.2e} "
            f"[{format_duration(report['elapsed'])}]" + " " * 30 + "\n"
        )
        self.stream.flush()


def default_output_path(preset: str) -> Path:
    """``digitlab-<preset>-<timestamp>.keras`` in the current folder."""
    return Path(f"digitlab-{preset}-{datetime.now():%Y%m%d-%H%M%S}.keras")


MODEL_FILE_SUFFIXES = (".keras", ".h5", ".hdf5")  # what ml.modelio.save_model writes (checked without Keras)


def prepare_output_path(out: Path) -> str | None:
    """Why ``out`` cannot take the trained model, or None once its folder exists and takes files (before training).

    Checked before training, so that a wrong name or an unwritable folder never throws a run's work away at the
    end: a missing folder is created, and writing is proved by creating and deleting a file there.
    """
    if out.suffix.lower() not in MODEL_FILE_SUFFIXES:
        return f"cannot save a model as '{out.name}': give a file name ending in .keras (or .h5)."
    if out.is_dir():
        return f"{out} is a folder; give a file name, such as {out / 'model.keras'}."
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"cannot create the folder {folder} for the model: {error.strerror or error}."
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".digitlab-write-check-"):
            pass
    except OSError as error:
        return f"cannot write the model to {folder}: {error.strerror or error}."
    return None


@contextlib.contextmanager
def interrupts_held() -> Iterator[list[int]]:
    """Hold Ctrl+C until the block ends, so a save finishes (it is atomic either way); yields the signals held."""
    held: list[int] = []

    def hold(signum, frame) -> None:
        if not held:
            sys.stderr.write("\nFinishing the save first…\n")
        held.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)


def keep_in_user_folder(result, out: Path) -> Path | None:
    """Save a model that could not go to ``out`` in the per-user kept-models folder; None if that fails too."""
    from ml.modelio import ModelFileError, save_model
    from ml.user_folders import kept_models_folder

    folder = kept_models_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return save_model(result.model, folder / f"{out.stem}-{datetime.now():%Y%m%d-%H%M%S}.keras", result.metadata())
    except (OSError, ModelFileError):
        return None


def save_trained_model(result, out: Path) -> int:
    """Save to ``out``, holding Ctrl+C meanwhile; if the save fails (a full disk), keep the model and say where."""
    from ml.modelio import ModelFileError, save_model

    status = 0
    with interrupts_held() as held:
        try:
            save_model(result.model, out, result.metadata())
            print(f"saved: {out}", file=sys.stderr)
        except ModelFileError as error:
            status = 1
            print(f"error: {error}", file=sys.stderr)
            kept = keep_in_user_folder(result, out)
            if kept is not None:
                print(f"The trained model was kept in {kept} instead; move it where you want it.", file=sys.stderr)
            else:
                print("The trained model could not be kept anywhere else either.", file=sys.stderr)
    if held and status == 0:
        print("Interrupted: the save was finished first.", file=sys.stderr)
        return 130
    return status


def confirm(question: str) -> bool:
    """Ask a yes/no question when a person is at the terminal; assume yes otherwise."""
    if not sys.stdin or not sys.stdin.isatty():
        return True
    try:
        answer = input(f"{question} [Y/n] ").strip().lower()
    except (EOFError, KeyboardInterrupt):
        return False
    return answer in ("", "y", "yes")


def train_config_from_args(args: argparse.Namespace, preset: str):
    """The :class:`ml.train.TrainConfig` that ``digitlab train``'s options describe."""
    from ml.train import TrainConfig

    return TrainConfig(
        preset=preset,
        dataset=args.dataset,
        data_file=args.data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        optimizer=args.optimizer,
        momentum=args.momentum,
        nesterov=args.nesterov,
        schedule=args.schedule,
        augment=args.augment,
        seed=args.seed,
        early_stopping_patience=args.early_stopping,
        checkpoint_path=args.checkpoint,
        tensorboard_dir=args.tensorboard,
        max_train_samples=args.max_train_samples,
        image_size=args.image_size,
        color_mode=args.color_mode,
        freeze_backbone=args.freeze_backbone,
        backbone_weights=args.backbone_weights,
        fine_tune_from=args.fine_tune,
    ).resolved()


def describe_config(config) -> str:
    """One line that says what a run will do."""
    parts = [
        f"Training preset '{config.preset}' on {config.dataset}: {config.epochs} epochs, batch {config.batch_size}",
        f"{config.optimizer} lr {config.learning_rate:g}"
        + (f" momentum {config.momentum:g}" if config.momentum else "")
        + (" nesterov" if config.nesterov else "")
        + f" ({config.schedule})",
        f"augmentation {'on' if config.augment else 'off'}",
        f"seed {config.seed}",
    ]
    if config.fine_tune_from:
        parts.insert(1, f"fine-tuning {config.fine_tune_from}")
    if config.early_stopping_patience:
        parts.append(f"early stopping after {config.early_stopping_patience} epoch(s) without progress")
    if config.checkpoint_path:
        parts.append(f"best model kept in {config.checkpoint_path}")
    return ", ".join(parts)


def install_pause_toggle(gate) -> object | None:
    """SIGUSR1 pauses or resumes the run (``kill -USR1 <pid>``); returns the previous handler (POSIX only)."""
    if not hasattr(signal, "SIGUSR1"):
        return None

    def toggle(signum, frame) -> None:
        if gate.paused:
            gate.resume()
            sys.stderr.write("\nResumed.\n")
        else:
            gate.pause()
            sys.stderr.write(f"\nPaused after this batch; send SIGUSR1 again (kill -USR1 {os.getpid()}) to resume.\n")

    return signal.signal(signal.SIGUSR1, toggle)


def run_train(args: argparse.Namespace) -> int:
    """Train a preset or fine-tune a model with a progress bar; Ctrl+C stops cleanly, SIGUSR1 pauses/resumes."""
    quiet_tensorflow()
    from ml.data import DatasetError
    from ml.train import PauseGate, TrainingError, fit

    model = None
    preset = args.preset or "best"
    if args.fine_tune:
        model = load_model_or_exit(args.fine_tune)
        if args.preset is None and model.metadata.preset in PRESETS:
            preset = model.metadata.preset
    config = train_config_from_args(args, preset)
    out = Path(args.out).expanduser() if args.out else default_output_path(config.preset)
    problem = prepare_output_path(out)
    if problem:
        print(f"error: {problem} Nothing was trained.", file=sys.stderr)
        return 2
    stop_requested = threading.Event()
    gate = PauseGate()

    def request_stop(signum, frame) -> None:
        if stop_requested.is_set():
            raise KeyboardInterrupt
        stop_requested.set()
        sys.stderr.write("\nStopping after this batch… (press Ctrl+C again to abort without saving)\n")

    previous_handler = signal.signal(signal.SIGINT, request_stop)
    previous_pause_handler = install_pause_toggle(gate)
    progress = TerminalProgress()

    def on_batch(report: dict) -> None:
        progress.on_batch({**report, "batch_size": config.batch_size})

    print(describe_config(config), file=sys.stderr)
    try:
        result = fit(
            config,
            model=model,
            on_batch=on_batch,
            on_epoch=progress.on_epoch,
            should_stop=stop_requested.is_set,
            wait_while_paused=gate,
        )
    except KeyboardInterrupt:
        print("\nAborted; nothing was saved.", file=sys.stderr)
        return 130
    except (TrainingError, DatasetError) as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        if previous_pause_handler is not None:
            signal.signal(signal.SIGUSR1, previous_pause_handler)
    print(f"device: {result.device}; wall time {format_duration(result.wall_seconds)}", file=sys.stderr)
    if result.stop_reason:
        print(result.stop_reason, file=sys.stderr)
    if result.tensorboard_run_dir:
        print(f"TensorBoard logs: {result.tensorboard_run_dir}", file=sys.stderr)
    if result.checkpoint_epoch is not None:
        print(f"best model (epoch {result.checkpoint_epoch}) kept in {config.checkpoint_path}", file=sys.stderr)
    print(f"test accuracy: {result.test_accuracy:.4f}")
    if result.stopped_by_user and not confirm(
        f"Save the model trained so far ({result.epochs_completed} epochs) to {out}?"
    ):
        print("Not saved.", file=sys.stderr)
        return 130
    status = save_trained_model(result, out)
    return 130 if result.stopped_by_user and status == 0 else status


def presets_table() -> str:
    """The presets as a text table: name, parameters, default dataset, tutorial figure, description."""
    from ml.presets import format_parameter_count

    headers = ("preset", "parameters", "input", "dataset", "tutorial figure", "model")
    rows = [
        (
            preset.name,
            format_parameter_count(preset.parameter_count()),
            "x".join(str(size) for size in preset.default_input_shape),
            preset.dataset,
            preset.tutorial_result or "—",
            preset.title,
        )
        for preset in PRESETS.values()
    ]
    widths = [max(len(str(row[column])) for row in (headers, *rows)) for column in range(len(headers))]
    lines = [
        "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *rows)
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def run_presets(args: argparse.Namespace) -> int:
    """Print the preset table (parameter counts for each preset's default input, 10 classes)."""
    quiet_tensorflow()
    print(presets_table())
    return 0


def load_model_or_exit(path: str | None):
    """The model at ``path`` (the bundled one when None), or a clear message and exit status 2."""
    from ml.assets import bundled_model_path
    from ml.modelio import ModelFileError, load_model

    try:
        return load_model(path or bundled_model_path())
    except ModelFileError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def run_predict(args: argparse.Namespace) -> int:
    """Predict the digit in each image; ``--json`` prints one object per line."""
    quiet_tensorflow()
    import numpy as np

    from ml.predictor import Predictor
    from ml.preprocess import ImageReadError, preprocess_file

    loaded = load_model_or_exit(args.model)
    predictor = Predictor(loaded)
    class_names = loaded.metadata.class_names
    records: list[dict] = []
    images, image_records = [], []
    for file in args.images:
        record: dict = {"file": file}
        records.append(record)
        try:
            prepared = preprocess_file(file)
        except ImageReadError as error:
            record["error"] = str(error)
            continue
        if prepared.blank:
            record.update(prediction=None, reason=prepared.reason or "blank image: no ink found")
            continue
        images.append(prepared.image)
        image_records.append(record)
    if images:
        probabilities = predictor.predict_batch(np.stack(images))
        for record, row in zip(image_records, probabilities, strict=True):
            winner = int(np.argmax(row))
            record.update(
                prediction=winner if class_names == [str(i) for i in range(len(row))] else class_names[winner],
                confidence=round(float(row[winner]), 6),
                probabilities=[round(float(p), 6) for p in row],
            )
    for record in records:
        if args.json:
            print(json.dumps(record))
        elif "error" in record:
            print(f"{record['file']}: error: {record['error']}")
        elif record["prediction"] is None:
            print(f"{record['file']}: no prediction ({record['reason']})")
        else:
            print(f"{record['file']}: {record['prediction']} ({record['confidence']:.1%})")
    return 1 if any("error" in record for record in records) else 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Test accuracy, per-class accuracy and the confusion matrix of a model."""
    quiet_tensorflow()
    from ml.data import DatasetError, load_dataset
    from ml.evaluate import evaluate_probabilities
    from ml.predictor import Predictor

    loaded = load_model_or_exit(args.model)
    try:
        dataset = load_dataset(args.dataset, data_file=args.data)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    predictor = Predictor(loaded)
    images = dataset.x_test[..., 0] if dataset.x_test.ndim == 4 else dataset.x_test
    probabilities = predictor.predict_batch(images)
    report = evaluate_probabilities(dataset.y_test, probabilities, loaded.metadata.class_names)
    print(f"model: {loaded.display_name} ({args.model or 'bundled'}), dataset: {dataset.name}")
    print(report.as_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``digitlab`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="digitlab", description="Digit Lab: train, predict and evaluate handwritten-digit classifiers."
    )
    commands = parser.add_subparsers(dest="command", metavar="{train,predict,evaluate,presets}")
    train = commands.add_parser("train", help="train a model preset, or fine-tune a saved model")
    train.add_argument("--preset", choices=sorted(PRESETS), help="model preset (default: best)")
    train.add_argument(
        "--dataset",
        metavar="{mnist,fashion-mnist,sklearn-digits,FOLDER}",
        help="dataset name, or a folder with one subfolder of images per class (default: the preset's)",
    )
    train.add_argument("--image-size", type=int, metavar="PIXELS", help="square image size (folders: default 32)")
    train.add_argument("--color-mode", choices=["grayscale", "rgb"], default="grayscale")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--optimizer", choices=["adam", "sgd", "rmsprop"])
    train.add_argument("--momentum", type=float, help="momentum for sgd and rmsprop")
    train.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=None, help="Nesterov momentum")
    train.add_argument(
        "--schedule", choices=["constant", "cosine", "plateau"], help="plateau: lr ÷10 when val accuracy stalls"
    )
    train.add_argument("--early-stopping", type=int, metavar="N", help="stop after N epochs without val_loss progress")
    train.add_argument("--checkpoint", metavar="FILE", help="keep the best epoch's model in FILE (.keras or .h5)")
    train.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard logs to a timestamped folder in DIR")
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    train.add_argument(
        "--freeze-backbone",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="transfer presets: keep the pretrained backbone fixed (default: frozen when pretrained)",
    )
    train.add_argument(
        "--backbone-weights",
        metavar="FILE|imagenet|none",
        help="transfer presets: ImageNet download (default), a local 'notop' .h5 file, or none (from scratch)",
    )
    train.add_argument("--fine-tune", metavar="MODEL", help="continue training a saved .keras or .h5 model")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--data",
        help="MNIST / Fashion-MNIST .npz (keras layout) or a folder with the four IDX .gz files",
    )
    train.add_argument("--max-train-samples", type=int, help="train on the first N images only (quick runs)")
    train.add_argument("--out", help="where to save the model (.keras or .h5; checked, and its folder made, first)")
    train.set_defaults(handler=run_train)
    presets = commands.add_parser("presets", help="list the model presets with parameter counts")
    presets.set_defaults(handler=run_presets)
    predict = commands.add_parser("predict", help="predict the digit in image files")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--model", help="a .keras or .h5 model (default: the bundled model)")
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.set_defaults(handler=run_predict)
    evaluate = commands.add_parser("evaluate", help="evaluate a model on a test set")
    evaluate.add_argument("--model", help="a .keras or .h5 model (default: the bundled model)")
    evaluate.add_argument("--dataset", default="mnist")
    evaluate.add_argument("--data", help="MNIST .npz (keras layout) or a folder with the four IDX .gz files")
    evaluate.set_defaults(handler=run_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    return args.handler(args)
