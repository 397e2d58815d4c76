"""``digitlab predict``: images in, classes out (text or one JSON object per line)."""

from __future__ import annotations

import argparse
import json
import sys

from ml.cli.progress import quiet_tensorflow


def load_model_or_exit(path: str | None):
    """The model at ``path`` (the bundled one when None), or a clear message and exit status 2."""
    from ml.assets import bundled_model_path
    from ml.errors import ModelFileError
    from ml.models.files import load_model

    try:
        return load_model(path or bundled_model_path())
    except ModelFileError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def run_predict(args: argparse.Namespace) -> int:
    """Predict the digit in each image; ``--json`` prints one object per line."""
    quiet_tensorflow()
    import numpy as np

    from ml.errors import ImageReadError
    from ml.inference.predictor import Predictor
    from ml.preprocess.pipeline import preprocess_file

    loaded = load_model_or_exit(args.model)
    predictor = Predictor(loaded)
    class_names = loaded.metadata.class_names
    records: list[dict] = []
    images, image_records = [], []
    for file in args.images:
        record: dict = {"file": file}
        records.append(record)
        try:
            prepared = preprocess_file(file)
        except ImageReadError as error:
            record["error"] = str(error)
            continue
        if prepared.blank:
            record.update(prediction=None, reason=prepared.reason or "blank image: no ink found")
            continue
        images.append(prepared.image)
        image_records.append(record)
    if images:
        probabilities = predictor.predict_batch(np.stack(images))
        for record, row in zip(image_records, probabilities, strict=True):
            winner = int(np.argmax(row))
            record.update(
                prediction=winner if class_names == [str(i) for i in range(len(row))] else class_names[winner],
                confidence=round(float(row[winner]), 6),
                probabilities=[round(float(p), 6) for p in row],
            )
    for record in records:
        if args.json:
            print(json.dumps(record))
        elif "error" in record:
            print(f"{record['file']}: error: {record['error']}")
        elif record["prediction"] is None:
            print(f"{record['file']}: no prediction ({record['reason']})")
        else:
            print(f"{record['file']}: {record['prediction']} ({record['confidence']:.1%})")
    return 1 if any("error" in record for record in records) else 0
