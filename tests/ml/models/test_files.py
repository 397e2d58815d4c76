"""Model files: atomic saves with metadata, legacy .h5 loading, and refusal of unsafe or unusable files."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import time
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from ml.errors import ModelFileError
from ml.models.classifier import check_classifier, outputs_probabilities
from ml.models.files import (
    METADATA_ENTRY,
    STALE_TEMPORARY_SECONDS,
    LoadedModel,
    load_model,
    remove_stale_temporaries,
    save_model,
)
from ml.models.metadata import ModelMetadata
from tests.blocking import outcome_without_blocking

REPO_ROOT = Path(__file__).parents[3]
MLP_FIXTURE = REPO_ROOT / "tests/fixtures/tutorial_mlp_28x28_tfkeras2.h5"
CNN_FIXTURE = REPO_ROOT.parent / "shared/fixtures/tutorial_cnn_28x28x1_tfkeras2.h5"
MNIST = REPO_ROOT / "assets/data/mnist.npz"


@keras.saving.register_keras_serializable(package="DigitLabTests")
class DoublingLayer(keras.layers.Layer):
    """A custom layer: registered, so Keras itself could rebuild it; Digit Lab must still refuse it."""

    def call(self, inputs):
        return inputs * 2.0


def tiny_classifier(num_classes: int = 10, activation: str | None = "softmax") -> keras.Model:
    """A small conv classifier with BatchNormalization, so saved state beyond weights matters."""
    inputs = keras.Input((28, 28, 1))
    features = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(inputs)
    features = keras.layers.BatchNormalization()(features)
    features = keras.layers.Flatten()(features)
    outputs = keras.layers.Dense(num_classes, activation=activation)(features)
    model = keras.Model(inputs, outputs)
    batch_norm = model.layers[2]
    batch_norm.moving_mean.assign(np.linspace(-0.2, 0.3, 4).astype("float32"))
    batch_norm.moving_variance.assign(np.linspace(0.5, 2.0, 4).astype("float32"))
    return model


def full_metadata() -> ModelMetadata:
    """Metadata with every field set to a non-default value."""
    return ModelMetadata(
        class_names=[f"digit {index}" for index in range(10)],
        input_polarity="black_on_white",
        input_scale="standardize",
        input_mean=[0.1],  # one value for every input value (a per-value list must match the input)
        input_std=[1.5],
        dataset="mnist",
        preset="small_cnn",
        hyperparameters={"epochs": 3, "learning_rate": 0.001, "augment": True},
        test_accuracy=0.987,
        history={"loss": [0.9, 0.4, 0.2], "val_accuracy": [0.9, 0.95, 0.97]},
        created="2025-01-02T03:04:05+00:00",
        digitlab_version="9.9.9",
    )


def random_images(count: int = 8, shape: tuple = (28, 28, 1)) -> np.ndarray:
    return np.random.default_rng(1).random((count, *shape), dtype=np.float32)


def assert_refused(path: Path, *fragments: str) -> str:
    """Loading ``path`` raises ModelFileError whose message contains every fragment."""
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in message
    return message


# ----------------------------------------------------------------------------------------------- saving


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_save_then_load_keeps_predictions_and_every_metadata_field(tmp_path: Path, suffix: str) -> None:
    model = tiny_classifier()
    metadata = full_metadata()
    images = random_images()

    written = save_model(model, tmp_path / f"digits{suffix}", metadata)
    loaded = load_model(written)

    assert written == tmp_path / f"digits{suffix}"
    assert loaded.has_metadata
    assert loaded.metadata == metadata
    assert loaded.path == written
    assert loaded.display_name == "digits"
    assert loaded.num_classes == 10
    assert loaded.input_shape == (28, 28, 1)
    np.testing.assert_allclose(
        loaded.model(images, training=False), model(images, training=False), rtol=1e-6, atol=1e-6
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"digits{suffix}"]


@pytest.mark.parametrize("suffix", [".KERAS", ".H5", ".Hdf5"])
def test_a_model_saved_with_its_suffix_in_capitals_loads_again(tmp_path: Path, suffix: str) -> None:
    model = tiny_classifier()
    images = random_images()
    written = save_model(model, tmp_path / f"DIGITS{suffix}", full_metadata())
    loaded = load_model(written)
    assert loaded.path == written and loaded.metadata == full_metadata()
    np.testing.assert_allclose(loaded.model(images, training=False), model(images, training=False), atol=1e-6)
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"DIGITS{suffix}"]


def test_save_fills_in_creation_time_and_version_without_changing_the_callers_metadata(tmp_path: Path) -> None:
    metadata = ModelMetadata(dataset="mnist")

    loaded = load_model(save_model(tiny_classifier(), tmp_path / "model.keras", metadata))

    assert metadata.created is None and metadata.digitlab_version is None
    assert loaded.metadata.created is not None and loaded.metadata.created.endswith("+00:00")
    assert loaded.metadata.digitlab_version


def test_keras_zip_carries_digitlab_json_and_keras_itself_still_loads_it(tmp_path: Path) -> None:
    path = save_model(tiny_classifier(), tmp_path / "model.keras", full_metadata())

    with zipfile.ZipFile(path) as archive:
        stored = json.loads(archive.read(METADATA_ENTRY))
    plain_keras_model = keras.models.load_model(path, compile=False, safe_mode=True)

    assert stored["preset"] == "small_cnn"
    assert plain_keras_model.output_shape == (None, 10)


def test_h5_carries_metadata_as_a_root_attribute(tmp_path: Path) -> None:
    path = save_model(tiny_classifier(), tmp_path / "model.h5", full_metadata())

    with h5py.File(path, "r") as h5_file:
        stored = json.loads(h5_file.attrs["digitlab_metadata"])

    assert stored["dataset"] == "mnist"


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_crash_inside_keras_save_leaves_old_file_byte_identical_and_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    target = save_model(tiny_classifier(), tmp_path / f"model{suffix}", ModelMetadata())
    original_bytes = target.read_bytes()

    def save_half_then_fail(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(original_bytes[: len(original_bytes) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", save_half_then_fail)
    with pytest.raises(ModelFileError) as caught:
        save_model(tiny_classifier(), target, ModelMetadata())

    assert "No space left on device" in str(caught.value)
    assert "previous file was left unchanged" in str(caught.value)
    assert target.read_bytes() == original_bytes
    assert [path.name for path in tmp_path.iterdir()] == [target.name]


def test_crash_while_adding_metadata_to_the_zip_leaves_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = save_model(tiny_classifier(), tmp_path / "model.keras", ModelMetadata())
    original_bytes = target.read_bytes()
    real_writestr = zipfile.ZipFile.writestr

    def write_half_then_fail(self, name, data, *args, **kwargs):
        real_writestr(self, name, data[: len(data) // 2], *args, **kwargs)
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", write_half_then_fail)
    with pytest.raises(ModelFileError, match="Input/output error"):
        save_model(tiny_classifier(), target, ModelMetadata())

    assert target.read_bytes() == original_bytes
    assert [path.name for path in tmp_path.iterdir()] == [target.name]


def test_keyboard_interrupt_during_save_propagates_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = save_model(tiny_classifier(), tmp_path / "model.keras", ModelMetadata())
    original_bytes = target.read_bytes()

    def interrupted(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"PK partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(tiny_classifier(), target, ModelMetadata())

    assert target.read_bytes() == original_bytes
    assert [path.name for path in tmp_path.iterdir()] == [target.name]


def test_saving_with_an_unsupported_extension_names_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"\.keras, \.h5 and \.hdf5"):
        save_model(tiny_classifier(), tmp_path / "model.pt", ModelMetadata())
    assert list(tmp_path.iterdir()) == []


def test_saving_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        save_model(tiny_classifier(), tmp_path / "absent" / "model.keras", ModelMetadata())


# --------------------------------------------------------------------------------------------- metadata


def test_metadata_json_round_trip_and_tolerant_parsing() -> None:
    metadata = full_metadata()
    assert ModelMetadata.from_json(metadata.to_json()) == metadata

    text = json.dumps(
        {"preset": "mlp", "input_scale": "not-a-scale", "test_accuracy": "high", "from_the_future": [1, 2]}
    )
    parsed = ModelMetadata.from_json(text)

    assert parsed.preset == "mlp"
    assert parsed.input_scale == "0-1"
    assert parsed.test_accuracy is None
    assert parsed.class_names == [str(digit) for digit in range(10)]
    with pytest.raises(ValueError):
        ModelMetadata.from_json("[1, 2, 3]")


def test_plain_keras_file_loads_with_defaults_inferred_from_the_model(tmp_path: Path) -> None:
    path = tmp_path / "tutorial.keras"
    tiny_classifier(num_classes=5).save(path)

    loaded = load_model(path)

    assert not loaded.has_metadata
    assert loaded.metadata.class_names == ["0", "1", "2", "3", "4"]
    assert loaded.metadata.input_scale == "0-1"
    assert loaded.num_classes == 5


def test_a_leading_rescaling_layer_means_the_model_expects_0_to_255(tmp_path: Path) -> None:
    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    path = tmp_path / "rescaling.keras"
    model.save(path)

    assert load_model(path).metadata.input_scale == "0-255"


def test_a_rescaling_layer_after_augmentation_layers_still_means_0_to_255(tmp_path: Path) -> None:
    """The Keras tutorials' ``Sequential([RandomRotation(…), Rescaling(1 / 255), …])`` takes 0-255 pixels: fed [0, 1]
    it sees a black image for every digit (11 % accuracy on MNIST)."""
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.RandomRotation(0.05),
            layers.RandomZoom(0.1),
            layers.Rescaling(1 / 255),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    path = tmp_path / "augmented.keras"
    model.save(path)

    assert load_model(path).metadata.input_scale == "0-255"


def test_a_rescaling_layer_inside_a_nested_preprocessing_model_means_0_to_255(tmp_path: Path) -> None:
    layers = keras.layers
    preprocessing = keras.Sequential([layers.Rescaling(1 / 255)], name="preprocessing")
    inputs = keras.Input((28, 28, 1))
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(preprocessing(inputs)))
    path = tmp_path / "nested_preprocessing.keras"
    keras.Model(inputs, outputs).save(path)

    assert load_model(path).metadata.input_scale == "0-255"


@pytest.mark.parametrize(("pixel_range", "expected"), [(255.0, "0-255"), (1.0, "0-1")])
def test_a_leading_normalization_layer_tells_the_range_it_was_adapted_to(
    tmp_path: Path, pixel_range: float, expected: str
) -> None:
    """``Normalization().adapt(x_train)`` on 0-255 pixels (mean about 33) turned every [0, 1] digit into nearly one
    value: each drawing read as "not a digit"."""
    normalization = keras.layers.Normalization()
    normalization.adapt(np.random.default_rng(0).random((16, 28, 28, 1)).astype(np.float32) * pixel_range)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), normalization, keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    path = tmp_path / "normalized.keras"
    model.save(path)

    assert load_model(path).metadata.input_scale == expected


def test_a_rescaling_layer_after_a_weighted_layer_says_nothing_about_the_input(tmp_path: Path) -> None:
    layers = keras.layers
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), layers.Conv2D(2, 3), layers.Rescaling(1 / 255), layers.Flatten(), layers.Dense(10)]
    )
    path = tmp_path / "late_rescaling.keras"
    model.save(path)

    assert load_model(path).metadata.input_scale == "0-1"


def test_a_regression_model_is_refused_in_one_sentence(tmp_path: Path) -> None:
    """The window showed "Cannot use 'regression.keras': The model is not a classifier…", a capital mid-sentence."""
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(1)])
    path = tmp_path / "regression.keras"
    model.save(path)

    with pytest.raises(ModelFileError) as refusal:
        load_model(path)

    assert str(refusal.value).startswith("Cannot use 'regression.keras': the model is not a classifier: its output")
    assert "(None, 1)" in str(refusal.value)


def test_loaded_model_display_name_falls_back_to_preset() -> None:
    loaded = LoadedModel(tiny_classifier(), ModelMetadata(preset="small_cnn"), None, True)
    assert loaded.display_name == "small_cnn"


# ------------------------------------------------------------------------------------------ legacy .h5


def mnist_sample(count: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    with np.load(MNIST) as data:
        return data["x_test"][:count].astype(np.float32) / 255.0, data["y_test"][:count]


def test_tutorial_mlp_from_tf_keras_2_loads_and_reads_digits() -> None:
    loaded = load_model(MLP_FIXTURE)
    images, labels = mnist_sample()

    accuracy = float(np.mean(np.argmax(loaded.model.predict_on_batch(images), axis=1) == labels))

    assert not loaded.has_metadata
    assert loaded.input_shape == (28, 28)
    assert loaded.metadata.class_names == [str(digit) for digit in range(10)]
    assert outputs_probabilities(loaded.model)
    assert accuracy > 0.9


@pytest.mark.skipif(not CNN_FIXTURE.exists(), reason="shared CNN fixture (14 MB) is not in the repository")
def test_tutorial_cnn_from_tf_keras_2_loads_and_reads_digits() -> None:
    loaded = load_model(CNN_FIXTURE)
    images, labels = mnist_sample()

    accuracy = float(np.mean(np.argmax(loaded.model.predict_on_batch(images[..., None]), axis=1) == labels))

    assert not loaded.has_metadata
    assert loaded.input_shape == (28, 28, 1)
    assert accuracy > 0.9


# ------------------------------------------------------------------------------------------- refusals


def lambda_model() -> keras.Model:
    inputs = keras.Input((28, 28))
    features = keras.layers.Flatten()(inputs)
    features = keras.layers.Lambda(lambda tensor: tensor * 2.0)(features)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(features))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lambda_layer_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"lambda{suffix}"
    lambda_model().save(path)

    assert_refused(path, "contains a Lambda layer", "arbitrary code")


def test_lambda_hidden_inside_a_wrapper_in_a_nested_model_is_refused(tmp_path: Path) -> None:
    inner = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.TimeDistributed(keras.layers.Lambda(lambda row: row + 1.0))]
    )
    inputs = keras.Input((28, 28))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inner(inputs)))
    path = tmp_path / "nested.keras"
    keras.Model(inputs, outputs).save(path)

    assert_refused(path, "contains a Lambda layer")


def test_custom_layer_is_refused_even_when_keras_could_build_it(tmp_path: Path) -> None:
    inputs = keras.Input((28, 28))
    features = DoublingLayer()(keras.layers.Flatten()(inputs))
    path = tmp_path / "custom.keras"
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(features)).save(path)

    assert_refused(path, "custom layer 'DoublingLayer'", "DigitLabTests>DoublingLayer", "does not know")


def test_unknown_class_in_a_tf_keras_2_h5_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "custom_legacy.h5"
    with h5py.File(MLP_FIXTURE, "r") as source, h5py.File(path, "w") as copy:
        for key in source:
            source.copy(key, copy)
        for key, value in source.attrs.items():
            copy.attrs[key] = value
        config = json.loads(source.attrs["model_config"])
        config["config"]["layers"][1]["class_name"] = "MyLayer"
        copy.attrs["model_config"] = json.dumps(config)

    assert_refused(path, "custom layer 'MyLayer'", "does not know")


@pytest.mark.parametrize(
    ("class_name", "expected"),
    [("TFSMLayer", "runs an external TensorFlow SavedModel"), ("TorchModuleWrapper", "unpickles a PyTorch module")],
)
def test_builtin_wrappers_of_foreign_code_are_refused(tmp_path: Path, class_name: str, expected: str) -> None:
    source = tmp_path / "source.keras"
    tiny_classifier().save(source)
    path = tmp_path / f"{class_name}.keras"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as edited:
        for entry in original.namelist():
            data = original.read(entry)
            if entry == "config.json":
                config = json.loads(data)
                config["config"]["layers"][1]["class_name"] = class_name
                data = json.dumps(config).encode()
            edited.writestr(entry, data)

    assert_refused(path, f"contains a {class_name}", expected, "refuses to load it")


def test_truncated_keras_file_is_reported_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "cut.keras"
    save_model(tiny_classifier(), path, ModelMetadata())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])

    assert_refused(path, "is not a valid .keras file (damaged or truncated)")


def test_random_bytes_named_keras_are_reported_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "noise.keras"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())

    assert_refused(path, "is not a valid .keras file (damaged or truncated)")


def test_png_renamed_h5_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "digit.h5"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))

    assert_refused(path, "'digit.h5' is not a model file", "not an HDF5 file")


def test_text_file_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a model\n")

    assert_refused(path, "not a model file Digit Lab can open", ".keras")


def test_hdf5_without_a_model_config_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "weights_only.h5"
    with h5py.File(path, "w") as h5_file:
        h5_file.create_dataset("kernel", data=np.zeros((3, 3)))

    assert_refused(path, "holds no Keras model")


def test_zip_without_keras_config_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "archive.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")

    assert_refused(path, "not a Keras model")


def test_missing_file_is_reported(tmp_path: Path) -> None:
    assert_refused(tmp_path / "absent.keras", "There is no model file")


def test_saved_model_folder_gets_conversion_advice(tmp_path: Path) -> None:
    folder = tmp_path / "exported"
    tiny_classifier().export(str(folder), verbose=False)

    assert_refused(folder, "TensorFlow SavedModel folder", "model.save('model.keras')")
    assert_refused(folder / "saved_model.pb", "TensorFlow SavedModel folder")


def test_regression_head_is_not_a_classifier(tmp_path: Path) -> None:
    path = tmp_path / "regression.keras"
    keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(1)]).save(path)

    assert_refused(path, "not a classifier", "(None, 1)")


def test_image_output_is_not_a_classifier(tmp_path: Path) -> None:
    path = tmp_path / "segmenter.keras"
    keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(3, 3, padding="same")]).save(path)

    assert_refused(path, "not a classifier", "(None, 28, 28, 3)")


def test_check_classifier_refuses_several_outputs() -> None:
    inputs = keras.Input((4,))
    model = keras.Model(inputs, [keras.layers.Dense(3)(inputs), keras.layers.Dense(2)(inputs)])

    with pytest.raises(ModelFileError, match="2 outputs"):
        check_classifier(model)
    assert check_classifier(tiny_classifier(num_classes=7)) == 7


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (lambda: [keras.layers.Dense(10, activation="softmax")], True),
        (lambda: [keras.layers.Dense(10), keras.layers.Softmax()], True),
        (lambda: [keras.layers.Dense(10), keras.layers.Activation("softmax")], True),
        (lambda: [keras.layers.Dense(10)], False),
        (lambda: [keras.layers.Dense(10, activation="relu")], False),
    ],
)
def test_outputs_probabilities_recognises_softmax_heads(head, expected: bool) -> None:
    model = keras.Sequential([keras.Input((8,)), *head()])
    assert outputs_probabilities(model) is expected


def test_outputs_probabilities_looks_inside_a_nested_model() -> None:
    inner = keras.Sequential([keras.Input((8,)), keras.layers.Dense(10, activation="softmax")])
    inputs = keras.Input((8,))
    assert outputs_probabilities(keras.Model(inputs, inner(inputs)))


def test_outputs_probabilities_accepts_an_average_of_softmax_branches_only() -> None:
    inputs = keras.Input((8,))
    softmax_a = keras.layers.Dense(10, activation="softmax")(inputs)
    softmax_b = keras.layers.Dense(10, activation="softmax")(inputs)
    logits = keras.layers.Dense(10)(inputs)
    assert outputs_probabilities(keras.Model(inputs, keras.layers.Average()([softmax_a, softmax_b])))
    assert not outputs_probabilities(keras.Model(inputs, keras.layers.Average()([softmax_a, logits])))


def test_metadata_with_wrong_class_count_falls_back_to_inferred_names(tmp_path: Path) -> None:
    metadata = dataclasses.replace(full_metadata(), class_names=["a", "b"])
    loaded = load_model(save_model(tiny_classifier(num_classes=3), tmp_path / "three.keras", metadata))

    assert loaded.metadata.class_names == ["0", "1", "2"]
    assert loaded.metadata.preset == "small_cnn"


# ------------------------------------------------------------------------------------- hostile paths


def test_a_named_pipe_as_model_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    os.mkfifo(path)
    raised = outcome_without_blocking(load_model, path, timeout=10)
    assert isinstance(raised, ModelFileError)
    assert "'model.keras' is not a regular file (a named pipe)" in str(raised)


def test_a_character_device_as_model_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "model.h5"
    link.symlink_to("/dev/zero")
    assert_refused(link, "not a regular file (a character device)")


def test_saving_removes_stale_temporaries_of_its_own_naming_only(tmp_path: Path) -> None:
    old = time.time() - 2 * STALE_TEMPORARY_SECONDS
    stale = [tmp_path / ".existing.gou5qvf8.keras", tmp_path / ".other.ab_c1234.h5"]
    kept = [
        tmp_path / ".hidden-notes",  # an unrelated dotfile
        tmp_path / ".existing.partial.keras",  # another program's temporary (not 8 characters)
        tmp_path / "existing.gou5qvf8.keras",  # not hidden: a user's own file
        tmp_path / ".existing.GOU5QVF8.keras",  # mkstemp never uses capitals
    ]
    for path in stale + kept:
        path.write_bytes(b"")
        os.utime(path, (old, old))
    in_progress = tmp_path / ".existing.zzzz9999.keras"  # a concurrent save writing right now
    in_progress.write_bytes(b"PK")
    save_model(tiny_classifier(), tmp_path / "existing.keras", full_metadata())
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept) and in_progress.exists()
    assert load_model(tmp_path / "existing.keras").metadata.preset == full_metadata().preset


def test_removing_stale_temporaries_reports_them_and_leaves_folders_alone(tmp_path: Path) -> None:
    folder_like = tmp_path / ".model.abcdefgh.keras"
    folder_like.mkdir()
    stale = tmp_path / ".model.12345678.keras"
    stale.write_bytes(b"")
    assert remove_stale_temporaries(tmp_path, older_than=0) == [stale]
    assert folder_like.is_dir()
    assert remove_stale_temporaries(tmp_path / "missing", older_than=0) == []


def test_a_folder_is_refused_with_the_choices_joined_by_or(tmp_path):
    folder = tmp_path / "my-models"
    folder.mkdir()
    with pytest.raises(ModelFileError) as caught:
        load_model(folder)
    assert str(caught.value) == "'my-models' is a folder, not a model file: choose a .keras, .h5 or .hdf5 file."
