"""Model files that declare too much, nest too deep, cannot be fed or hold NaN: refused before Keras allocates."""

from __future__ import annotations

import json
import resource
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from ml.errors import ModelFileError
from ml.inference.model_input import adapt_to_input
from ml.models import files as files_module
from ml.models.files import load_model, save_model
from ml.models.limits import (
    MAX_CONFIG_BYTES,
    MAX_CONFIG_VALUES,
    MAX_SHOWN_CHARACTERS,
    estimate_weight_values,
    feeding_problem,
    shorten,
)
from ml.models.metadata import ModelMetadata
from ml.models.safety import check_config_is_safe


def dense_model(input_shape: tuple = (16,), classes: int = 10) -> keras.Model:
    inputs = keras.Input(input_shape)
    features = keras.layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(features))


def saved(tmp_path: Path, model: keras.Model, name: str = "model.keras", **metadata) -> Path:
    return save_model(model, tmp_path / name, ModelMetadata(**metadata))


def rewrite_config(path: Path, change: Callable[[dict], object]) -> Path:
    """Rewrite a .keras file's config.json through ``change`` (which edits the dict, or returns new text)."""
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(entries["config.json"])
    replaced = change(config)
    entries["config.json"] = (replaced if isinstance(replaced, str) else json.dumps(config)).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def layer_configs(config: dict) -> list[dict]:
    return config["config"]["layers"]


def refusal(path: Path) -> str:
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    message = str(caught.value)
    assert "Traceback" not in message
    assert len(message) < 1000
    return message


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ------------------------------------------------------------------------------------------- deep configs


