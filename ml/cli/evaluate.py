"""``digitlab evaluate``: a model's accuracy and confusion matrix on a test set."""

from __future__ import annotations

import argparse
import sys

from ml.cli.predict import load_model_or_exit
from ml.cli.progress import quiet_tensorflow


def run_evaluate(args: argparse.Namespace) -> int:
    """Test accuracy, per-class accuracy and the confusion matrix of a model, on a checked test set."""
    quiet_tensorflow()
    import numpy as np

    from ml.data.datasets import load_dataset
    from ml.data.validation import check_labels_fit_model
    from ml.errors import DatasetError
    from ml.evaluation.metrics import evaluate_probabilities
    from ml.inference.predictor import Predictor
    from ml.models.limits import shorten

    loaded = load_model_or_exit(args.model)
    try:
        dataset = load_dataset(args.dataset, data_file=args.data, for_training=False)
        check_labels_fit_model(dataset.y_test, loaded.num_classes, loaded.display_name, dataset.name)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        predictor = Predictor(loaded)
        images = dataset.x_test[..., 0] if dataset.x_test.ndim == 4 else dataset.x_test
        probabilities = predictor.predict_batch(images)
    except Exception as error:  # noqa: BLE001 - a model Keras loaded but cannot run: one clear line
        print(f"error: Digit Lab cannot run {loaded.display_name}: {shorten(str(error))}", file=sys.stderr)
        return 2
    if not np.isfinite(probabilities).all():
        print(
            f"error: {loaded.display_name} gives NaN or infinite scores on {dataset.name}; no accuracy can be "
            "measured.",
            file=sys.stderr,
        )
        return 2
    report = evaluate_probabilities(dataset.y_test, probabilities, loaded.metadata.class_names)
    print(f"model: {loaded.display_name} ({args.model or 'bundled'}), dataset: {dataset.name}")
    print(report.as_text())
    return 0
