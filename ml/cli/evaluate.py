"""``digitlab evaluate``: every figure of a model on a test set, as text or JSON, and an optional report folder."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from ml.cli.predict import load_model_or_exit, stdout_kept_for_results
from ml.cli.progress import quiet_tensorflow

DEFAULT_ROBUSTNESS_SAMPLE = 1000


def run_evaluate(args: argparse.Namespace) -> int:
    """Accuracy (Wilson interval), top-2, per-class figures, confusion, ECE (and, with --json or --report, the
    robustness curves); exit status 2 with one line for a set that does not fit the model or cannot be read."""
    quiet_tensorflow()
    from ml.errors import DigitLabError
    from ml.evaluation.report import render_report, write_report
    from ml.evaluation.robustness import accuracy_curves, ece_curves, robustness_sweep
    from ml.evaluation.run import evaluate
    from ml.evaluation.sets import load_evaluation_set

    if args.robustness_sample < 0:
        print("error: --robustness-sample takes a number of images (0: all of them).", file=sys.stderr)
        return 2
    loaded = load_model_or_exit(args.model)
    label = loaded.display_name if args.model else f"{loaded.display_name} (bundled)"
    with stdout_kept_for_results(args.json) as results:
        try:
            eval_set = load_evaluation_set(args.dataset, loaded, data_file=args.data)
            print(f"evaluating {label} on {eval_set.title}…", file=sys.stderr)
            evaluation = evaluate(loaded, eval_set)
            report = evaluation.report
            if args.json or args.report:
                sample = args.robustness_sample or None
                shown = min(len(eval_set), sample or len(eval_set))
                print(f"robustness sweep on {shown:,} images…", file=sys.stderr)
                sweep = robustness_sweep(loaded, eval_set, sample=sample)
                report = dataclasses.replace(report, robustness=accuracy_curves(sweep))
                evaluation = dataclasses.replace(evaluation, report=report)
            if args.report:
                written = write_report(
                    args.report,
                    render_report(evaluation, eval_set.images, report.robustness, label, shown, ece_curves(sweep)),
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
            print(f"model: {label}, dataset: {eval_set.title}", file=results)
            print(report.as_text(), file=results)
    return 0
