"""``digitlab explain``: which pixels pushed the decision, one overlay PNG per image (and a JSON line with --json)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ml.cli.outputs import prepare_folder
from ml.cli.predict import class_label as label
from ml.cli.predict import file_record, load_model_or_exit, read_digit, stdout_kept_for_results
from ml.cli.predict import format_record as format_prediction
from ml.cli.progress import quiet_tensorflow

METHOD_TITLES = {
    "gradcam": "Grad-CAM",
    "guided-gradcam": "Guided Grad-CAM",
    "integrated-gradients": "Integrated Gradients",
}


class OverlayNames:
    """``<stem>-<method>.png`` in the output folder, numbered when two images share a stem."""

    def __init__(self, folder: Path, method: str) -> None:
        self.folder, self.method = folder, method
        self.used: set[str] = set()

    def next_for(self, file: str) -> Path:
        stem = Path(file).stem or "image"
        name, number = f"{stem}-{self.method}.png", 1
        while name in self.used:
            number += 1
            name = f"{stem}-{self.method}-{number}.png"
        self.used.add(name)
        return self.folder / name


def explain_record(file: str, tracer, explainer, args: argparse.Namespace, names: OverlayNames) -> dict:
    """One image's line: prediction, class explained, input, saliency and layers; or a reason, or an error."""
    from ml.inspect.evidence import saliency
    from ml.inspect.overlay import overlay_image, write_png_atomically
    from ml.models.limits import shorten

    record = file_record(file)
    image = read_digit(file, record)
    if image is None:
        return record
    class_names = explainer.loaded.metadata.class_names
    try:
        probabilities = tracer.trace(image)[-1].values
        if not all(math.isfinite(float(value)) for value in probabilities):
            record.update(prediction=None, reason="the model's output is not a number (NaN or infinite) for this image")
            return record
        winner = int(max(range(len(probabilities)), key=lambda index: float(probabilities[index])))
        explained = winner if args.class_index is None else args.class_index
        evidence = explainer.explain(image, method=args.method, class_index=explained)
    except Exception as error:  # noqa: BLE001 - a model that fails on this image: said, and the next file goes on
        record["error"] = f"the model could not explain this image: {shorten(str(error) or type(error).__name__)}"
        return record
    distribution = saliency(evidence)
    record.update(
        prediction=label(winner, class_names),
        class_explained=label(explained, class_names),
        method=args.method,
        input28=[[round(float(value), 4) for value in row] for row in image],
        saliency=None if distribution is None else [[round(float(v), 6) for v in row] for row in distribution],
        layers=tracer.describe(),
    )
    if distribution is None:
        record["reason"] = f"no pixel pushed the model towards {label(explained, class_names)}"
    path = names.next_for(file)
    caption = f"{METHOD_TITLES[args.method]} for {label(explained, class_names)}"
    try:
        write_png_atomically(overlay_image(image, evidence.positive, evidence.negative, caption), path)
    except OSError as error:
        record["error"] = f"could not write {path}: {error.strerror or error}"
        return record
    record["_overlay"] = str(path)
    return record


def format_record(record: dict, as_json: bool) -> str:
    """One output line: the JSON object (the issue's keys), or words with the overlay's path."""
    overlay = record.pop("_overlay", None)
    if as_json or "error" in record or record.get("prediction") is None:
        return format_prediction(record, as_json)
    return (
        f"{record['file']}: {record['prediction']}; {METHOD_TITLES[record['method']]} for "
        f"{record['class_explained']} -> {overlay}"
    )


def check_request_or_exit(loaded, explainer, args: argparse.Namespace) -> None:
    """Refuse at once what no image could change: a class the model lacks, Grad-CAM without a conv layer."""
    if args.class_index is not None and not 0 <= args.class_index < loaded.num_classes:
        print(
            f"error: --class {args.class_index}: the model scores classes 0 to {loaded.num_classes - 1}.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from ml.inspect.evidence import NEEDS_CONV, NO_CONV_MESSAGE, ONE_CELL_MESSAGE

    if args.method in NEEDS_CONV and not explainer.has_conv:
        print(
            f"error: {NO_CONV_MESSAGE.replace('Try Integrated Gradients', 'Try --method integrated-gradients')}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if args.method == "gradcam" and not explainer.gradcam_localizes:
        methods = "Try --method guided-gradcam or --method integrated-gradients"
        print(
            f"error: {ONE_CELL_MESSAGE.replace('Try Guided Grad-CAM or Integrated Gradients', methods)}",
            file=sys.stderr,
        )
        raise SystemExit(2)


def output_folder_or_exit(folder: str) -> Path:
    """The overlay folder, made if missing and proved writable; a clear message and exit status 2 if it is not."""
    path = Path(folder)
    problem = prepare_folder(path, "the overlays")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    return path


def run_explain(args: argparse.Namespace) -> int:
    """Explain each image, printing and flushing each file's line as soon as its overlay is written."""
    quiet_tensorflow()
    from ml.inspect.evidence import Explainer
    from ml.inspect.layers import NetworkTracer
    from ml.models.limits import shorten

    failed = False
    with stdout_kept_for_results(args.json) as results:
        loaded = load_model_or_exit(args.model)
        try:
            tracer, explainer = NetworkTracer(loaded), Explainer(loaded)
        except Exception as error:  # noqa: BLE001 - a model Keras loaded but cannot trace: one clear line
            print(f"error: Digit Lab cannot look inside {loaded.display_name}: {shorten(str(error))}", file=sys.stderr)
            return 2
        check_request_or_exit(loaded, explainer, args)
        folder = output_folder_or_exit(args.out)  # last: a refused request leaves no folder behind
        names = OverlayNames(folder, args.method)
        for file in args.images:
            record = explain_record(file, tracer, explainer, args, names)
            failed = failed or "error" in record
            print(format_record(record, args.json), file=results, flush=True)
    return 1 if failed else 0
