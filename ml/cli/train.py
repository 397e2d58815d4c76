"""``digitlab train``: a run with a progress bar, Ctrl+C to stop, the model saved with its card."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ml.cli.outputs import new_model_path, prepare_folder, prepare_output_path
from ml.cli.predict import load_model_or_exit
from ml.cli.progress import StopRequest, TerminalProgress, quiet_tensorflow
from ml.models.presets import PRESETS
from ml.plurals import plural
from ml.training.distribution import is_chief_task, read_tf_config
from ml.training.reports import format_duration

CACHE_WORDS = ("auto", "memory", "none")  # --cache values that are not a file


def prepare_run_files(config, out: Path) -> str | None:
    """Why the model, the checkpoint, the TensorBoard logs or the image cache cannot be written, or None."""
    problem = prepare_output_path(out)
    if problem is None and config.checkpoint_path:
        problem = prepare_output_path(Path(config.checkpoint_path), "the best-model checkpoint (--checkpoint)")
    if problem is None and config.tensorboard_dir:
        problem = prepare_folder(Path(config.tensorboard_dir), "the TensorBoard logs (--tensorboard)")
    if problem is None and config.folder_cache not in (None, *CACHE_WORDS):
        problem = prepare_folder(Path(config.folder_cache).parent, "the image cache (--cache)")
    return problem


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
    from ml.errors import ModelFileError
    from ml.models.files import save_model
    from ml.user_folders import kept_models_folder

    folder = kept_models_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return save_model(result.model, new_model_path(folder, out.stem), result.metadata())
    except (OSError, ModelFileError):
        return None


def save_trained_model(result, out: Path) -> int:
    """Save to ``out``, holding Ctrl+C meanwhile; if the save fails (a full disk), keep the model and say where."""
    from ml.errors import ModelFileError
    from ml.models.files import save_model

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


def distributed_problem() -> str | None:
    """Why ``--distributed`` cannot start (TF_CONFIG missing or wrong), or None."""
    from ml.errors import TrainingError

    try:
        read_tf_config()
    except TrainingError as error:
        return str(error)
    return None


def save_as_other_worker(result, out: Path) -> int:
    """A multi-worker job's other workers save into a temporary folder that is removed: only the chief keeps files."""
    from ml.errors import ModelFileError
    from ml.models.files import save_model

    with tempfile.TemporaryDirectory(prefix="digitlab-worker-") as scratch:
        try:
            save_model(result.model, Path(scratch) / out.name, result.metadata())
        except ModelFileError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print("This worker is not the chief: the chief saves the model, nothing was kept here.", file=sys.stderr)
    return 0


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
    """The :class:`ml.training.config.TrainConfig` that ``digitlab train``'s options describe."""
    from ml.training.config import TrainConfig

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
        mixed_precision=args.mixed_precision,
        distributed=args.distributed,
        folder_cache=None if args.cache == "none" else args.cache,
        reader_processes=args.reader_processes,
    ).resolved()


def describe_config(config) -> str:
    """One line that says what a run will do."""
    parts = [
        f"Training preset '{config.preset}' on {config.dataset}: {plural(config.epochs, 'epoch')}, "
        f"batch {config.batch_size}",
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
        parts.append(f"early stopping after {plural(config.early_stopping_patience, 'epoch')} without progress")
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
    from ml.errors import DatasetError, TrainingError
    from ml.training.config import PauseGate
    from ml.training.fit import fit

    model = None
    preset = args.preset or "best"
    if args.fine_tune:
        model = load_model_or_exit(args.fine_tune)
        if args.preset is None and model.metadata.preset in PRESETS:
            preset = model.metadata.preset
    config = train_config_from_args(args, preset)
    out = Path(args.out) if args.out else new_model_path(Path(), f"digitlab-{config.preset}")
    problem = distributed_problem() if config.distributed else None
    if problem is None and (not config.distributed or is_chief_task(read_tf_config())):
        problem = prepare_run_files(config, out)
    if problem:
        print(f"error: {problem} Nothing was trained.", file=sys.stderr)
        return 2
    stop = StopRequest()
    gate = PauseGate()
    previous_handler = signal.signal(signal.SIGINT, stop)
    previous_pause_handler = install_pause_toggle(gate)
    progress = TerminalProgress()

    def on_batch(report: dict) -> None:
        progress.on_batch({**report, "batch_size": config.batch_size})
        stop.on_batch(report)

    print(describe_config(config), file=sys.stderr)
    try:
        result = fit(
            config,
            model=model,
            on_batch=on_batch,
            on_epoch=progress.on_epoch,
            should_stop=stop.is_set,
            wait_while_paused=gate,
            on_devices=lambda devices: print(f"devices: {devices}", file=sys.stderr),
            on_batches_ended=stop.batches_ended,
        )
    except KeyboardInterrupt:
        print("\nAborted; nothing was saved.", file=sys.stderr)
        return 130
    except DatasetError as error:  # the data given will not do: exit 2, as evaluate, calibrate and teach say it
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        if previous_pause_handler is not None:
            signal.signal(signal.SIGUSR1, previous_pause_handler)
    progress.finish()
    print(f"device: {result.device}; wall time {format_duration(result.wall_seconds)}", file=sys.stderr)
    nothing_learnt = result.failed and not any(math.isfinite(loss) for loss in result.history.get("loss", []))
    if late := stop.came_too_late(result, saving=not nothing_learnt):
        print(late, file=sys.stderr)
    for note in result.notes:
        print(note, file=sys.stderr)
    if result.stop_reason:
        print(result.stop_reason, file=sys.stderr)
    if result.tensorboard_run_dir:
        print(f"TensorBoard logs: {result.tensorboard_run_dir}", file=sys.stderr)
    if result.checkpoint_epoch is not None:
        print(f"best model (epoch {result.checkpoint_epoch}) kept in {config.checkpoint_path}", file=sys.stderr)
    print(f"test accuracy: {result.test_accuracy:.4f}")
    if result.calibration is not None and result.calibration.applied:  # a refused one is among the notes
        print(f"calibration: {result.calibration.as_text()}", file=sys.stderr)
    if not result.is_chief:
        return save_as_other_worker(result, out)
    if nothing_learnt:  # a NaN loss in the first epoch: the starting weights are no model to keep
        print("Nothing was learnt before the fault above, so no model was saved.", file=sys.stderr)
        return 1
    if result.stopped_by_user and not confirm(
        f"Save the model trained so far ({stop.trained_so_far(result)}) to {out}?"
    ):
        print("Not saved.", file=sys.stderr)
        return 130
    status = save_trained_model(result, out)
    if result.failed and status == 0:  # saved, but the run did not do what was asked: a script must know
        print("The run ended early on the fault above; what it trained was saved (exit status 1).", file=sys.stderr)
        return 1
    return 130 if result.stopped_by_user and status == 0 else status
