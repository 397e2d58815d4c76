"""The bundled model's shipped TFLite conversion: current, checked by SHA-256, seeded into the cache, used as is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

import ml.inference.predictor as predictor_module
import ml.inference.shipped_model as shipped_model
import ml.inference.shipped_tflite as shipped
from ml.assets import bundled_model_path
from ml.data.sources import sha256_of
from ml.inference.predictor import Predictor, tflite_cache_file
from ml.models.files import load_model, save_model
from ml.models.metadata import ModelMetadata


@pytest.fixture(scope="module")
def bundled():
    return load_model(bundled_model_path())


@pytest.fixture
def own_assets(tmp_path, monkeypatch) -> Path:
    """A models folder that counts as Digit Lab's own assets, holding a copy of the bundled model and conversion."""
    folder = tmp_path / "models"
    folder.mkdir()
    model_path = bundled_model_path()
    for source in (model_path, shipped.shipped_tflite_path(model_path)):
        shutil.copy(source, folder / source.name)
    record = shipped.shipped_tflite_path(model_path).with_suffix(".tflite.json")
    shutil.copy(record, folder / record.name)
    monkeypatch.setattr(shipped_model, "asset_path", lambda *parts: tmp_path.joinpath(*parts))
    return folder


def test_the_shipped_conversion_belongs_to_the_bundled_model_as_it_is_now():
    model_path = bundled_model_path()
    record = json.loads(shipped.shipped_tflite_path(model_path).with_suffix(".tflite.json").read_text())
    assert record["source_sha256"] == sha256_of(model_path), "re-run tools/build_bundled_fast_paths.py"
    assert record["max_probability_difference"] <= shipped.BUILD_TOLERANCE and record["agreement"] == 1.0
    assert shipped.checked_shipped_flatbuffer(model_path) == shipped.shipped_tflite_path(model_path).read_bytes()


