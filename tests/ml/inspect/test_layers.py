"""NetworkTracer: every layer's output for one digit, for every preset, the ensemble, legacy files and 8x8 models."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from ml.assets import bundled_model_path
from ml.inference.model_input import prepare_for_model
from ml.inspect.layers import NetworkTracer
from ml.models.files import LoadedModel, load_model
from ml.models.metadata import ModelMetadata
from ml.models.presets import PRESETS, build_model

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT.parent / "shared" / "fixtures"
LEGACY = ("tutorial_mlp_28x28_tfkeras2.h5", "tutorial_cnn_28x28x1_tfkeras2.h5")


def drawn_digit() -> np.ndarray:
    """A '7'-like drawing: a bar and a vertical stroke, white on black."""
    image = np.zeros((28, 28), np.float32)
    image[6:9, 7:21] = 1.0
    image[9:23, 15:18] = 1.0
    return image


def preset_model(name: str) -> LoadedModel:
    """The preset's untrained model at its default input (transfer presets without downloading weights)."""
    preset = PRESETS[name]
    options = {"backbone_weights": "none"} if "backbone_weights" in preset.factory_options else {}
    model = build_model(name, preset.default_input_shape, 10, **options)
    if preset.representation == "features":
        metadata = ModelMetadata(input_scale="standardize", input_mean=[0.2] * 64, input_std=[0.3] * 64)
    else:
        metadata = ModelMetadata()
    return LoadedModel(model, metadata, None, False)


def check_views(loaded: LoadedModel, views) -> None:
    """The shape of a trace every model shares: input first, logits then softmax last, values matching shapes."""
    assert views[0].kind == "input" and views[0].tower is None
    assert [view.kind for view in views[-2:]] == ["logits", "softmax"] and views[-1].tower is None
    expected = np.asarray(loaded.model(prepare_for_model(drawn_digit()[None], loaded.input_shape, loaded.metadata)))
    np.testing.assert_allclose(views[-1].values, expected[0], atol=1e-5)
    for view in views:
        if view.kind == "dropout":
            assert view.values is None and view.note == "off at inference"
        else:
            assert view.values.dtype == np.float32 and view.values.shape == view.output_shape


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_gives_every_layers_output(name):
    loaded = preset_model(name)
    views = NetworkTracer(loaded).trace(drawn_digit())
    check_views(loaded, views)
    kinds = {view.kind for view in views}
    if name.startswith("mlp"):
        assert "conv" not in kinds and "dense" in kinds  # dense strips only
    else:
        assert {"conv", "pool"} <= kinds
    if name.endswith("transfer"):  # the backbone's own layers, re-traced inside the nested model
        backbone = next(layer for layer in loaded.model.layers if isinstance(layer, keras.Model))
        assert any(view.name == backbone.layers[1].name for view in views)
    softmax = views[-1].values
    assert softmax.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(softmax, np.exp(views[-2].values) / np.exp(views[-2].values).sum(), atol=1e-5)


def test_an_8x8_model_sees_its_own_8x8_standardized_input():
    loaded = preset_model("mlp-digits")
    views = NetworkTracer(loaded).trace(drawn_digit())
    assert views[0].output_shape == (64,)
    np.testing.assert_allclose(views[0].values, prepare_for_model(drawn_digit()[None], (64,), loaded.metadata)[0])


@pytest.mark.parametrize("file", LEGACY)
def test_legacy_keras2_files_give_every_layers_output(file):
    path = FIXTURES / file
    if not path.is_file():
        pytest.skip("../shared/fixtures is not here")
    loaded = load_model(path)
    views = NetworkTracer(loaded).trace(drawn_digit())
    check_views(loaded, views)
    if "cnn" in file:
        assert [view.output_shape for view in views if view.kind == "conv"] == [(26, 26, 32), (24, 24, 64)]
        assert [view.kind for view in views].count("dropout") == 2
    else:
        assert [view.output_shape for view in views if view.kind == "dense"] == [(500,), (250,), (100,)]


@pytest.fixture(scope="module")
def bundled():
    return load_model(bundled_model_path())