def test_a_config_nested_100000_levels_deep_is_refused(tmp_path: Path) -> None:
    path = rewrite_config(saved(tmp_path, dense_model()), lambda config: "[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in refusal(path)


def test_a_config_nested_500_levels_deep_is_refused_before_the_safety_walk(tmp_path: Path) -> None:
    def deepen(config: dict) -> None:
        node = config["config"]
        for _ in range(250):  # two dicts a level: 500 levels deep
            node["extra"] = {"class_name": "Dense", "config": {}}
            node = node["extra"]["config"]

    path = rewrite_config(saved(tmp_path, dense_model()), deepen)
    assert "nested more than 100 levels deep" in refusal(path)


def test_a_config_declaring_3000_layers_is_refused_before_keras_builds_them(tmp_path: Path) -> None:
    def multiply(config: dict) -> None:
        dense = next(layer for layer in layer_configs(config) if layer["class_name"] == "Dense")
        layer_configs(config).extend(json.loads(json.dumps(dense)) for _ in range(3_000))

    path = rewrite_config(saved(tmp_path, dense_model()), multiply)
    assert "declares more than 2,000 layers" in refusal(path)


def test_a_config_declaring_20000_layers_is_refused_before_it_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def multiply(config: dict) -> None:
        dense = next(layer for layer in layer_configs(config) if layer["class_name"] == "Dense")
        layer_configs(config).extend(json.loads(json.dumps(dense)) for _ in range(20_000))

    path = rewrite_config(saved(tmp_path, dense_model()), multiply)
    forbid_parsing(monkeypatch)
    assert "up to 4 MB" in refusal(path)  # about 1 KB a layer: 19 MB


def forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any JSON parse inside ml.models.files fail the test."""

    def parse(*args, **kwargs):
        raise AssertionError("the configuration was parsed")

    monkeypatch.setattr(files_module.json, "loads", parse)


def test_a_config_padded_with_3_million_numbers_is_refused_from_the_zip_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = rewrite_config(saved(tmp_path, dense_model()), lambda config: config.update(pad=list(range(3_000_000))))
    forbid_parsing(monkeypatch)
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *args: pytest.fail("an entry was read"))
    message = refusal(path)
    assert "has a model configuration of 2" in message and "MB" in message and "up to 4 MB" in message


def test_a_config_under_4_mb_padded_with_2_million_zeros_is_refused_by_its_comma_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = rewrite_config(
        saved(tmp_path, dense_model()), lambda config: json.dumps({**config, "pad": [0] * 1_900_000}).replace(" ", "")
    )
    assert zipfile.ZipFile(path).getinfo("config.json").file_size < MAX_CONFIG_BYTES
    forbid_parsing(monkeypatch)
    assert "about 1,90" in refusal(path) and f"up to {MAX_CONFIG_VALUES:,})" in refusal(path)


def test_an_h5_config_attribute_of_tens_of_megabytes_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = saved(tmp_path, dense_model(), "model.h5")
    with h5py.File(path, "a") as h5_file:
        config = json.loads(h5_file.attrs["model_config"])
        h5_file.attrs["model_config"] = json.dumps({**config, "pad": list(range(3_000_000))})
    forbid_parsing(monkeypatch)
    assert "up to 4 MB" in refusal(path)


def test_walking_a_config_skips_long_lists_of_numbers() -> None:
    config = {"class_name": "Sequential", "config": {"layers": [], "pad": [0] * 1_000_000}}
    assert estimate_weight_values(config) == 0
    assert check_config_is_safe(config, "'m.keras'") is None


def test_a_deep_h5_config_is_refused(tmp_path: Path) -> None:
    path = saved(tmp_path, dense_model(), "model.h5")
    with h5py.File(path, "a") as h5_file:
        h5_file.attrs["model_config"] = "{" * 50_000
    message = refusal(path)
    assert "model configuration" in message


def test_deep_metadata_falls_back_to_inferred_metadata(tmp_path: Path) -> None:
    path = saved(tmp_path, dense_model())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("digitlab.json", "[" * 100_000)  # a second entry of the same name: read last
    loaded = load_model(path)
    assert loaded.metadata.class_names == [str(digit) for digit in range(10)]


# ------------------------------------------------------------------------------------------- memory bombs


def test_a_dense_kernel_of_a_billion_floats_in_a_keras_file_is_refused_before_allocating(tmp_path: Path) -> None:
    def bomb(config: dict) -> None:
        dense = layer_configs(config)[-1]
        dense["config"]["units"] = 1_000_000
        dense["build_config"]["input_shape"] = [None, 1000]

    path = rewrite_config(saved(tmp_path, dense_model()), bomb)
    before = peak_rss_bytes()
    message = refusal(path)
    assert "GB of weights" in message and "before allocating" in message
    assert peak_rss_bytes() - before < 500 * 1024 * 1024


def test_a_bomb_without_recorded_input_widths_is_still_estimated(tmp_path: Path) -> None:
    def chain(config: dict) -> None:
        layers = layer_configs(config)
        dense = layers[-1]
        dense["config"]["units"] = 40_000
        del dense["build_config"]
        layers.insert(1, json.loads(json.dumps(dense)))

    config = json.loads(json.dumps({"class_name": "Functional", "config": {"layers": []}}))
    chain_config = rewrite_config(saved(tmp_path, dense_model()), chain)
    with zipfile.ZipFile(chain_config) as archive:
        config = json.loads(archive.read("config.json"))
    assert estimate_weight_values(config) >= 40_000 * 40_000
    assert "GB of weights" in refusal(chain_config)


def test_an_h5_dataset_declaring_a_billion_floats_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = saved(tmp_path, dense_model(), "model.h5")
    with h5py.File(path, "a") as h5_file:
        h5_file["model_weights"].create_dataset("bomb", shape=(40_000, 25_000), dtype="float32")  # never written
    assert path.stat().st_size < 2_000_000
    before = peak_rss_bytes()
    message = refusal(path)
    assert "4.0 GB of weights" in message
    assert peak_rss_bytes() - before < 500 * 1024 * 1024


def test_a_zip_entry_declaring_gigabytes_is_refused_before_inflating(tmp_path: Path) -> None:
    path = saved(tmp_path, dense_model())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("padding.bin", b"\0" * 1000)
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the last central-directory record: padding.bin
    data[central + 24 : central + 28] = struct.pack("<I", 0xF000_0000)  # its uncompressed size: 3.8 GiB
    path.write_bytes(bytes(data))
    message = refusal(path)
    assert "would inflate to 4.0 GB" in message


def test_an_input_of_12000x12000x3_is_refused_before_keras_builds_it(tmp_path: Path) -> None:
    def huge_input(config: dict) -> None:
        layer_configs(config)[0]["config"]["batch_shape"] = [None, 12000, 12000, 3]

    path = rewrite_config(saved(tmp_path, dense_model((28, 28, 3))), huge_input)
    message = refusal(path)
    assert "(None, 12000, 12000, 3)" in message and "512x512x4" in message


def test_a_legitimate_model_is_far_under_the_limits(tmp_path: Path) -> None:
    path = saved(tmp_path, dense_model((28, 28, 1)))
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    assert estimate_weight_values(config) == 28 * 28 * 10 + 10
    assert load_model(path).num_classes == 10


# ---------------------------------------------------------------------------------- models that cannot be fed


@pytest.mark.parametrize(
    ("input_shape", "expected"),
    [
        ((28, 28, 5), "(None, 28, 28, 5); Digit Lab feeds images of 1 (grey) or 3 (colour) channels"),
        ((3,), "(None, 3); 3 features are not a square image"),
        ((2, 2), "(None, 2, 2); an image side under 4 pixels"),
    ],
)
def test_a_model_that_cannot_be_fed_is_refused_naming_its_shape(
    tmp_path: Path, input_shape: tuple, expected: str
) -> None:
    message = refusal(saved(tmp_path, dense_model(input_shape)))
    assert expected in message


@pytest.mark.parametrize("field", ["input_mean", "input_std"])
def test_a_mean_or_std_of_the_wrong_length_is_refused(tmp_path: Path, field: str) -> None:
    path = saved(tmp_path, dense_model((784,)), input_scale="standardize", **{field: [0.5] * 5})
    assert f"its recorded {field.replace('_', ' ')} has 5 values, but the input has 784" in refusal(path)


def test_an_output_of_zero_classes_is_refused(tmp_path: Path) -> None:
    def zero_classes(config: dict) -> None:
        layer_configs(config)[-1]["config"]["units"] = 0

    message = refusal(rewrite_config(saved(tmp_path, dense_model()), zero_classes))
    assert "(None, 0)" in message or "Keras could not load" in message


def test_nan_weights_are_refused(tmp_path: Path) -> None:
    model = dense_model()
    kernel = model.layers[-1].kernel
    kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))
    assert "NaN or infinite values" in refusal(saved(tmp_path, model))


SHAPES = [(784,), (3,), (64,), (None,), (28, 28), (2, 2), (28, 28, 1), (28, 28, 3), (28, 28, 4), (28, 28, 5),
          (1, 28, 28), (3, 32, 32), (5, 5, 5), (None, None, 1), (28, 28, 1, 1), (0, 28, 1)]  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("length", [None, 1, 5, 784, 2352])
def test_feeding_rules_match_what_the_predictor_can_feed(shape: tuple, length: int | None) -> None:
    mean = None if length is None else [0.5] * length
    try:
        adapt_to_input(np.zeros((1, 28, 28), np.float32), shape, mean=mean, std=mean)
        feedable = True
    except ValueError:
        feedable = False
    assert (feeding_problem(shape, mean, mean) is None) == feedable


# ---------------------------------------------------------------------------------------------- messages


def test_long_keras_errors_are_cut_and_logged_whole(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def poison(config: dict) -> None:
        layer_configs(config)[-1]["config"]["activation"] = "x" * 200_000

    path = rewrite_config(saved(tmp_path, dense_model()), poison)
    with caplog.at_level("INFO"):
        message = refusal(path)
    assert message.startswith("Keras could not load 'model.keras'")
    assert len(message) < MAX_SHOWN_CHARACTERS + 100
    assert "x" * 150_000 in caplog.text


def test_shorten_keeps_short_text_and_cuts_long_text() -> None:
    assert shorten("a  short\n message") == "a short message"
    cut = shorten("word " * 1000)
    assert len(cut) < MAX_SHOWN_CHARACTERS + 50 and cut.endswith("(shortened; the full text is in the log)")
