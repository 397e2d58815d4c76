"""``digitlab evaluate``: a model's accuracy and confusion matrix on a test set."""

from __future__ import annotations

import argparse
import sys

from ml.cli.predict import load_model_or_exit
from ml.cli.progress import quiet_tensorflow


def run_evaluate(args: argparse.Namespace) -> int:
    """Test accuracy, per-class accuracy and the confusion matrix of a model."""
    quiet_tensorflow()
    from ml.data.datasets import load_dataset
    from ml.errors import DatasetError
    from ml.evaluation.metrics import evaluate_probabilities
    from ml.inference.predictor import Predictor

    loaded = load_model_or_exit(args.model)
    try:
        dataset = load_dataset(args.dataset, data_file=args.data)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    predictor = Predictor(loaded)
    images = dataset.x_test[..., 0] if dataset.x_test.ndim == 4 else dataset.x_test
    probabilities = predictor.predict_batch(images)
    report = evaluate_probabilities(dataset.y_test, probabilities, loaded.metadata.class_names)
    print(f"model: {loaded.display_name} ({args.model or 'bundled'}), dataset: {dataset.name}")
    print(report.as_text())
    return 0
