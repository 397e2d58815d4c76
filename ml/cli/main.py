"""``digitlab train | predict | explain | evaluate | calibrate | export | presets``: the window's jobs, without it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ml.cli.arguments import (
    IMAGE_SIZES,
    MAX_READER_PROCESSES,
    image_size,
    momentum_value,
    non_negative_int,
    path_argument,
    positive_float,
    positive_int,
    random_seed,
    reader_processes,
)
from ml.cli.calibrate import run_calibrate
from ml.cli.evaluate import DEFAULT_ROBUSTNESS_SAMPLE, run_evaluate
from ml.cli.explain import run_explain
from ml.cli.export import run_export
from ml.cli.predict import run_predict
from ml.cli.presets import run_presets
from ml.cli.teach import run_teach
from ml.cli.train import run_train
from ml.models.presets import PRESETS
from ml.native_log import request_debug

EXPORT_FORMATS = ("tflite", "tflite-int8", "savedmodel", "h5")  # ml.export.exporter.FORMATS, without importing Keras


def build_parser() -> argparse.ArgumentParser:
    """The ``digitlab`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="digitlab", description="Digit Lab: train, predict and evaluate handwritten-digit classifiers."
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's own start-up messages (as DIGITLAB_DEBUG=1 does)"
    )
    commands = parser.add_subparsers(dest="command")
    train = commands.add_parser("train", help="train a model preset, or fine-tune a saved model")
    train.add_argument("--preset", choices=sorted(PRESETS), help="model preset (default: best)")
    train.add_argument(
        "--dataset",
        type=path_argument,
        metavar="{mnist,fashion-mnist,sklearn-digits,FOLDER}",
        help="dataset name, or a folder with one subfolder of images per class (default: the preset's)",
    )
    train.add_argument(
        "--image-size",
        type=image_size,
        metavar="PIXELS",
        help=f"square image size, {IMAGE_SIZES[0]} to {IMAGE_SIZES[1]} (folders: default 32)",
    )
    train.add_argument("--color-mode", choices=["grayscale", "rgb"], default="grayscale")
    train.add_argument("--epochs", type=positive_int, metavar="N", help="passes over the data, at least 1")
    train.add_argument("--batch-size", type=positive_int, metavar="N", help="images per step, at least 1")
    train.add_argument("--lr", type=positive_float, help="learning rate, above 0")
    train.add_argument("--optimizer", choices=["adam", "sgd", "rmsprop"])
    train.add_argument("--momentum", type=momentum_value, help="momentum for sgd and rmsprop, at least 0 and below 1")
    train.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=None, help="Nesterov momentum")
    train.add_argument(
        "--schedule", choices=["constant", "cosine", "plateau"], help="plateau: lr ÷10 when val accuracy stalls"
    )
    train.add_argument(
        "--early-stopping",
        type=non_negative_int,
        metavar="N",
        help="stop after N epochs without val_loss progress (0: never)",
    )
    train.add_argument(
        "--checkpoint", type=path_argument, metavar="FILE", help="keep the best epoch's model in FILE (.keras or .h5)"
    )
    train.add_argument(
        "--tensorboard", type=path_argument, metavar="DIR", help="write TensorBoard logs to a timestamped folder in DIR"
    )
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    train.add_argument(
        "--freeze-backbone",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="transfer presets: keep the pretrained backbone fixed (default: frozen when pretrained)",
    )
    train.add_argument(
        "--backbone-weights",
        type=path_argument,
        metavar="FILE|imagenet|none",
        help="transfer presets: ImageNet download (default), a local 'notop' .h5 file, or none (from scratch)",
    )
    train.add_argument(
        "--fine-tune", type=path_argument, metavar="MODEL", help="continue training a saved .keras or .h5 model"
    )
    train.add_argument("--seed", type=random_seed, default=0, help="from 0 to 2**32 - 1 (default 0)")
    train.add_argument(
        "--data",
        type=path_argument,
        help="MNIST / Fashion-MNIST .npz (keras layout) or a folder with the four IDX .gz files",
    )
    train.add_argument(
        "--max-train-samples", type=positive_int, metavar="N", help="train on the first N images only (quick runs)"
    )
    train.add_argument(
        "--mixed-precision",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compute in float16 (default: on where every GPU has compute capability 7.0 or higher)",
    )
    train.add_argument(
        "--distributed",
        action="store_true",
        help="run as one worker of a multi-machine job described by TF_CONFIG (only the chief saves)",
    )
    train.add_argument(
        "--cache",
        type=path_argument,
        default="auto",
        metavar="auto|memory|none|FILE",
        help="image folders are streamed from their files; keep the decoded images after the first epoch: auto "
        "(in memory when they take at most 256 MB, the default), memory, none, or in FILE on disk",
    )
    train.add_argument(
        "--reader-processes",
        type=reader_processes,
        default=0,
        metavar="N",
        help=f"decode a streamed image folder in N processes, at most {MAX_READER_PROCESSES} "
        "(default 0: in threads; try one per core)",
    )
    train.add_argument(
        "--out",
        type=path_argument,
        help="where to save the model (.keras or .h5; checked, and its folder made, first; "
        "default: digitlab-<preset>-<date>-<time>.keras here)",
    )
    train.set_defaults(handler=run_train)
    presets = commands.add_parser("presets", help="list the model presets with parameter counts")
    presets.set_defaults(handler=run_presets)
    predict = commands.add_parser("predict", help="predict the digit in image files")
    predict.add_argument("images", nargs="+", type=path_argument, metavar="IMAGE")
    predict.add_argument("--model", type=path_argument, help="a .keras or .h5 model (default: the bundled model)")
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.add_argument("--number", action="store_true", help="read every digit: the whole number in each image")
    predict.set_defaults(handler=run_predict)
    explain = commands.add_parser("explain", help="show which pixels pushed the decision, as overlay PNGs")
    explain.add_argument("images", nargs="+", type=path_argument, metavar="IMAGE")
    explain.add_argument("--model", type=path_argument, help="a .keras or .h5 model (default: the bundled model)")
    explain.add_argument("--method", choices=["gradcam", "guided-gradcam", "integrated-gradients"], default="gradcam")
    explain.add_argument(
        "--class", dest="class_index", type=int, metavar="K", help="explain class K (default: the winner)"
    )
    explain.add_argument(
        "--out", type=path_argument, default=".", metavar="DIR", help="folder for the overlays (default: here)"
    )
    explain.add_argument("--json", action="store_true", help="one JSON object per line")
    explain.set_defaults(handler=run_explain)
    evaluate = commands.add_parser("evaluate", help="judge a model on a test set: accuracy, calibration, robustness")
    evaluate.add_argument("--model", type=path_argument, help="a .keras or .h5 model (default: the bundled model)")
    evaluate.add_argument(
        "--dataset",
        type=path_argument,
        default=None,  # MNIST, with a note when the model's card names another set
        metavar="{mnist,fashion-mnist,sklearn-digits,FOLDER}",
        help="the test set: MNIST test (default), Fashion-MNIST test, scikit-learn digits' test split, or a folder "
        "with one subfolder of images per class",
    )
    evaluate.add_argument(
        "--data", type=path_argument, help="MNIST / Fashion-MNIST .npz (keras layout) or a folder of the 4 IDX files"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object (with the robustness curves)")
    evaluate.add_argument(
        "--report",
        type=path_argument,
        metavar="DIR",
        help="write confusion, reliability, robustness and mistakes PNGs and an index.html into DIR",
    )
    evaluate.add_argument(
        "--robustness-sample",
        type=int,
        default=DEFAULT_ROBUSTNESS_SAMPLE,
        metavar="N",
        help=f"images the robustness sweep uses (default {DEFAULT_ROBUSTNESS_SAMPLE}; 0: all)",
    )
    evaluate.set_defaults(handler=run_evaluate)
    calibrate = commands.add_parser("calibrate", help="fit temperature scaling on the validation split and store it")
    calibrate.add_argument("--model", type=path_argument, required=True, help="the .keras or .h5 model to calibrate")
    calibrate.add_argument(
        "--out", type=path_argument, required=True, help="where to save the calibrated model (.keras or .h5)"
    )
    calibrate.add_argument(
        "--data", type=path_argument, help="the training data file, when the model's card names one that moved"
    )
    calibrate.set_defaults(handler=run_calibrate)
    export = commands.add_parser("export", help="export a model to TFLite, int8 TFLite, SavedModel or HDF5, verified")
    export.add_argument("--model", type=path_argument, help="a .keras or .h5 model (default: the bundled model)")
    export.add_argument("--format", required=True, choices=list(EXPORT_FORMATS), help="what to write")
    export.add_argument(
        "--out", type=path_argument, required=True, metavar="PATH", help=".tflite, .h5, or a folder for savedmodel"
    )
    export.set_defaults(handler=run_export)
    teach = commands.add_parser("teach", help="teach a model your handwriting from a folder of class subfolders")
    teach.add_argument(
        "folder", type=path_argument, help="a folder with subfolders 0 … 9 (or the model's class names) of images"
    )
    teach.add_argument("--model", type=path_argument, help="a .keras or .h5 model (default: the bundled model)")
    teach.add_argument(
        "--out",
        type=path_argument,
        help="where to save the taught model (default: <model>-taught-<date>-<time>.keras here, never replacing one)",
    )
    teach.add_argument(
        "--epochs", type=positive_int, default=15, metavar="N", help="passes over the samples, at least 1 (default 15)"
    )
    teach.add_argument("--json", action="store_true", help="print the result as one JSON object")
    teach.set_defaults(handler=run_teach)
    commands.metavar = "{" + ",".join(commands.choices) + "}"
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    if args.verbose:
        request_debug()
    return args.handler(args)
