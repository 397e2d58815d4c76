"""Write the bundled model's numpy weights beside it (assets/models/digitlab-best.numpy.npz + .numpy.json), checked
against Keras on MNIST test images, so that the window answers its first drawing without TensorFlow.

The record holds the SHA-256 of the .keras file and of the .npz; the window uses the weights only while both match
(ml.inference.shipped_numpy), so re-run this (and tools/build_bundled_tflite.py) after replacing the bundled model:

    python tools/build_bundled_numpy.py [--images 10000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000, help="MNIST test images to check the numpy pass on")
    args = parser.parse_args()

    from ml.native_log import configure_tensorflow_logging, native_chatter_filtered

    with native_chatter_filtered(configure_tensorflow_logging()):  # TensorFlow's start-up chatter stays quiet
        from ml.assets import bundled_model_path
        from ml.data.datasets import load_mnist
        from ml.inference.shipped_numpy import build_shipped_numpy
        from ml.models.files import load_model

    loaded = load_model(bundled_model_path())
    test_images = load_mnist().x_test[: args.images]
    try:
        shipped = build_shipped_numpy(loaded, test_images)
    except ValueError as error:
        print(f"build_bundled_numpy: {error}", file=sys.stderr)
        return 1
    size = shipped.network.stat().st_size / 1e6
    print(
        f"{shipped.network.name}: {size:.2f} MB, checked on {shipped.images} MNIST test images: "
        f"max probability difference {shipped.max_difference:.2g}, same class {shipped.agreement:.2%}; "
        f"record {shipped.record.name}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
