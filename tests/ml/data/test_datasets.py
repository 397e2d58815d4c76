"""Dataset loaders: MNIST, Fashion-MNIST (download, offline message, IDX folder), sklearn digits, image folders."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.assets import bundled_mnist_path
from ml.data.datasets import (
    FASHION_MNIST_CLASS_NAMES,
    FEWEST_FOLDER_IMAGES,
    FOLDER_TEST_FRACTION,
    Dataset,
    held_out_count,
    load_dataset,
    load_mnist,
    standardize_features,
)
from ml.data.sources import IDX_FILE_NAMES, expected_sha256, sha256_of
from ml.data.streaming import open_image_folder
from ml.errors import DatasetError
from tests.blocking import outcome_without_blocking
from tests.hostile_images import write_postscript

CLASS_SHADES = {"circle": 40, "cross": 140, "square": 230}  # each class has its own brightness


def write_idx(path: Path, array: np.ndarray) -> None:
    """An unsigned-byte IDX file, gzip-compressed, as the official MNIST / Fashion-MNIST files are."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def write_image_folder(root: Path, per_class: int = 8) -> Path:
    """Three class folders of PNGs: grayscale and RGB files, of different sizes, one brightness per class."""
    for index, (name, shade) in enumerate(CLASS_SHADES.items()):
        (root / name).mkdir(parents=True)
        for number in range(per_class):
            size = 20 + 6 * (number % 3)
            if (number + index) % 2:
                picture = Image.new("RGB", (size, size), (shade, shade, shade))
            else:
                picture = Image.new("L", (size + 4, size), shade)
            picture.save(root / name / f"{number}.png")
    return root


def test_mnist_has_the_usual_splits():
    dataset = load_dataset("mnist")
    assert (len(dataset.x_train), len(dataset.x_val), len(dataset.x_test)) == (55000, 5000, 10000)
    assert dataset.input_shape == (28, 28, 1) and dataset.x_train.dtype == np.float32
    assert 0.0 <= dataset.x_train.min() and dataset.x_train.max() <= 1.0
    assert dataset.class_names == [str(digit) for digit in range(10)]


def test_mnist_file_can_be_resized_and_given_three_channels(tmp_path):
    rng = np.random.default_rng(2)
    small = tmp_path / "mnist-small.npz"
    np.savez(
        small,
        x_train=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        y_train=np.arange(30) % 10,
        x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        y_test=np.arange(10),
    )
    dataset = load_dataset("mnist", data_file=small, validation_size=10, image_size=32, color_mode="rgb")
    assert dataset.input_shape == (32, 32, 3) and (len(dataset.x_train), len(dataset.x_val)) == (20, 10)
    assert np.array_equal(dataset.x_train[..., 0], dataset.x_train[..., 2])
    assert 0.0 <= dataset.x_test.min() and dataset.x_test.max() <= 1.0


def test_fashion_mnist_offline_says_how_to_supply_the_files(monkeypatch):
    import keras

    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: Name or service not known")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(DatasetError) as raised:
        load_dataset("fashion-mnist")
    message = str(raised.value)
    assert "Fashion-MNIST" in message and "no network" in message
    assert "--data" in message and ".npz" in message
    assert all(name in message for name in IDX_FILE_NAMES.values())


def test_fashion_mnist_uses_the_keras_download_when_there_is_one(monkeypatch):
    import keras

    rng = np.random.default_rng(0)
    train = (rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), rng.integers(0, 10, 30, dtype=np.uint8))
    test = (rng.integers(0, 256, (7, 28, 28), dtype=np.uint8), rng.integers(0, 10, 7, dtype=np.uint8))
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", lambda: (train, test))
    dataset = load_dataset("fashion-mnist", validation_size=5)
    assert (len(dataset.x_train), len(dataset.x_val), len(dataset.x_test)) == (25, 5, 7)
    assert dataset.class_names == FASHION_MNIST_CLASS_NAMES


