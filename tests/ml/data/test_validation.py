"""Bad data sets get clear refusals before training or evaluating: labels, pixels, splits, npz bombs, non-archives."""

from __future__ import annotations

import io
import resource
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.data.datasets import load_dataset, load_mnist
from ml.data.validation import check_labels_fit_model, images_to_unit, labels_to_int
from ml.errors import DatasetError

RNG = np.random.default_rng(3)


def arrays(count: int = 30) -> dict[str, np.ndarray]:
    """Small valid MNIST-layout arrays: uint8 images and labels 0..9."""
    return {
        "x_train": RNG.integers(0, 256, (count, 28, 28), dtype=np.uint8),
        "y_train": np.arange(count) % 10,
        "x_test": RNG.integers(0, 256, (count // 2, 28, 28), dtype=np.uint8),
        "y_test": np.arange(count // 2) % 10,
    }


def npz(tmp_path: Path, **changes) -> Path:
    data = {**arrays(), **changes}
    path = tmp_path / "data.npz"
    np.savez(path, **data)
    return path


def refusal(path: Path) -> str:
    with pytest.raises(DatasetError) as caught:
        load_mnist(path, validation_size=5)
    message = str(caught.value)
    assert "Traceback" not in message and "allow_pickle" not in message
    return message


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (np.full(30, 12), "30 labels lie outside the 10 classes 0..9 (found 12 to 12)"),
        (np.r_[np.arange(29) % 10, -1], "1 labels lie outside the 10 classes 0..9 (found -1 to 9)"),
        (np.r_[np.arange(29) % 10, 200].astype(np.uint8), "found 0 to 200"),
        ((np.arange(30) % 10) + 0.5, "labels must be whole class numbers, but 30 are fractions (such as 0.5)"),
        (np.r_[np.arange(29) % 10, np.nan], "some labels are NaN or infinite"),
        (np.array([str(i % 10) for i in range(30)]), "the labels are text (strings), not class numbers"),
    ],
)
def test_bad_training_labels_are_refused(tmp_path: Path, labels: np.ndarray, expected: str) -> None:
    message = refusal(npz(tmp_path, y_train=labels))
    assert "train split" in message and expected in message


def test_whole_float_labels_are_read_as_classes(tmp_path: Path) -> None:
    dataset = load_mnist(npz(tmp_path, y_train=(np.arange(30) % 10).astype(np.float32)), validation_size=5)
    assert dataset.y_train.dtype == np.int64 and set(dataset.y_train) <= set(range(10))


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        (np.full((15, 28, 28), "7"), "the images are text (strings), not numbers"),
        (np.ones((15, 28, 28), np.complex64), "the images are complex numbers, not numbers"),
        (np.where(np.eye(28)[None] > 0, np.nan, 0.5).repeat(15, 0), "420 pixel values are NaN or infinite"),
        (np.full((15, 28, 28), np.inf, np.float32), "NaN or infinite"),
        (np.full((15, 28, 28), -3.0), "pixel values run from -3 to -3"),
        (np.full((15, 28, 28), 4000, np.int32), "pixel values run from 4000 to 4000"),
        (np.zeros((15, 28, 0), np.uint8), "an image has no pixels"),
    ],
)
def test_bad_test_images_are_refused(tmp_path: Path, images: np.ndarray, expected: str) -> None:
    message = refusal(npz(tmp_path, x_test=images))
    assert "test split" in message and expected in message


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint16])
def test_0_255_images_of_any_number_type_read_like_uint8(tmp_path: Path, dtype) -> None:
    data = arrays()
    np.savez(tmp_path / "bytes.npz", **data)
    np.savez(
        tmp_path / "typed.npz", **{key: value.astype(dtype) if key[0] == "x" else value for key, value in data.items()}
    )
    typed = load_mnist(tmp_path / "typed.npz", validation_size=5)
    plain = load_mnist(tmp_path / "bytes.npz", validation_size=5)
    np.testing.assert_allclose(typed.x_test, plain.x_test, atol=1e-6)
    np.testing.assert_allclose(plain.x_test[..., 0], data["x_test"] / 255.0, atol=1e-6)


def test_float_images_in_0_1_are_kept() -> None:
    images = np.linspace(0, 1, 2 * 28 * 28, dtype=np.float32).reshape(2, 28, 28)
    np.testing.assert_array_equal(images_to_unit(images, "x"), images)


