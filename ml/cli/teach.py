"""``digitlab teach FOLDER``: fine-tune a model on a folder of the user's digits (class subfolders), with replay."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml.cli.outputs import new_model_path, prepare_output_path
from ml.cli.predict import load_model_or_exit, stdout_kept_for_results
from ml.cli.progress import quiet_tensorflow
from ml.cli.train import interrupts_held
from ml.plurals import plural


def default_out(model_path: str | None) -> Path:
    """``<model stem>-taught-<date>-<time>.keras`` in the current folder, a new name that replaces no earlier file."""
    stem = Path(model_path).stem if model_path else "digitlab-best"
    return new_model_path(Path.cwd(), f"{stem}-taught")


def run_teach(args: argparse.Namespace) -> int:
    """Read FOLDER, teach the model, print accuracy before/after (held-back fifth, test set), save atomically."""
    quiet_tensorflow()
    from ml.errors import DigitLabError
    from ml.models.files import save_model
    from ml.teach.samples import read_class_folder
    from ml.teach.teaching import TeachSettings, teach

    out = Path(args.out) if args.out else default_out(args.model)
    problem = prepare_output_path(out)
    if problem:
        print(f"error: {problem} Nothing was taught.", file=sys.stderr)
        return 2
    try:
        digits, names, report = read_class_folder(Path(args.folder))
    except DigitLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    loaded = load_model_or_exit(args.model)
    classes = list(loaded.metadata.class_names)
    unknown = sorted(set(names) - set(classes))
    if unknown:
        print(
            f"error: the folder has class subfolders the model does not know: {', '.join(unknown)}. "
            f"The model's classes are {', '.join(classes)}. Nothing was taught.",
            file=sys.stderr,
        )
        return 2
    if report.skipped:
        print(
            f"skipped {plural(report.skipped, 'unreadable or blank image')}: {', '.join(report.skipped_examples)}",
            file=sys.stderr,
        )
    import numpy as np

    labels = np.asarray([classes.index(name) for name in names], dtype=np.int64)
    settings = TeachSettings(epochs=args.epochs)

    def show_epoch(progress) -> None:
        print(f"epoch {progress.epoch}/{progress.epochs}: loss {progress.loss:.4f}", file=sys.stderr, flush=True)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    try:
        result = teach(loaded, np.stack(digits), labels, settings, on_epoch=show_epoch, on_message=say)
    except DigitLabError as error:
        print(f"error: {error} Nothing was taught.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("teaching interrupted; nothing was written", file=sys.stderr)
        return 130
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    taught = result.taught(loaded)
    with interrupts_held():
        try:
            save_model(taught.model, out, taught.metadata)
        except DigitLabError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    record = {key: value for key, value in result.record.items() if key != "history"}
    record.update(saved=str(out), skipped_images=report.skipped, warnings=result.warnings)
    with stdout_kept_for_results(args.json) as results:
        if args.json:
            results.write(json.dumps(record) + "\n")
        else:
            results.write(_as_text(record) + "\n")
    print(f"saved: {out}", file=sys.stderr)
    return 0


def _as_text(record: dict) -> str:
    def percent(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.2f} %"

    samples = sum(record["samples_per_class"].values())
    held_back = record["held_back"] or "none"
    lines = [
        f"taught on {plural(samples, 'sample')} ({held_back} held back), "
        f"{plural(record['epochs'], 'epoch')}, replay: {record['replay'] or 'none'}, {record['seconds']:.0f} s",
        f"held-back samples: {percent(record['samples_before'])} -> {percent(record['samples_after'])}"
        if record["held_back"]
        else "held-back samples: none (a class needs 3 samples or more to hold one back)",
    ]
    if record["test_set"]:
        test_set = "MNIST" if record["test_set"] == "mnist" else record["test_set"]
        lines.append(
            f"{test_set} test ({plural(record['test_images'], 'image')}): "
            f"{percent(record['test_before'])} -> {percent(record['test_after'])}"
        )
    else:
        lines.append("test set: none fits this model")
    return "\n".join(lines)
