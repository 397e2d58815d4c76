"""Every preset's parameter count for the panel's fixed inputs, written by tools/count_preset_parameters.py
from built models (a test rebuilds each and compares): read instead of building the models at each launch."""

from __future__ import annotations

KNOWN_PARAMETER_COUNTS: dict[tuple[str, tuple[int, ...], int], int] = {
    ("best", (28, 28, 1), 10): 570366,
    ("fast", (28, 28, 1), 10): 44546,
    ("lenet5x5", (28, 28, 1), 10): 3274634,
    ("cnn3x3", (28, 28, 1), 10): 1199882,
    ("mlp", (28, 28, 1), 10): 543860,
    ("mlp-digits", (784,), 10): 397510,
    ("mlp-digits-deep", (784,), 10): 648010,
    ("vgg", (28, 28, 1), 10): 871978,
    ("vgg16-transfer", (28, 28, 1), 10): 14719818,
    ("mobilenetv2-transfer", (28, 28, 1), 10): 2270794,
    ("mlp-digits", (64,), 10): 37510,
    ("mlp-digits-deep", (64,), 10): 288010,
}