def test_the_bundled_model_starts_on_tflite_without_converting(bundled, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    assert shipped.seed_tflite_cache(bundled, cache) is True
    assert shipped.seed_tflite_cache(bundled, cache) is False  # already there: nothing rewritten

    def no_conversion(*args, **kwargs):
        raise AssertionError("the shipped conversion should have been used")

    monkeypatch.setattr(predictor_module, "convert_to_tflite", no_conversion)
    predictor = Predictor(bundled, tflite_cache=cache)
    assert predictor.backend == "tflite"
    assert predictor.fallback_reasons == {}
    images = np.zeros((3, 28, 28), np.float32)
    images[1, 8:20, 13:15] = 1.0  # a "1"
    batch = predictor.predict_batch(images)
    assert np.allclose([predictor.predict_one(image) for image in images], batch, atol=1e-4)


def test_a_conversion_made_from_another_model_file_is_not_used(bundled, own_assets):
    model_file = own_assets / bundled_model_path().name
    record_file = own_assets / (shipped.shipped_tflite_path(model_file).name + ".json")
    record = json.loads(record_file.read_text())
    record["source_sha256"] = "0" * 64
    record_file.write_text(json.dumps(record))
    assert shipped.checked_shipped_flatbuffer(model_file) is None


def test_a_damaged_conversion_is_not_used(own_assets, tmp_path):
    model_file = own_assets / bundled_model_path().name
    flatbuffer_file = shipped.shipped_tflite_path(model_file)
    data = bytearray(flatbuffer_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flatbuffer_file.write_bytes(bytes(data))
    assert shipped.checked_shipped_flatbuffer(model_file) is None


def test_a_missing_or_broken_record_is_not_trusted(own_assets):
    model_file = own_assets / bundled_model_path().name
    record_file = own_assets / (shipped.shipped_tflite_path(model_file).name + ".json")
    record_file.write_text("{not json")
    assert shipped.checked_shipped_flatbuffer(model_file) is None
    record_file.unlink()
    assert shipped.checked_shipped_flatbuffer(model_file) is None


def test_a_users_file_beside_a_tflite_is_never_seeded(bundled, tmp_path):
    user_folder = tmp_path / "mine"
    user_folder.mkdir()
    model_path = bundled_model_path()
    for source in (model_path, shipped.shipped_tflite_path(model_path)):
        shutil.copy(source, user_folder / source.name)
    shutil.copy(shipped.shipped_tflite_path(model_path).with_suffix(".tflite.json"), user_folder)
    users_model = load_model(user_folder / model_path.name)
    assert shipped.is_shipped_model(users_model.path) is False
    assert shipped.seed_tflite_cache(users_model, tmp_path / "cache") is False
    assert not (tmp_path / "cache").exists()


def test_the_early_fast_path_answers_like_the_predictor_without_keras(bundled, tmp_path):
    fast_path = shipped.shipped_fast_path(bundled_model_path())
    assert fast_path is not None and fast_path.class_names == bundled.metadata.class_names
    assert fast_path.loaded.input_shape == bundled.input_shape and fast_path.loaded.display_name == "digitlab-best"
    images = np.load(bundled_model_path().parents[1] / "data" / "mnist.npz")["x_test"][:24].astype(np.float32) / 255
    expected = Predictor(bundled).predict_batch(images)
    np.testing.assert_allclose(fast_path.predict_batch(images), expected, atol=predictor_module.PROBABILITY_TOLERANCE)
    np.testing.assert_allclose(
        fast_path.predict_one(images[5]), expected[5], atol=predictor_module.PROBABILITY_TOLERANCE
    )
    with pytest.raises(ValueError):
        fast_path.predict_one(images[:2])


def test_no_early_fast_path_for_a_users_file_a_changed_model_or_an_old_record(own_assets, tmp_path):
    model_file = own_assets / bundled_model_path().name
    assert shipped.shipped_fast_path(model_file) is not None  # the copy counts as Digit Lab's own
    record_file = own_assets / (shipped.shipped_tflite_path(model_file).name + ".json")
    record = json.loads(record_file.read_text())
    record_file.write_text(json.dumps({key: value for key, value in record.items() if key != "applies_softmax"}))
    assert shipped.shipped_fast_path(model_file) is None  # a record that does not say whether to apply a softmax
    record_file.write_text(json.dumps({**record, "source_sha256": "0" * 64}))
    assert shipped.shipped_fast_path(model_file) is None  # made from another model file
    user_folder = tmp_path / "mine"
    user_folder.mkdir()
    for source in own_assets.iterdir():
        shutil.copy(source, user_folder / source.name)
    assert shipped.shipped_fast_path(user_folder / model_file.name) is None  # never a user's folder


def small_model() -> keras.Model:
    keras.utils.set_random_seed(3)
    inputs = keras.Input((28, 28, 1))
    features = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    features = keras.layers.Flatten()(keras.layers.MaxPooling2D()(features))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(features))


def test_building_writes_a_checked_conversion_that_seeds_the_cache(own_assets, tmp_path):
    path = save_model(small_model(), own_assets / "small.keras", ModelMetadata())
    loaded = load_model(path)
    images = np.random.default_rng(0).random((20, 28, 28), dtype=np.float32)
    built = shipped.build_shipped_tflite(loaded, images)
    assert built.flatbuffer == own_assets / "small.tflite" and built.images == 20
    assert built.max_difference <= shipped.BUILD_TOLERANCE and built.agreement == 1.0
    record = json.loads(built.record.read_text())
    assert record["source_sha256"] == sha256_of(Path(path))
    assert record["batch_shape"] == [1, 28, 28, 1]
    assert record["applies_softmax"] is False  # the model ends in a softmax: the early fast path applies none
    assert built.flatbuffer.stat().st_mode & 0o044 == 0o044  # readable once installed
    cache = tmp_path / "cache"
    assert shipped.seed_tflite_cache(loaded, cache) is True
    assert tflite_cache_file(loaded, cache).read_bytes() == built.flatbuffer.read_bytes()


def test_building_refuses_a_conversion_that_differs_from_keras(own_assets, monkeypatch):
    path = save_model(small_model(), own_assets / "small.keras", ModelMetadata())
    loaded = load_model(path)
    real_runner = shipped.tflite_runner

    def off_by_a_little(flatbuffer, threads=1):
        run = real_runner(flatbuffer, threads)
        return lambda batch: run(batch) + np.float32(0.01)

    monkeypatch.setattr(shipped, "tflite_runner", off_by_a_little)
    with pytest.raises(ValueError, match="differs from Keras"):
        shipped.build_shipped_tflite(loaded, np.zeros((4, 28, 28), np.float32))
    assert not (own_assets / "small.tflite").exists()
