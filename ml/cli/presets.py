"""``digitlab presets``: the model presets and the tutorials they reproduce."""

from __future__ import annotations

import argparse

from ml.cli.progress import quiet_tensorflow
from ml.models.presets import PRESETS


def presets_table() -> str:
    """The presets as a text table: name, parameters, default dataset, tutorial figure, description."""
    from ml.models.presets import format_parameter_count

    headers = ("preset", "parameters", "input", "dataset", "tutorial figure", "model")
    rows = [
        (
            preset.name,
            format_parameter_count(preset.parameter_count()),
            "x".join(str(size) for size in preset.default_input_shape),
            preset.dataset,
            preset.tutorial_result or "—",
            preset.title,
        )
        for preset in PRESETS.values()
    ]
    widths = [max(len(str(row[column])) for row in (headers, *rows)) for column in range(len(headers))]
    lines = [
        "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *rows)
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def run_presets(args: argparse.Namespace) -> int:
    """Print the preset table (parameter counts for each preset's default input, 10 classes)."""
    quiet_tensorflow()
    print(presets_table())
    return 0
