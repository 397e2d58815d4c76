"""Fit Digit Lab's default not-a-digit input checks (used for models without a fitted decision) and write them to
ml/doubt/default_checks.py. They read only the 28x28 image, never a model's probabilities, so they suit any digit model.

    python tools/fit_doubt_default.py [--per-family 300]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET = ROOT / "ml" / "doubt" / "default_checks.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=300, help="tuning drawings per family and half")
    args = parser.parse_args()

    from ml.data.datasets import load_mnist
    from ml.doubt.features import IMAGE_FEATURES
    from ml.doubt.fitting import fit_doubt

    mnist = load_mnist(seed=2)
    squeeze = lambda images: images[..., 0] if images.ndim == 4 else images  # noqa: E731
    no_model = lambda images: np.full((len(images), 10), 0.1)  # noqa: E731 - the checks never read probabilities
    settings = fit_doubt(
        no_model,
        squeeze(mnist.x_val),
        squeeze(mnist.x_train[:6000]),
        mnist.y_train[:6000],
        per_family=args.per_family,
        feature_names=IMAGE_FEATURES,
    )
    data = settings.as_dict()
    data["method"] = "Digit Lab's default input checks (not fitted for this model)"
    text = json.dumps(data, indent=1)
    TARGET.write_text(
        '"""Digit Lab\'s default not-a-digit input checks, written by tools/fit_doubt_default.py (do not edit)."""\n\n'
        f"INPUT_CHECKS = {text}\n".replace(": true", ": True")
        .replace(": false", ": False")
        .replace(": null", ": None"),
        encoding="utf-8",
    )
    print(f"{TARGET.relative_to(ROOT)}: threshold {settings.threshold:.4f}; refused at the threshold: {settings.rates}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
