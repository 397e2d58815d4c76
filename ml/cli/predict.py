"""``digitlab predict``: images in, classes out (text or one JSON object per line, each printed as it is done)."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from ml.cli.progress import quiet_tensorflow

NO_INK = "no ink found"
"""The reason a blank image gives, as a digit and as a number, when the reader names none."""


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


@contextlib.contextmanager
def stdout_kept_for_results(enabled: bool) -> Iterator[TextIO]:
    """Yield the stream results go to; when ``enabled``, everything else written to stdout goes to stderr.

    Libraries write to file descriptor 1 behind Python's back (TensorFlow Lite's delegate notice, C++ logs), which
    would break a JSON stream; so descriptor 1 points at stderr meanwhile and results go to a copy of the real one.
    """
    if not enabled:
        yield sys.stdout
        return
    sys.stdout.flush()
    saved = os.dup(1)
    results: TextIO = sys.stdout  # already replaced (a test's capture): results go there
    if _writes_to_descriptor_1(sys.stdout):
        results = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    try:
        yield results
    finally:
        results.flush()
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        if results is not sys.stdout:
            results.close()


def _writes_to_descriptor_1(stream: TextIO) -> bool:
    try:
        return stream.fileno() == 1
    except (AttributeError, OSError, ValueError):
        return False


def strict_text(text: str) -> str:
    """``text`` as valid Unicode: a file name's bytes that are not UTF-8 (kept by Python as lone surrogates, which
    strict JSON parsers reject) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def file_record(file: str) -> dict:
    """A record's start, naming its file: ``{"file": name}``, the name as valid Unicode (see ``strict_text``); a name
    that is not valid UTF-8 also gets ``"file_bytes"``, its exact bytes in hex (``bytes.fromhex`` gives them back)."""
    shown = strict_text(file)
    if shown == file:
        return {"file": file}
    return {"file": shown, "file_bytes": os.fsencode(file).hex()}


def read_digit(file: str, record: dict):
    """The file's 28x28 digit, or None with the record's ``error`` (unreadable) or ``prediction: null`` and ``reason``
    (blank) filled in."""
    from ml.errors import ImageReadError
    from ml.preprocess.pipeline import preprocess_file

    try:
        prepared = preprocess_file(file)
    except ImageReadError as error:
        record["error"] = strict_text(str(error))
        return None
    if prepared.blank:
        record.update(prediction=None, reason=prepared.reason or NO_INK)
        return None
    return prepared.image


def class_label(index: int, class_names: list[str]):
    """A class as the JSON names it: the digit itself for a digit model, else the class's name."""
    return index if class_names == [str(i) for i in range(len(class_names))] else class_names[index]


def predict_record(file: str, predictor, class_names: list[str], judge=None) -> dict:
    """The result for one image file: a prediction, ``prediction: null`` with a reason, or an error.

    With ``judge`` (an ``ml.doubt.verdict.DoubtJudge``) the record also says ``verdict`` ("digit", "unsure" or
    "not_a_digit"), ``reason`` when refused or unsure, ``runner_up`` when unsure, and ``doubt`` (the full verdict).
    """
    from ml.models.limits import shorten

    record = file_record(file)
    image = read_digit(file, record)
    if image is None:
        return record
    try:
        row = predictor.predict_one(image)
    except Exception as error:  # noqa: BLE001 - a model that fails on this image: said, and the next file goes on
        record["error"] = f"the model could not score this image: {shorten(str(error) or type(error).__name__)}"
        return record
    if not all(math.isfinite(float(value)) for value in row):
        record.update(
            prediction=None,
            confidence=None,
            reason="the model's output is not a number (NaN or infinite) for this image",
        )
        return record
    winner = max(range(len(row)), key=lambda index: float(row[index]))
    record.update(
        prediction=class_label(winner, class_names),
        confidence=round(float(row[winner]), 6),
        probabilities=[round(float(p), 6) for p in row],
    )
    if judge is not None:
        record.update(judge.judge(image, row).as_record(lambda index: class_label(index, class_names)))
    return record


