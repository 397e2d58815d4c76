"""``digitlab export``: a model as TFLite (float or int8), a SavedModel or HDF5, verified on test images of its
dataset (MNIST, or scikit-learn's digits for a model trained on them)."""

from __future__ import annotations

import argparse
import sys

from ml.cli.predict import load_model_or_exit
from ml.cli.progress import quiet_tensorflow


def run_export(args: argparse.Namespace) -> int:
    """Export, verify, and print the figures; exit status 2 with one clear line when the export fails."""
    quiet_tensorflow()
    from ml.errors import DigitLabError
    from ml.export.exporter import check_destination, export_model

    try:
        check_destination(args.format, args.out)  # before the model loads: a wrong name fails at once
    except DigitLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    loaded = load_model_or_exit(args.model)
    try:
        report = export_model(loaded, args.format, args.out, progress=lambda message: print(message, file=sys.stderr))
    except DigitLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("export interrupted; nothing was written", file=sys.stderr)
        return 130
    print("\n".join(report.as_lines()))
    return 0