def test_fashion_mnist_reads_an_idx_folder_with_its_class_names(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {
        "x_train": rng.integers(0, 256, (40, 28, 28)),
        "y_train": np.arange(40) % 10,
        "x_test": rng.integers(0, 256, (12, 28, 28)),
        "y_test": np.arange(12) % 10,
    }
    for key, name in IDX_FILE_NAMES.items():
        write_idx(tmp_path / name, arrays[key])
    dataset = load_dataset("fashion-mnist", data_file=tmp_path, validation_size=8)
    assert dataset.class_names[0] == "T-shirt/top" and dataset.class_names[9] == "Ankle boot"
    assert dataset.num_classes == 10
    assert (len(dataset.x_train), len(dataset.x_val)) == (32, 8)
    assert np.array_equal(dataset.y_test, arrays["y_test"])
    assert np.allclose(dataset.x_test[..., 0], arrays["x_test"] / 255.0)


def test_fashion_mnist_idx_folder_missing_a_file_is_named(tmp_path):
    write_idx(tmp_path / IDX_FILE_NAMES["x_train"], np.zeros((2, 28, 28)))
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz"):
        load_dataset("fashion-mnist", data_file=tmp_path)


def test_sklearn_digits_uses_the_tutorials_70_30_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    dataset = load_dataset("sklearn-digits", seed=7)
    digits = load_digits()
    _, _, y_train, y_test = train_test_split(digits.data, digits.target, test_size=0.3, random_state=7)
    assert len(dataset.x_test) == 540 and np.array_equal(dataset.y_test, y_test)
    assert len(dataset.x_train) + len(dataset.x_val) == 1257 == len(y_train)
    assert len(dataset.x_val) == round(0.1 * 1257)


def test_sklearn_digits_images_are_mnist_like_28x28():
    dataset = load_dataset("sklearn-digits")
    assert dataset.input_shape == (28, 28, 1) and dataset.input_scale == "0-1"
    assert 0.0 <= dataset.x_train.min() and dataset.x_train.max() <= 1.0 and dataset.x_train.max() > 0.9
    margin = np.concatenate([dataset.x_train[:, :4], dataset.x_train[:, -4:]], axis=1)
    assert margin.max() == 0.0  # the 8x8 glyph fills a centred 20x20 box, like MNIST's


def test_sklearn_digits_features_are_standardized_on_the_training_split():
    from sklearn.datasets import load_digits

    dataset = load_dataset("sklearn-digits", representation="features", seed=3)
    assert dataset.input_shape == (64,) and dataset.input_scale == "standardize"
    assert len(dataset.input_mean) == 64 and len(dataset.input_std) == 64
    spread = dataset.x_train.std(axis=0)
    assert np.allclose(dataset.x_train.mean(axis=0), 0.0, atol=1e-5)
    assert np.allclose(spread[spread > 0], 1.0, atol=1e-4) and (spread > 0).sum() >= 60
    assert abs(dataset.x_test.mean()) < 0.1  # the test split is scaled with the training statistics
    # The recorded statistics turn a raw digit in [0, 1] into exactly the features the model sees.
    raw = load_digits().images.reshape(-1, 64) / 16.0
    mean, std = np.asarray(dataset.input_mean), np.asarray(dataset.input_std)
    standardized = (raw - mean) / std
    assert any(np.allclose(standardized[index], dataset.x_test[0], atol=1e-5) for index in range(len(raw)))


def test_features_can_reuse_an_earlier_standardization():
    first = load_dataset("sklearn-digits", representation="features", seed=0)
    again = load_dataset(
        "sklearn-digits",
        representation="features",
        seed=5,
        standardization=(first.input_mean, first.input_std),
    )
    assert again.input_mean == first.input_mean and again.input_std == first.input_std


def test_image_folder_grayscale_has_class_names_splits_and_labels(tmp_path):
    folder = write_image_folder(tmp_path / "shapes", per_class=20)
    dataset = load_dataset(str(folder), image_size=16, color_mode="grayscale", validation_size=0.2, seed=0)
    assert dataset.class_names == ["circle", "cross", "square"]
    assert dataset.input_shape == (16, 16, 1)
    total = len(dataset.x_train) + len(dataset.x_val) + len(dataset.x_test)
    assert total == 60 and len(dataset.x_test) == round(FOLDER_TEST_FRACTION * 60)
    assert len(dataset.x_val) == round(0.2 * (60 - len(dataset.x_test)))
    shades = np.asarray(list(CLASS_SHADES.values())) / 255.0
    for images, labels in ((dataset.x_train, dataset.y_train), (dataset.x_test, dataset.y_test)):
        assert np.allclose(images.mean(axis=(1, 2, 3)), shades[labels], atol=0.01)


def test_image_folder_rgb_and_the_test_split_does_not_follow_the_seed(tmp_path):
    folder = write_image_folder(tmp_path / "shapes", per_class=10)
    first = load_dataset(str(folder), image_size=24, color_mode="rgb", seed=0)
    second = load_dataset(str(folder), image_size=24, color_mode="rgb", seed=1)
    assert first.input_shape == (24, 24, 3)
    assert np.array_equal(first.x_test, second.x_test) and np.array_equal(first.y_test, second.y_test)
    assert not np.array_equal(first.y_train, second.y_train)


def test_image_folder_features_are_flattened_and_standardized(tmp_path):
    folder = write_image_folder(tmp_path / "shapes")
    dataset = load_dataset(str(folder), image_size=8, representation="features")
    assert dataset.input_shape == (64,) and dataset.input_scale == "standardize"


def test_features_of_an_empty_validation_split_keep_the_feature_count():
    images = np.random.default_rng(0).random((6, 4, 4, 1)).astype(np.float32)
    labels = np.arange(6) % 2
    dataset = Dataset("tiny", images, labels, images[:0], labels[:0], images[:2], labels[:2], ["a", "b"])
    features = standardize_features(dataset)
    assert features.x_train.shape == (6, 16) and features.x_val.shape == (0, 16) and features.x_test.shape == (2, 16)


@pytest.mark.parametrize("read", ["whole, as features", "streamed"])
def test_a_folder_too_small_to_hold_out_a_test_image_is_refused_saying_how_many_images_it_needs(tmp_path, read):
    for name, count in (("a", 2), ("b", 1)):
        (tmp_path / "tiny" / name).mkdir(parents=True)
        for number in range(count):
            Image.new("L", (10, 10), 40 * number).save(tmp_path / "tiny" / name / f"{number}.png")
    folder = tmp_path / "tiny"
    with pytest.raises(DatasetError) as refused:
        if read == "streamed":
            open_image_folder(folder)
        else:
            load_dataset(str(folder), image_size=8, representation="features")
    assert str(refused.value) == (
        f"The image folder {folder} holds 3 images, too few to train on: 15 % of a folder's images are held out to "
        "test on, so it needs at least 4 images in all (2 per class)."
    )


def test_the_fewest_folder_images_are_the_fewest_that_give_a_test_image():
    assert held_out_count(FEWEST_FOLDER_IMAGES - 1, FOLDER_TEST_FRACTION) == 0
    assert held_out_count(FEWEST_FOLDER_IMAGES, FOLDER_TEST_FRACTION) == 1


def test_image_folder_needs_two_classes(tmp_path):
    (tmp_path / "only").mkdir()
    Image.new("L", (10, 10)).save(tmp_path / "only" / "a.png")
    with pytest.raises(DatasetError, match="at least two classes"):
        load_dataset(str(tmp_path))


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(DatasetError, match="fashion-mnist, sklearn-digits"):
        load_dataset("cifar-100")


def test_bundled_mnist_matches_its_recorded_hash():
    archive = bundled_mnist_path()
    assert sha256_of(archive) == expected_sha256(archive)


def test_a_modified_mnist_file_is_refused_with_a_clear_message(tmp_path):
    copy = tmp_path / "mnist.npz"
    data = bytearray(bundled_mnist_path().read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the archive
    copy.write_bytes(bytes(data))
    (tmp_path / "mnist.npz.sha256").write_text((bundled_mnist_path().parent / "mnist.npz.sha256").read_text())
    with pytest.raises(DatasetError, match="corrupted or was modified") as refused:
        load_mnist(copy)
    assert str(copy) in str(refused.value) and "SHA-256" in str(refused.value)


def test_a_file_without_a_recorded_hash_loads_when_it_is_mnist_shaped(tmp_path):
    with np.load(bundled_mnist_path()) as archive:
        small = {key: archive[key][:50] for key in ("x_train", "y_train", "x_test", "y_test")}
    np.savez(tmp_path / "small.npz", **small)
    dataset = load_mnist(tmp_path / "small.npz", validation_size=10)
    assert (len(dataset.x_train), len(dataset.x_val), len(dataset.x_test)) == (40, 10, 50)


# ------------------------------------------------------------------------------------- hostile files


def load_without_blocking(function, *args, **kwargs):
    """What ``function`` raised (or None); fails the test if it blocks."""
    raised = outcome_without_blocking(function, *args, **kwargs)
    return raised if isinstance(raised, BaseException) else None


def test_image_folder_with_postscript_named_png_is_refused_naming_the_file(tmp_path, no_image_programs):
    folder = write_image_folder(tmp_path / "shapes")
    marker = tmp_path / "marker"
    write_postscript(folder / "cross" / "evil.png", marker)
    with pytest.raises(DatasetError) as refused:
        load_dataset(str(folder), image_size=16)
    message = str(refused.value)
    assert "1 of the 25 image files" in message and "cross/evil.png (it is PostScript (EPS)" in message
    assert not marker.exists()


def test_image_folder_with_a_named_pipe_is_refused_without_blocking(tmp_path):
    folder = write_image_folder(tmp_path / "shapes")
    os.mkfifo(folder / "circle" / "pipe.png")
    error = load_without_blocking(load_dataset, str(folder), image_size=16)
    assert isinstance(error, DatasetError) and "circle/pipe.png (it is not a regular file (a named pipe)" in str(error)


def test_image_folder_reads_every_allowed_format_and_skips_other_files(tmp_path):
    folder = tmp_path / "formats"
    for name, shade in (("dark", 30), ("light", 220)):
        (folder / name).mkdir(parents=True)
        for suffix, image_format in ((".tif", "TIFF"), (".webp", "WEBP"), (".pgm", "PPM"), (".bmp", "BMP")):
            Image.new("L", (20, 20), shade).save(folder / name / f"image{suffix}", image_format)
        (folder / name / "notes.txt").write_text("not an image")
        (folder / name / "._image.png").write_bytes(b"\x00\x05\x16\x07")  # macOS metadata beside a copied file
    dataset = load_dataset(str(folder), image_size=8, validation_size=0)
    images = np.concatenate([dataset.x_train, dataset.x_test])
    labels = np.concatenate([dataset.y_train, dataset.y_test])
    assert len(images) == 8
    assert np.allclose(images.mean(axis=(1, 2, 3)), np.where(labels == 0, 30, 220) / 255.0, atol=0.01)


@pytest.mark.parametrize("name", ["mnist.npz", "train-images-idx3-ubyte.gz"])
def test_a_named_pipe_as_data_file_is_refused_without_blocking(tmp_path, name):
    if name.endswith(".gz"):
        for other in IDX_FILE_NAMES.values():
            write_idx(tmp_path / other, np.zeros((2, 28, 28) if "images" in other else (2,), np.uint8))
        (tmp_path / name).unlink()
    os.mkfifo(tmp_path / name)
    error = load_without_blocking(load_mnist, tmp_path / name)
    assert isinstance(error, DatasetError)
    assert f"{tmp_path / name} is not a regular file (a named pipe)" in str(error)
