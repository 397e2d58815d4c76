"""``digitlab calibrate``: fit temperature scaling on a model's validation split and save it in the model's card."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ml.cli.outputs import prepare_output_path
from ml.cli.predict import load_model_or_exit
from ml.cli.progress import quiet_tensorflow
from ml.cli.train import interrupts_held


def run_calibrate(args: argparse.Namespace) -> int:
    """Fit the temperature (never on the test set), print what it did, and save the model atomically to --out.

    A fit that is not applied (too few images, a bound temperature, a worse ECE or NLL: ``fit_on_validation``) saves
    the model uncalibrated and says why in one line ("not calibrated: …"), still with exit status 0.
    """
    quiet_tensorflow()
    from ml.errors import DigitLabError
    from ml.evaluation.calibration import calibrate_model
    from ml.models.files import save_model

    out = Path(args.out)
    problem = prepare_output_path(out)
    if problem:
        print(f"error: {problem} Nothing was calibrated.", file=sys.stderr)
        return 2
    loaded = load_model_or_exit(args.model)
    previous = loaded.metadata.temperature
    try:
        result = calibrate_model(loaded, data_file=args.data)
    except DigitLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("calibration interrupted; nothing was written", file=sys.stderr)
        return 130
    if previous is not None:
        replaced = "replacing" if result.applied else "removing"
        print(f"({replaced} the stored temperature {previous:.3f})", file=sys.stderr)
    print(result.as_text())
    with interrupts_held():
        try:
            save_model(loaded.model, out, loaded.metadata)
        except DigitLabError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    print(f"saved: {out}", file=sys.stderr)
    return 0
