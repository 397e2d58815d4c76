"""``digitlab evaluate``: every figure of a model on a test set, as text or JSON, and an optional report folder."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from ml.cli.predict import load_model_or_exit, stdout_kept_for_results
from ml.cli.progress import quiet_tensorflow
from ml.plurals import plural

DEFAULT_ROBUSTNESS_SAMPLE = 1000
DEFAULT_DATASET = "mnist"


def other_dataset_note(metadata, name: str) -> str | None:
    """A note for a model whose card names a set other than the default MNIST test (an 8x8 digits model reads about
    40 % on MNIST), saying which ``--dataset`` judges it on its own test split; None when MNIST is its set."""
    from ml.models.summary import DATASET_TITLES

    dataset = metadata.dataset
    if not dataset or dataset == DEFAULT_DATASET:
        return None
    if dataset in DATASET_TITLES:
        trained_on = DATASET_TITLES[dataset]
    elif Path(dataset).is_dir():
        trained_on = f"the folder {dataset}"
    else:
        return None
    return f"note: {name} was trained on {trained_on}, not MNIST; --dataset {dataset} judges it on its own test split."


def run_evaluate(args: argparse.Namespace) -> int:
    """Accuracy (Wilson interval), top-2, per-class figures, confusion, ECE (and, with --json or --report, the
    robustness curves); exit status 2 with one line for a set that does not fit the model or cannot be read."""
    quiet_tensorflow()
    from ml.errors import DigitLabError
    from ml.evaluation.report import check_report_folder, render_report, write_report
    from ml.evaluation.robustness import accuracy_curves, ece_curves, robustness_sweep, sample_indices
    from ml.evaluation.run import evaluate
    from ml.evaluation.sets import load_evaluation_set
    from ml.evaluation.streamed import evaluate_folder_stream, is_image_folder, open_folder_stream

    if args.robustness_sample < 0:
        print("error: --robustness-sample takes a number of images (0: all of them).", file=sys.stderr)
        return 2
    if args.report:
        try:
            check_report_folder(args.report)  # before the model loads: a report that cannot be written fails at once
        except DigitLabError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    loaded = load_model_or_exit(args.model)
    label = loaded.display_name if args.model else f"{loaded.display_name} (bundled)"
    if args.dataset is None:
        args.dataset = DEFAULT_DATASET
        note = other_dataset_note(loaded.metadata, loaded.display_name)
        if note:
            print(note, file=sys.stderr)
    with stdout_kept_for_results(args.json) as results:
        try:
            if is_image_folder(args.dataset):  # streamed: memory does not grow with the folder
                folder = open_folder_stream(args.dataset, loaded)
                print(f"evaluating {label} on {folder.title}…", file=sys.stderr)
                evaluation, count, images = evaluate_folder_stream(loaded, folder), len(folder), folder.display_images()
            else:
                eval_set = load_evaluation_set(args.dataset, loaded, data_file=args.data)
                print(f"evaluating {label} on {eval_set.title}…", file=sys.stderr)
                evaluation, count, images = evaluate(loaded, eval_set), len(eval_set), eval_set.images
            report = evaluation.report
            if args.json or args.report:
                sample = args.robustness_sample or None
                shown = min(count, sample or count)
                print(f"robustness sweep on {plural(shown, 'image')}…", file=sys.stderr)
                chosen = sample_indices(count, sample)
                if is_image_folder(args.dataset):  # only the sample's files are read (all with a sample of 0)
                    swept = folder.as_set(np.arange(count) if chosen is None else chosen)
                else:
                    swept = eval_set if chosen is None else eval_set.subset(chosen)
                sweep = robustness_sweep(loaded, swept)
                report = dataclasses.replace(report, robustness=accuracy_curves(sweep))
                evaluation = dataclasses.replace(evaluation, report=report)
            if args.report:
                written = write_report(
                    args.report, render_report(evaluation, images, report.robustness, label, shown, ece_curves(sweep))
                )
                print(f"report: {written / 'index.html'}", file=sys.stderr)
        except DigitLabError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("evaluation interrupted; nothing was written", file=sys.stderr)
            return 130
        if args.json:
            print(json.dumps(report.as_dict(), allow_nan=False), file=results)
        else:
            print(f"model: {label}, dataset: {evaluation.set_title}", file=results)
            print(report.as_text(), file=results)
    return 0