def number_record(file: str, predictor, judge=None) -> dict:
    """The whole number in one image file: ``{"file", "number", "reason"?, "digits": [...]}`` or an error."""
    from ml.errors import ImageReadError
    from ml.models.limits import shorten
    from ml.numbers.reader import read_number
    from ml.preprocess.read import read_image

    record = file_record(file)
    try:
        image = read_image(file)
    except ImageReadError as error:
        record["error"] = strict_text(str(error))
        return record
    try:
        reading = read_number(image, predictor, judge=judge)
    except Exception as error:  # noqa: BLE001 - a model that fails on this image: said, and the next file goes on
        record["error"] = f"the model could not score this image: {shorten(str(error) or type(error).__name__)}"
        return record
    digit_classes = predictor.class_names == [str(i) for i in range(len(predictor.class_names))]
    if any(not math.isfinite(float(value)) for digit in reading.digits for value in digit.probabilities):
        record.update(number=None, reason="the model's output is not a number (NaN or infinite) for this image")
        record["digits"] = []
        return record
    record.update(reading.as_dict(digit_classes))
    if reading.blank:  # the reader's own words, as a blank digit gives them: "no number (no ink found)"
        record["reason"] = reading.reason or NO_INK
    return record


def number_hint(file: str, predictor, judge=None) -> str | None:
    """The number an image refused as one digit reads as with ``--number`` (two digits or more), or None: "2026"
    written in one image was only said to look like "a letter, a shape or a scribble"."""
    numbered = number_record(file, predictor, judge)
    number = numbered.get("number")
    return number if number and len(numbered.get("digits", [])) >= 2 else None


def format_record(record: dict, as_json: bool) -> str:
    """One output line: JSON (strict: never NaN), or words."""
    if as_json:
        return json.dumps(record, allow_nan=False)
    if "error" in record:
        return f"{record['file']}: error: {record['error']}"
    if "digits" in record:
        return _format_number(record)
    if record["prediction"] is None:
        return f"{record['file']}: no prediction ({record['reason']})"
    guess = f"{record['prediction']} ({record['confidence']:.1%})"
    if record.get("verdict") == "not_a_digit":
        number = record.get("reads_as_number")
        hint = f"; it reads as the number {number} with --number" if number else ""
        return f"{record['file']}: not a digit: {record['reason']} (top guess {guess}){hint}"
    if record.get("verdict") == "unsure":
        return f"{record['file']}: unsure: {record['prediction']} or {record['runner_up']} ({record['confidence']:.1%})"
    return f"{record['file']}: {guess}"


def _format_number(record: dict) -> str:
    """A number record in words: the number and each digit's confidence, or why there is none."""
    digits = ", ".join(f"{digit['prediction']} ({digit['confidence']:.1%})" for digit in record["digits"])
    if record["number"] is None:  # what was found is listed as parts: they need not be digits
        detail = f"; parts: {digits}" if digits else ""
        return f"{record['file']}: no number ({record.get('reason', 'unreadable')}){detail}"
    return f"{record['file']}: {record['number']} (digits: {digits})"


def run_predict(args: argparse.Namespace) -> int:
    """Predict the digit in each image, printing and flushing each file's line as soon as it is done."""
    quiet_tensorflow()
    from ml.doubt.verdict import DoubtJudge
    from ml.inference.predictor import Predictor
    from ml.models.limits import shorten

    failed = False
    with stdout_kept_for_results(args.json) as results:
        loaded = load_model_or_exit(args.model)
        try:
            predictor = Predictor(loaded)
        except Exception as error:  # noqa: BLE001 - a model Keras loaded but cannot run: one clear line
            print(f"error: Digit Lab cannot run {loaded.display_name}: {shorten(str(error))}", file=sys.stderr)
            return 2
        class_names = loaded.metadata.class_names
        judge = DoubtJudge(loaded)
        digit_model = class_names == [str(digit) for digit in range(10)]
        for file in args.images:
            if getattr(args, "number", False):
                record = number_record(file, predictor, judge)
            else:
                record = predict_record(file, predictor, class_names, judge)
                if not args.json and digit_model and record.get("verdict") == "not_a_digit":
                    record["reads_as_number"] = number_hint(file, predictor, judge)
            failed = failed or "error" in record
            print(format_record(record, args.json), file=results, flush=True)
    return 1 if failed else 0
