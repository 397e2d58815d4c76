"""How the training form names a preset: its tooltip, its caption, its command-line name, and the preset a dataset
calls for."""

from __future__ import annotations

from ml.models.presets import PRESETS


def preset_tooltip(name: str) -> str:
    """The preset's title, its name and the result its tutorial reports."""
    preset = PRESETS[name]
    lines = [f"{preset.title} ({name})"]
    if preset.tutorial_result:
        lines.append(f"Tutorial: {preset.tutorial_result}")
    return "\n".join(lines)


def preset_caption(name: str, parameters: int | None, counted: bool) -> str:
    """Two lines under the preset picker: the tutorial's reported figure, then the parameter count."""
    preset = PRESETS[name]
    tutorial = f"Tutorial: {preset.tutorial_result}" if preset.tutorial_result else "Digit Lab's own preset"
    if parameters is not None:
        count = f"{parameters:,} parameters"
    else:
        count = "counting parameters…" if not counted else "does not fit this dataset's input"
    return f"{tutorial}\n{command_name(name)} · {count}"


def command_name(name: str) -> str:
    """How the command line and the README call a preset: ``--preset fast``."""
    return f"--preset {name}"


def preset_for_dataset(current: str, dataset: str) -> str:
    """The preset to train on ``dataset``: ``current`` unless only the other kind of input suits one of them.

    The 8x8 scikit-learn digits have presets of their own (a 28x28 CNN reached 43 % on them after 2 epochs), and
    those presets are made for 8x8 features; the 28x28 presets suit MNIST, Fashion-MNIST and image folders alike.
    """
    made_for = PRESETS[current].dataset if current in PRESETS else None
    if (dataset == "sklearn-digits") == (made_for == "sklearn-digits"):
        return current
    wanted = "sklearn-digits" if dataset == "sklearn-digits" else "mnist"
    return next((name for name, preset in PRESETS.items() if preset.dataset == wanted), current)
