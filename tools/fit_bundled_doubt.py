"""Fit the bundled model's not-a-digit decision and store it in its card (assets/models/digitlab-best.keras), weights
untouched; then re-run tools/build_bundled_fast_paths.py, since the file's SHA-256 changes.

    python tools/fit_bundled_doubt.py [--per-family 400] [--from-json FILE]

The decision is fitted as a training run fits it (ml.doubt.fitting.fit_doubt): the network on tuning material drawn
with one seed plus half of the model's 5,000 MNIST validation digits (seed 2, the split its temperature used), the
threshold on material drawn with another seed plus the other half. No test digit is used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "assets" / "models" / "digitlab-best.keras"
"""This checkout's bundled model, never the installed package's (a copy of the tree must not rewrite the checkout
that is installed)."""
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=400, help="tuning drawings per family and half")
    parser.add_argument("--from-json", type=Path, help="store this fitted decision (as_dict JSON) instead of fitting")
    args = parser.parse_args()

    from ml.native_log import configure_tensorflow_logging, native_chatter_filtered

    with native_chatter_filtered(configure_tensorflow_logging()):
        from ml.doubt.scorer import DoubtSettings
        from ml.models.files import METADATA_ENTRY, load_model

    path = BUNDLED
    loaded = load_model(path)
    if args.from_json:
        settings = DoubtSettings.from_dict(json.loads(args.from_json.read_text(encoding="utf-8")))
    else:
        from ml.data.datasets import load_mnist
        from ml.doubt.fitting import fit_doubt
        from ml.inference.predictor import Predictor

        predictor = Predictor(loaded)
        mnist = load_mnist(seed=2)
        as_28 = lambda images: images.reshape(len(images), 28, 28)  # noqa: E731
        settings = fit_doubt(
            predictor.predict_batch,
            as_28(mnist.x_val),
            as_28(mnist.x_train[:6000]),
            mnist.y_train[:6000],
            per_family=args.per_family,
        )
    loaded.metadata.doubt = settings.as_dict()
    replace_card(path, METADATA_ENTRY, loaded.metadata.to_json())
    print(f"{path.name}: threshold {settings.threshold:.4f}; refused at the threshold: {settings.rates}")
    print("now run: python tools/build_bundled_fast_paths.py")
    return 0


def replace_card(path: Path, entry: str, text: str) -> None:
    """Rewrite ``entry`` of the .keras zip at ``path`` (every other entry copied byte for byte), atomically."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".keras")
    os.close(handle)
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w") as target:
            for info in source.infolist():
                if info.filename != entry:
                    target.writestr(info, source.read(info.filename))
            target.writestr(entry, text, compress_type=zipfile.ZIP_DEFLATED)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
