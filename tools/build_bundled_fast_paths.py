"""Write the bundled model's two fast paths beside it, each checked against Keras on MNIST test images:

- its numpy weights (assets/models/digitlab-best.numpy.npz + .numpy.json), which answer the first drawings before
  TensorFlow is imported (ml.inference.shipped_numpy);
- its TFLite conversion (assets/models/digitlab-best.tflite + .tflite.json), so that no launch converts anything
  (ml.inference.shipped_tflite).

Each record holds the SHA-256 of the .keras file and of the shipped file; the window uses a fast path only while both
match, so re-run this after replacing the bundled model or rewriting its card:

    python tools/build_bundled_fast_paths.py [--only numpy|tflite] [--images 10000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))  # the sibling scripts
from fit_bundled_doubt import BUNDLED  # noqa: E402 - this checkout's bundled model, never the installed package's


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("numpy", "tflite"), help="build one of the two (default: both)")
    parser.add_argument("--images", type=int, default=10000, help="MNIST test images to check each fast path on")
    args = parser.parse_args()

    from ml.native_log import configure_tensorflow_logging, native_chatter_filtered

    with native_chatter_filtered(configure_tensorflow_logging()):  # TensorFlow's start-up chatter stays quiet
        from ml.data.datasets import load_mnist
        from ml.inference.shipped_numpy import build_shipped_numpy
        from ml.inference.shipped_tflite import build_shipped_tflite
        from ml.models.files import load_model

    builders = {"numpy": build_shipped_numpy, "tflite": build_shipped_tflite}
    loaded = load_model(BUNDLED)
    test_images = load_mnist().x_test[: args.images]
    for name, build in builders.items():
        if args.only not in (None, name):
            continue
        try:
            shipped = build(loaded, test_images)
        except ValueError as error:
            print(f"build_bundled_fast_paths ({name}): {error}", file=sys.stderr)
            return 1
        written = shipped.network if name == "numpy" else shipped.flatbuffer
        print(
            f"{written.name}: {written.stat().st_size / 1e6:.2f} MB, checked on {shipped.images} MNIST test images: "
            f"max probability difference {shipped.max_difference:.2g}, same class {shipped.agreement:.2%}; "
            f"record {shipped.record.name}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
