"""Export the bundled model to every format and report size, agreement and accuracy on the MNIST test set.

Each export goes through ``ml.export.exporter.export_model`` exactly as ``digitlab export`` does (written atomically,
reloaded and compared), here on the whole test set (10,000 images) instead of the usual 1,000.

    python bench/bench_export.py [--images 10000] [--model path.keras] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NAMES = {"tflite": "digitlab.tflite", "tflite-int8": "digitlab-int8.tflite", "savedmodel": "digitlab-savedmodel",
         "h5": "digitlab.h5"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000, help="MNIST test images to verify on")
    parser.add_argument("--model", help="a .keras or .h5 model (default: the bundled model)")
    parser.add_argument("--out", help="folder for the exports (default: a temporary folder)")
    args = parser.parse_args()

    from ml.native_log import start_tensorflow_quietly

    start_tensorflow_quietly()
    from ml.assets import bundled_model_path
    from ml.export.exporter import FORMATS, ExportError, export_model
    from ml.export.verification import mnist_reference
    from ml.models.files import load_model

    model_path = Path(args.model) if args.model else bundled_model_path()
    loaded = load_model(model_path)
    reference = mnist_reference(test_count=args.images)
    folder = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="digitlab-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"model: {model_path.name} ({model_path.stat().st_size / 1e6:.2f} MB), {args.images:,} MNIST test images")
    print("| format | size | max probability difference | same class | Keras accuracy | export accuracy | drop "
          "| time |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    failures = 0
    for fmt in FORMATS:
        started = time.perf_counter()
        try:
            report = export_model(loaded, fmt, folder / NAMES[fmt], reference=reference)
        except ExportError as error:
            failures += 1
            print(f"| {fmt} | failed: {error} | | | | | | |")
            continue
        check = report.verification
        print(
            f"| {fmt} | {report.size_bytes / 1e6:.2f} MB | {check.max_probability_difference:.2g} | "
            f"{check.agreement:.2%} | {check.keras_accuracy:.2%} | {check.exported_accuracy:.2%} | "
            f"{100 * check.accuracy_drop:+.2f} pt | {time.perf_counter() - started:.1f} s |",
            flush=True,
        )
    print(f"exports in {folder}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
