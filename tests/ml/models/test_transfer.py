"""Transfer learning: input handling inside the model, offline ImageNet weights and both ways out, freezing."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data.datasets import Dataset
from ml.errors import TrainingError
from ml.models.transfer import BACKBONES, build_transfer_model, scale_for_backbone
from ml.training.config import TrainConfig
from ml.training.fit import fit


@pytest.fixture
def offline(monkeypatch):
    """Every keras download fails, as on a machine without a network (and no weights are fetched in CI)."""
    from keras.src.utils import file_utils

    def no_network(fname=None, origin=None, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(file_utils, "get_file", no_network)


def backbone_of(model):
    """The keras.applications sub-model inside a transfer model."""
    import keras

    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def test_offline_imagenet_weights_give_both_ways_out(offline):
    with pytest.raises(TrainingError) as raised:
        build_transfer_model("mobilenetv2", (28, 28, 1), 3)
    message = str(raised.value)
    assert "ImageNet weights for MobileNetV2" in message and "no network" in message
    assert "--backbone-weights FILE" in message and "--backbone-weights none" in message
    assert BACKBONES["mobilenetv2"].notop_weights_file in message


def test_fit_reports_the_offline_message_for_a_transfer_preset(offline):
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 28, 28, 1), dtype=np.float32), np.arange(8) % 2
    dataset = Dataset("tiny", x, y, x[:2], y[:2], x[:2], y[:2], ["a", "b"])
    with pytest.raises(TrainingError, match="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        fit(TrainConfig(preset="vgg16-transfer", epochs=1), dataset=dataset)


def test_training_from_scratch_works_offline(offline):
    rng = np.random.default_rng(1)
    x = rng.random((24, 20, 20, 3), dtype=np.float32)
    y = np.arange(24) % 3
    dataset = Dataset("tiny", x, y, x[:6], y[:6], x[:6], y[:6], ["a", "b", "c"])
    config = TrainConfig(preset="vgg16-transfer", epochs=1, batch_size=12, backbone_weights="none")
    result = fit(config, dataset=dataset)
    assert result.model.output_shape == (None, 3) and np.isfinite(result.history["loss"][0])
    assert backbone_of(result.model).trainable  # random weights: the backbone learns unless asked to freeze
    assert result.model.get_layer("resize_for_backbone").output.shape[1:3] == (32, 32)  # minimum size 32


def test_a_local_weights_file_is_loaded_and_frozen_by_default(tmp_path, offline):
    import keras

    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    weights_file = tmp_path / "mobilenetv2_notop.weights.h5"
    source.save_weights(weights_file)
    model = build_transfer_model("mobilenetv2", (28, 28, 1), 4, backbone_weights=str(weights_file))
    backbone = backbone_of(model)
    for loaded, saved in zip(backbone.get_weights(), source.get_weights(), strict=True):
        assert np.array_equal(loaded, saved)
    assert not backbone.trainable
    assert len(model.trainable_weights) == 2  # only the new head's kernel and bias
    unfrozen = build_transfer_model(
        "mobilenetv2", (28, 28, 1), 4, backbone_weights=str(weights_file), freeze_backbone=False
    )
    assert backbone_of(unfrozen).trainable and len(unfrozen.trainable_weights) > 100


def test_a_missing_or_wrong_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(TrainingError, match="does not exist"):
        build_transfer_model("mobilenetv2", (32, 32, 3), 2, backbone_weights=str(tmp_path / "missing.h5"))
    wrong = tmp_path / "wrong.weights.h5"
    import keras

    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save_weights(wrong)
    with pytest.raises(TrainingError, match="notop"):
        build_transfer_model("mobilenetv2", (32, 32, 3), 2, backbone_weights=str(wrong))


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_inputs_are_scaled_as_the_backbone_expects(name):
    import keras

    reference = {
        "vgg16": keras.applications.vgg16.preprocess_input,
        "mobilenetv2": keras.applications.mobilenet_v2.preprocess_input,
    }[name]
    inputs = keras.Input((5, 5, 3))
    scaler = keras.Model(inputs, scale_for_backbone(inputs, BACKBONES[name]))
    images = np.random.default_rng(2).random((2, 5, 5, 3), dtype=np.float32)
    expected = reference(images * 255.0)
    assert np.allclose(scaler.predict(images, verbose=0), expected, atol=1e-3)


def test_a_grayscale_transfer_model_saves_and_loads_safely(tmp_path):
    from ml.models.files import load_model, save_model
    from ml.models.metadata import ModelMetadata

    model = build_transfer_model("mobilenetv2", (28, 28, 1), 3, backbone_weights="none")
    path = save_model(model, tmp_path / "transfer.keras", ModelMetadata(class_names=["a", "b", "c"]))
    loaded = load_model(path)
    images = np.random.default_rng(3).random((2, 28, 28, 1), dtype=np.float32)
    assert loaded.input_shape == (28, 28, 1) and loaded.metadata.class_names == ["a", "b", "c"]
    assert np.allclose(loaded.model.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-5)
