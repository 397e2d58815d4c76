"""Names for the models the window holds: a run's unsaved model says what it is, what it learnt, how well and when."""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

_CACHE_STAMP = re.compile(r"-\d{8}-\d{6}(-\d+)?$")  # the time stamp the training worker adds to its cache files
_UNSAFE_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9._+-]+")


def source_name(path: str) -> str:
    """A model file's name without folder, suffix or the training cache's time stamp."""
    stem = Path(path).stem
    return _CACHE_STAMP.sub("", stem) or stem


def dataset_name(dataset: str) -> str:
    """A dataset's short name: ``mnist``, or an image folder's own name."""
    return Path(dataset).name if ("/" in dataset or "\\" in dataset) else dataset


def local_time(created: str | None) -> str | None:
    """``09:41`` for an ISO time stamp (shown in local time); None when there is none."""
    try:
        when = datetime.fromisoformat(str(created))
    except (TypeError, ValueError):
        return None
    return when.astimezone().strftime("%H:%M") if when.tzinfo else when.strftime("%H:%M")


def trained_model_name(metadata: Any, fallback: str) -> str:
    """``trained fast · mnist · 98.7 % · 09:41``, or ``continued digitlab-best · …`` for a continued model.

    Two runs of one preset differ in accuracy or time, so their models are told apart in the title, the status bar
    and the question asked before one replaces the other.
    """
    continued_from = (metadata.hyperparameters or {}).get("fine_tune_from")
    if continued_from:
        parts = [f"continued {source_name(str(continued_from))}"]
    else:
        parts = [f"trained {metadata.preset or fallback}"]
    if metadata.dataset:
        parts.append(dataset_name(str(metadata.dataset)))
    accuracy = metadata.test_accuracy
    if accuracy is not None and math.isfinite(accuracy):
        parts.append(f"{accuracy * 100:.1f} %")
    when = local_time(metadata.created)
    if when:
        parts.append(when)
    return " · ".join(parts)


def file_name_for(display_name: str) -> str:
    """A file name (without suffix) made from a model's name: ``trained-fast-mnist-98.7-09-41``."""
    return _UNSAFE_IN_FILE_NAMES.sub("-", display_name.replace(" %", "")).strip("-.") or "model"


def format_model_status(description: dict) -> str:
    """``digitlab-best · 99.7 % test accuracy`` for the status bar (`` · not saved`` for a run's model)."""
    text = description["display_name"]
    accuracy = description.get("test_accuracy")
    if accuracy is not None and math.isfinite(accuracy) and not description.get("unsaved"):
        text += f" · {accuracy * 100:.1f} % test accuracy"  # a run's model names its accuracy already
    if description.get("unsaved"):
        text += " · not saved"
    return text
