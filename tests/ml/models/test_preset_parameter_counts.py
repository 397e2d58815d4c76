"""The shipped parameter counts: each equals its built model's, and parameter_count reads them without building."""

from __future__ import annotations

import ml.models.presets
from ml.models.preset_parameter_counts import KNOWN_PARAMETER_COUNTS
from ml.models.presets import PRESETS, built_parameter_count, parameter_count


def test_every_shipped_count_is_its_built_models_count():
    wrong = {
        key: (count, built_parameter_count(*key))
        for key, count in KNOWN_PARAMETER_COUNTS.items()
        if built_parameter_count(*key) != count
    }
    assert not wrong, f"run tools/count_preset_parameters.py: (shipped, built) {wrong}"


def test_every_preset_has_a_shipped_count_for_mnist_sized_input():
    shipped = {name for name, _shape, _classes in KNOWN_PARAMETER_COUNTS}
    assert shipped == set(PRESETS)


def test_a_shipped_count_is_read_without_building_and_other_inputs_are_built(monkeypatch):
    built: list[tuple] = []

    def build(name, shape, classes):
        built.append((name, shape, classes))
        return 123

    monkeypatch.setattr(ml.models.presets, "built_parameter_count", build)
    parameter_count.cache_clear()
    try:
        assert parameter_count("mobilenetv2-transfer", (28, 28, 1), 10) == 2_270_794
        assert parameter_count("cnn3x3", (28, 28, 1), 10) == KNOWN_PARAMETER_COUNTS[("cnn3x3", (28, 28, 1), 10)]
        assert built == []
        assert parameter_count("cnn3x3", (32, 32, 3), 4) == 123  # an image folder's input: built
        assert built == [("cnn3x3", (32, 32, 3), 4)]
    finally:
        parameter_count.cache_clear()
