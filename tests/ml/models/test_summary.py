"""describe_model: layers, output shapes, parameter totals and wiring as plain data, for presets and Sequential."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from ml.models.files import load_model
from ml.models.metadata import ModelMetadata
from ml.models.presets import build_model
from ml.models.summary import ModelDescription, TeachingRow, card_facts, describe_model, format_shape, teaching_rows

ROOT = Path(__file__).resolve().parents[3]
LEGACY_MLP = ROOT / "tests/fixtures/tutorial_mlp_28x28_tfkeras2.h5"


@pytest.mark.parametrize(
    ("preset", "input_shape", "options"),
    [
        ("cnn3x3", (28, 28, 1), {}),
        ("lenet5x5", (28, 28, 1), {}),
        ("best", (28, 28, 1), {}),
        ("mlp-digits", (64,), {}),
        ("vgg", (32, 32, 3), {}),
    ],
)
def test_totals_equal_count_params_and_the_layers_add_up(preset, input_shape, options):
    model = build_model(preset, input_shape, 10, **options)
    description = describe_model(model)
    assert description.total_parameters == model.count_params()
    assert sum(layer.parameters for layer in description.layers) == model.count_params()
    trainable = sum(int(keras.ops.size(weight)) for weight in model.trainable_weights)
    assert description.trainable_parameters == trainable
    assert sum(layer.trainable_parameters for layer in description.layers) == trainable
    assert [layer.name for layer in description.layers if layer.class_name != "InputLayer"] == [
        layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"
    ]
    assert description.layers[-1].output_shapes == ((None, 10),)


def test_output_shapes_and_parameters_follow_the_keras_mnist_cnn():
    description = describe_model(build_model("cnn3x3", (28, 28, 1), 10))
    rows = [(layer.class_name, layer.output_shape_text, layer.parameters) for layer in description.layers]
    assert rows == [
        ("InputLayer", "(None, 28, 28, 1)", 0),
        ("Conv2D", "(None, 26, 26, 32)", 320),
        ("Conv2D", "(None, 24, 24, 64)", 18496),
        ("MaxPooling2D", "(None, 12, 12, 64)", 0),
        ("Dropout", "(None, 12, 12, 64)", 0),
        ("Flatten", "(None, 9216)", 0),
        ("Dense", "(None, 128)", 1179776),
        ("Dropout", "(None, 128)", 0),
        ("Dense", "(None, 10)", 1290),
    ]
    assert description.total_parameters == 1_199_882  # the figure the Keras example prints
    names = [layer.name for layer in description.layers]
    assert all(layer.inbound == (names[index],) for index, layer in enumerate(description.layers[1:]))


def test_the_ensemble_lists_three_towers_feeding_the_average():
    description = describe_model(build_model("best", (28, 28, 1), 10))
    average = description.layer("probabilities")
    assert average.class_name == "Average"
    assert average.inbound == ("tower0_probabilities", "tower1_probabilities", "tower2_probabilities")
    first_convolutions = [layer for layer in description.layers if layer.inbound == ("image",)]
    assert len(first_convolutions) == 3
    batch_norm = next(layer for layer in description.layers if layer.class_name == "BatchNormalization")
    assert batch_norm.non_trainable_parameters == batch_norm.parameters // 2  # moving mean and variance
    assert description.non_trainable_parameters == sum(layer.non_trainable_parameters for layer in description.layers)


def test_a_frozen_backbone_counts_as_non_trainable_and_the_flip_operation_keeps_the_chain():
    model = build_model("vgg16-transfer", (28, 28, 1), 3, backbone_weights="none", freeze_backbone=True)
    description = describe_model(model)
    backbone = description.layer("vgg16")
    assert backbone.class_name == "Functional" and not backbone.trainable
    assert backbone.parameters == 14_714_688 and backbone.trainable_parameters == 0
    assert backbone.output_shapes == ((None, 1, 1, 512),)
    assert description.layer("gray_to_rgb").inbound == ("resize_for_backbone",)  # [x, x, x] listed once
    flip = next(layer for layer in description.layers if layer.name.startswith("flip"))  # "flip_3" after others
    assert flip.inbound == ("imagenet_mean",) and backbone.inbound == (flip.name,)
    assert description.trainable_parameters == 512 * 3 + 3
    assert description.total_parameters == model.count_params()


def test_a_sequential_model_is_described_as_a_chain_from_its_input():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2, name="scores")])
    description = describe_model(model)
    assert [layer.output_shapes for layer in description.layers] == [((None, 4),), ((None, 3),), ((None, 2),)]
    assert description.layers[0].class_name == "InputLayer" and description.layers[0].inbound == ()
    assert description.layers[1].inbound == (description.layers[0].name,)
    assert description.layers[2].inbound == (description.layers[1].name,)
    assert description.total_parameters == 4 * 3 + 3 + 3 * 2 + 2 == model.count_params()


@pytest.mark.skipif(not LEGACY_MLP.is_file(), reason="the legacy tf.keras 2 fixture is not in this checkout")
def test_a_legacy_sequential_file_shows_its_input_row_and_says_it_has_no_card():
    loaded = load_model(LEGACY_MLP)
    description = describe_model(loaded.model, loaded.metadata, loaded.has_metadata)
    first = description.layers[0]
    assert first.class_name == "InputLayer" and first.output_shapes == ((None, 28, 28),)
    assert description.layers[1].inbound == (first.name,)
    assert dict(description.card)["Card"].startswith("none in the file")


def test_the_card_facts_name_preset_dataset_accuracy_date_and_input():
    metadata = ModelMetadata(
        dataset="sklearn-digits",
        preset="mlp-digits",
        test_accuracy=0.98149,
        created="2026-12-03T09:41:52+00:00",
        input_scale="standardize",
        digitlab_version="0.1.0",
        hyperparameters={"fine_tune_from": "/home/me/models/first.keras"},
    )
    facts = dict(card_facts(metadata))
    assert facts["Preset"] == "mlp-digits" and facts["Dataset"] == "scikit-learn digits"
    assert facts["Test accuracy"] == "98.15 %" and facts["Continued from"] == "first.keras"
    assert facts["Created"].startswith("2026-12-0") and len(facts["Created"]) == len("2026-12-03 09:41")
    assert facts["Input"] == "white on black, standardized"
    assert facts["Classes"] == "10: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9" and facts["Saved by"] == "Digit Lab 0.1.0"
    assert dict(card_facts(ModelMetadata(dataset="/data/my digits.npz")))["Dataset"] == "my digits.npz"
    assert "Test accuracy" not in dict(card_facts(ModelMetadata(test_accuracy=float("nan"))))


FIRST_TEACH = {
    "date": "2026-12-05T10:15:00+00:00",
    "samples_per_class": {"0": 4, "1": 4, "7": 5},
    "held_back": 3,
    "samples_before": 0.66667,
    "samples_after": 1.0,
    "test_set": "mnist",
    "test_images": 10000,
    "test_before": 0.997,
    "test_after": 0.9962,
}


def test_the_teaching_record_reads_every_teach_of_the_history_in_words():
    second = {**FIRST_TEACH, "samples_per_class": {"3": 2}, "held_back": 0, "test_set": None, "test_images": 0}
    rows = teaching_rows({"teaching": second, "teaching_history": [FIRST_TEACH, "not a record", second]})
    assert len(rows) == 2
    first = rows[0]
    assert first.date.startswith("2026-12-0") and len(first.date) == len("2026-12-05 10:15")
    assert first.samples == "13 (0: 4, 1: 4, 7: 5)"
    assert first.held_back == "66.7 % → 100.0 % (3 held back)"
    assert first.test_set == "99.70 % → 99.62 % (MNIST, 10,000 images)"
    assert rows[1].held_back == "none held back" and rows[1].test_set == "not measured (no test set fits)"


def test_a_card_with_one_teach_and_no_history_or_a_broken_record_still_reads():
    assert [row.held_back for row in teaching_rows({"teaching": FIRST_TEACH})] == ["66.7 % → 100.0 % (3 held back)"]
    hostile = {"teaching_history": [{"samples_per_class": "x", "samples_before": "1", "held_back": 2, "date": 5}]}
    assert teaching_rows(hostile) == (TeachingRow("–", "–", "– → – (2 held back)", "not measured (no test set fits)"),)
    assert teaching_rows({}) == () and teaching_rows(None) == ()


def test_a_taught_models_description_carries_its_teaching_record():
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    metadata = ModelMetadata(hyperparameters={"teaching": FIRST_TEACH, "teaching_history": [FIRST_TEACH]})
    assert [row.samples for row in describe_model(model, metadata).teaching] == ["13 (0: 4, 1: 4, 7: 5)"]
    assert describe_model(model, ModelMetadata()).teaching == ()


@pytest.mark.parametrize("preset", ["mlp-digits", "mlp-digits-deep"])
def test_the_digits_mlps_carry_their_preset_name(preset):
    assert build_model(preset, (64,), 10).name == preset  # the summary and the title say what the picker says


def test_the_description_is_plain_data():
    description = describe_model(build_model("mlp-digits", (64,), 10))

    def plain(value) -> bool:
        if isinstance(value, tuple):
            return all(plain(item) for item in value)
        if dataclasses.is_dataclass(value):
            return all(plain(getattr(value, field.name)) for field in dataclasses.fields(value))
        return value is None or isinstance(value, str | int | bool)

    assert isinstance(description, ModelDescription) and plain(description)
    assert format_shape((None, 28, 28, 1)) == "(None, 28, 28, 1)"


def test_importing_the_module_does_not_import_keras():
    code = "import sys, ml.models.summary; print('keras' in sys.modules or 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
