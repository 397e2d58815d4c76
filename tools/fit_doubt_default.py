"""Fit Digit Lab's default not-a-digit input checks (used for models without a fitted decision) and write them to
ml/doubt/default_checks.py. They read only the 28x28 image (the checks and the not-a-digit detector's score), never a
model's probabilities, so they suit any digit model.

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
    from ml.doubt.features import MODEL_FREE_FEATURES
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
        feature_names=MODEL_FREE_FEATURES,
    )
    data = settings.as_dict()
    data["method"] = "Digit Lab's default input checks and detector (not fitted for this model)"
    write_checks(data)
    print(f"{TARGET.relative_to(ROOT)}: threshold {settings.threshold:.4f}; refused at the threshold: {settings.rates}")
    return 0


def write_checks(data: dict) -> None:
    """Write ``data`` as the Python literal ``INPUT_CHECKS``: one line per entry and per weight row."""
    lines = []
    for key, value in data.items():
        if key == "layers":
            lines.append('    "layers": [')
            for weights, bias in value:
                rows = "".join(f"            {json.dumps(row)},\n" for row in weights)
                bias_line = f"            {json.dumps(bias)},"
                lines.append(f"        [\n            [\n{rows}            ],\n{bias_line}\n        ],")
            lines.append("    ],")
        else:
            lines.append(f"    {json.dumps(key)}: {json.dumps(value)},")
    body = "\n".join(lines).replace("true", "True").replace("false", "False").replace("null", "None")
    TARGET.write_text(
        '"""Digit Lab\'s default not-a-digit input checks, written by tools/fit_doubt_default.py (do not edit)."""\n\n'
        "# ruff: noqa: E501\n# fmt: off\n"
        f"INPUT_CHECKS = {{\n{body}\n}}\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    sys.exit(main())