def test_the_ensemble_shows_its_three_towers_with_their_own_logits(bundled):
    tracer = NetworkTracer(bundled)
    views = tracer.trace(drawn_digit())
    assert tracer.towers == ["tower 1", "tower 2", "tower 3"]
    towers = [view.tower for view in views]
    assert towers[0] is None and towers[-2:] == [None, None]
    assert towers[1:-2] == sorted(towers[1:-2])  # each tower's layers together, in order
    softmaxes = []
    for tower in tracer.towers:
        mine = [view for view in views if view.tower == tower]
        assert [view.kind for view in mine].count("conv") == 4
        assert [view.kind for view in mine][-2:] == ["logits", "softmax"]
        logits, softmax = mine[-2].values, mine[-1].values
        np.testing.assert_allclose(softmax, np.exp(logits) / np.exp(logits).sum(), atol=2e-7)
        softmaxes.append(softmax)
    np.testing.assert_allclose(views[-1].values, np.mean(softmaxes, axis=0), atol=1e-6)
    convs = [view for view in views if view.kind == "conv"]
    assert all(view.note == "batch norm and ReLU folded in" and view.values.min() >= 0 for view in convs)


def test_unfolded_the_batch_norms_and_activations_are_listed_too(bundled):
    folded = NetworkTracer(bundled).trace(drawn_digit())
    unfolded = NetworkTracer(bundled, fold=False).trace(drawn_digit())
    kinds = [view.kind for view in unfolded]
    assert kinds.count("norm") == 15 and kinds.count("activation") == 15  # 5 per tower: 4 convs and the dense
    first_conv = next(view for view in unfolded if view.kind == "conv")
    assert first_conv.note == "" and first_conv.values.min() < 0  # the raw convolution, before batch norm and ReLU
    np.testing.assert_allclose(unfolded[-1].values, folded[-1].values, atol=1e-6)


def test_a_hand_set_horizontal_stroke_filter_lights_exactly_the_horizontal_strokes():
    inputs = keras.Input((28, 28, 1))
    conv = keras.layers.Conv2D(1, 3, padding="same", activation="relu", name="horizontal")
    x = keras.layers.Flatten()(conv(inputs))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    kernel = np.array([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]], np.float32)
    conv.set_weights([kernel.reshape(3, 3, 1, 1), np.array([-3.0], np.float32)])
    image = np.zeros((28, 28), np.float32)
    image[5, 4:24] = 1.0  # a horizontal stroke
    image[20, 8:16] = 1.0  # another, shorter
    image[9:17, 14] = 1.0  # a vertical stroke
    image[22:27, 3] = 1.0  # another
    views = NetworkTracer(LoadedModel(model, ModelMetadata(), None, False)).trace(image)
    feature_map = next(view for view in views if view.name == "horizontal").values[..., 0]
    horizontal = np.zeros((28, 28), bool)
    horizontal[5, 4:24] = horizontal[20, 8:16] = True
    np.testing.assert_array_equal(feature_map > 0, horizontal)


def test_describe_lists_names_types_and_shapes_without_running(bundled):
    tracer = NetworkTracer(bundled)
    described = tracer.describe()
    views = tracer.trace(drawn_digit())
    assert [(item["name"], item["type"], tuple(item["output_shape"])) for item in described] == [
        (view.name, view.kind, view.output_shape) for view in views
    ]


def test_a_digit_of_the_wrong_size_is_refused(bundled):
    with pytest.raises(ValueError, match="28x28"):
        NetworkTracer(bundled).trace(np.zeros((20, 20), np.float32))


def test_a_nested_model_that_ends_the_network_gives_its_logits_and_softmax():
    inner = keras.Sequential(
        [
            keras.Input((13, 13, 8)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax", name="head"),
        ]
    )
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.MaxPooling2D()(keras.layers.Conv2D(8, 3, activation="relu")(inputs))
    loaded = LoadedModel(keras.Model(inputs, inner(x)), ModelMetadata(), None, False)
    views = NetworkTracer(loaded).trace(drawn_digit())
    check_views(loaded, views)
    assert [(view.name, view.kind) for view in views[-2:]] == [("head", "logits"), ("softmax", "softmax")]
    assert [view.kind for view in views].count("conv") == 2


@pytest.mark.parametrize("softmax", [True, False])
def test_an_unrecognised_head_still_ends_with_logits_and_softmax(monkeypatch, softmax):
    monkeypatch.setattr("ml.inspect.graph.head_operation", lambda model: None)
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax" if softmax else None)(keras.layers.Flatten()(inputs))
    loaded = LoadedModel(keras.Model(inputs, outputs), ModelMetadata(), None, False)
    views = NetworkTracer(loaded).trace(drawn_digit())
    raw = np.asarray(loaded.model(drawn_digit()[None, ..., None]))[0]
    expected = raw if softmax else np.exp(raw) / np.exp(raw).sum()
    np.testing.assert_allclose(views[-1].values, expected, atol=1e-6)
    assert [view.kind for view in views[-2:]] == ["logits", "softmax"]
