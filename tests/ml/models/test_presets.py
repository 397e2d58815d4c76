"""The preset registry: importable without Keras, parameter counts, and every preset builds and trains."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ml.data.datasets import Dataset
from ml.models.presets import PRESETS, build_model, get_preset, parameter_count, vgg_block_count

ROOT = Path(__file__).resolve().parents[3]


def tiny_dataset(input_shape: tuple[int, ...], num_classes: int = 3, count: int = 24) -> Dataset:
    """Random examples, enough for one short epoch."""
    rng = np.random.default_rng(0)
    x = rng.random((count, *input_shape), dtype=np.float32)
    y = np.arange(count) % num_classes
    names = [f"class {index}" for index in range(num_classes)]
    return Dataset("tiny", x, y, x[:6], y[:6], x[:6], y[:6], names)


def test_registry_imports_without_keras():
    code = "import sys, ml.models.presets; print('keras' in sys.modules or 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_tutorial_presets_have_their_figures_datasets_and_representations():
    assert get_preset("mlp").dataset == "fashion-mnist" and "89.3%" in get_preset("mlp").tutorial_result
    assert get_preset("mlp").defaults["optimizer"] == "sgd" and get_preset("mlp").defaults["nesterov"] is True
    assert get_preset("mlp").defaults["early_stopping_patience"] == 3
    for name, figure in (("mlp-digits", "97.8%"), ("mlp-digits-deep", "98.3%")):
        preset = get_preset(name)
        assert preset.dataset == "sklearn-digits" and preset.representation == "features"
        assert figure in preset.tutorial_result and preset.defaults["optimizer"] == "adam"
    assert {"vgg", "vgg16-transfer", "mobilenetv2-transfer"} <= set(PRESETS)
    assert get_preset("vgg").defaults["schedule"] == "plateau"


def test_parameter_counts_match_the_architectures():
    assert parameter_count("mlp", (28, 28, 1), 10) == 784 * 500 + 500 + 500 * 250 + 250 + 250 * 100 + 100 + 1010
    assert get_preset("mlp-digits").parameter_count() == 64 * 500 + 500 + 500 * 10 + 10
    assert get_preset("mlp-digits-deep").parameter_count() == 64 * 500 + 500 + 500 * 500 + 500 + 5010
    assert get_preset("cnn3x3").parameter_count() == 1_199_882  # the Keras mnist_cnn summary's figure


def test_vgg_blocks_scale_with_the_image_size():
    assert [vgg_block_count(size, size) for size in (8, 28, 32, 64, 224, 512)] == [1, 2, 3, 4, 5, 5]
    pools = [layer for layer in build_model("vgg", (64, 48, 3), 5).layers if "pooling" in layer.name]
    assert len(pools) == vgg_block_count(64, 48) == 3


def test_unknown_preset_and_options_are_refused():
    with pytest.raises(KeyError, match="Known presets"):
        get_preset("resnet")
    with pytest.raises(TypeError, match="backbone_weights"):
        build_model("cnn3x3", (28, 28, 1), 10, backbone_weights="none")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_and_trains_one_epoch(name):
    from ml.training.config import TrainConfig
    from ml.training.fit import fit

    preset = get_preset(name)
    shape = (64,) if preset.representation == "features" else (28, 28, 1)
    dataset = tiny_dataset(shape)
    config = TrainConfig(preset=name, epochs=1, batch_size=12, augment=False)
    if preset.factory_options:  # offline here: random backbone weights, frozen to keep the test quick
        config.backbone_weights, config.freeze_backbone = "none", True
    result = fit(config, dataset=dataset)
    assert result.model.output_shape == (None, 3)
    assert result.epochs_completed == 1 and np.isfinite(result.history["loss"][0])
    probabilities = result.model.predict(dataset.x_test, verbose=0)
    assert probabilities.shape == (6, 3) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_presets_command_prints_a_table_with_counts_and_figures(capsys):
    from ml.cli.main import main

    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["preset", "parameters"] and set(lines[1]) <= {"-", " "}
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == set(PRESETS)
    assert "37.5 k" in rows["mlp-digits"] and "97.8%" in rows["mlp-digits"]
    assert "543.9 k" in rows["mlp"] and "fashion-mnist" in rows["mlp"]
    assert "M" in rows["vgg16-transfer"].split()[1:3]