def test_an_empty_test_split_is_refused(tmp_path: Path) -> None:
    message = refusal(npz(tmp_path, x_test=np.zeros((0, 28, 28), np.uint8), y_test=np.zeros(0, np.int64)))
    assert "the test split is empty" in message


def test_a_single_class_training_split_is_refused_for_training_only(tmp_path: Path) -> None:
    path = npz(tmp_path, y_train=np.full(30, 4))
    with pytest.raises(DatasetError, match="training needs examples of at least two classes"):
        load_dataset("mnist", data_file=path, validation_size=5)
    assert len(load_dataset("mnist", data_file=path, validation_size=5, for_training=False).x_test) == 15


def test_labels_beyond_the_models_classes_are_refused_when_evaluating() -> None:
    with pytest.raises(DatasetError, match="test labels go up to 9, but tiny scores only 5 classes"):
        check_labels_fit_model(np.arange(10), 5, "tiny", "mnist")
    check_labels_fit_model(np.arange(5), 5, "tiny", "mnist")
    assert labels_to_int(np.array([1.0, 2.0]), 3, "x").tolist() == [1, 2]


# ------------------------------------------------------------------------------------------ hostile .npz


def npy_header(shape: tuple, dtype: str = "<f4") -> bytes:
    """An .npy version 1.0 header declaring ``shape`` (the data that follows may be anything)."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def test_an_npz_declaring_gigabytes_is_refused_before_loading(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, value in {**arrays(), "x_train": None}.items():
            if value is None:
                continue
            buffer = io.BytesIO()
            np.save(buffer, value)
            archive.writestr(f"{key}.npy", buffer.getvalue())
        archive.writestr("x_train.npy", npy_header((60_000, 28, 28, 400)) + b"\0" * 1000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    message = refusal(path)
    assert "declares 75.3 GB of arrays" in message and "before loading anything" in message
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 < 300 * 1024 * 1024


def test_a_compressed_npz_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    zeros = np.zeros((2600, 1024, 1024), np.uint8)[:1]  # one real MB; the header is rewritten to 2.6 GB below
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, x_train=zeros, y_train=np.zeros(1), x_test=zeros, y_test=np.zeros(1))
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["x_train.npy"] = npy_header((2600, 1024, 1024), "|u1") + b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    assert path.stat().st_size < 2_000_000
    assert "declares 2.7 GB of arrays" in refusal(path)


@pytest.mark.parametrize(
    "content", [b"x_train,y_train\n1,2\n", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'", b"", b"\x80\x04K\x01."]
)
def test_a_file_that_is_not_an_npz_archive_says_so(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "data.npz"
    path.write_bytes(content)
    assert "is not an .npz archive" in refusal(path)


def test_object_arrays_are_refused_without_advice_to_unpickle(tmp_path: Path) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, **{**arrays(), "y_train": np.array([object()] * 30, dtype=object)})
    message = refusal(path)
    assert "holds Python objects in 'y_train'" in message


# --------------------------------------------------------------------------------------------- folders


def test_a_cmyk_jpeg_in_an_image_folder_is_read(tmp_path: Path) -> None:
    for name, shade in (("dark", 30), ("light", 220)):
        (tmp_path / name).mkdir()
        for index in range(4):
            Image.new("L", (20, 20), shade).save(tmp_path / name / f"{index}.png")
    Image.new("CMYK", (20, 20), (0, 0, 0, 255 - 220)).save(tmp_path / "light" / "cmyk.jpg", "JPEG")
    dataset = load_dataset(str(tmp_path), image_size=8, validation_size=0)
    images = np.concatenate([dataset.x_train, dataset.x_test])
    assert len(images) == 9
    assert float(images.max()) == pytest.approx(220 / 255, abs=0.03)


def test_an_empty_class_folder_is_refused_by_name(tmp_path: Path) -> None:
    for name in ("a", "b", "empty"):
        (tmp_path / name).mkdir()
    for name in ("a", "b"):
        for index in range(3):
            Image.new("L", (8, 8), 100).save(tmp_path / name / f"{index}.png")
    with pytest.raises(DatasetError, match="class subfolders with no images: empty"):
        load_dataset(str(tmp_path), image_size=8)
