"""Which sets fit a model, loading them, mapping their labels onto the model's classes, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ml.errors import DatasetError
from ml.evaluation.sets import evaluation_sets, load_evaluation_set, load_validation_set
from ml.models.files import LoadedModel
from ml.models.metadata import ModelMetadata


class FakeModel:
    """The little of a Keras model the sets read: its input and output shapes."""

    def __init__(self, input_shape, classes):
        self.inputs = [type("T", (), {"shape": (None, *input_shape)})()]
        self.outputs = [type("T", (), {"shape": (None, classes)})()]
        self.name = "fake"


def fake(input_shape=(28, 28, 1), class_names=None, has_metadata=True, **card):
    names = class_names or [str(i) for i in range(10)]
    return LoadedModel(FakeModel(input_shape, len(names)), ModelMetadata(class_names=names, **card), None, has_metadata)


def write_folder(root, classes: dict[str, int], size=20):
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for index in range(count):
            pixels = np.zeros((size, size), np.uint8)
            pixels[4:16, 8 + index % 4 : 11 + index % 4] = 255
            Image.fromarray(pixels).save(root / name / f"{index}.png")
    return root


def test_sets_that_fit_digit_and_fashion_models():
    assert evaluation_sets(fake()) == ["mnist-test", "digits-test", "folder"]
    assert evaluation_sets(fake(input_shape=(64,))) == ["mnist-test", "digits-test", "folder"]
    fashion = fake(class_names=["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                "Sneaker", "Bag", "Ankle boot"])  # fmt: skip
    assert "mnist-test" not in evaluation_sets(fashion) and evaluation_sets(fashion)[-1] == "folder"
    assert evaluation_sets(fake(class_names=["cat", "dog"])) == ["folder"]


def test_mnist_test_loads_as_displayable_images():
    eval_set = load_evaluation_set("mnist", fake())
    assert eval_set.name == "mnist-test" and "10,000" in eval_set.title
    assert eval_set.images.shape == (10000, 28, 28) and eval_set.images.dtype == np.float32
    assert 0.0 <= eval_set.images.min() and eval_set.images.max() <= 1.0
    assert eval_set.labels.dtype == np.int64 and set(np.unique(eval_set.labels)) == set(range(10))


def test_digits_test_is_8x8_for_an_8x8_model_and_28x28_otherwise():
    small = load_evaluation_set("digits-test", fake(input_shape=(64,)))
    assert small.images.shape[1:] == (8, 8) and len(small) == 540
    large = load_evaluation_set("sklearn-digits", fake())
    assert large.images.shape[1:] == (28, 28)
    np.testing.assert_array_equal(small.labels, large.labels)


def test_a_fashion_set_does_not_fit_a_digit_model(tmp_path):
    with np.load("assets/data/mnist.npz") as archive:
        arrays = {key: archive[key][:50] for key in ("x_train", "y_train", "x_test", "y_test")}
    np.savez(tmp_path / "fashion.npz", **arrays)
    with pytest.raises(DatasetError, match="labels outside fake's classes: T-shirt/top"):
        load_evaluation_set("fashion-mnist", fake(), data_file=tmp_path / "fashion.npz")


def test_a_folder_maps_its_class_names_onto_the_models_classes(tmp_path):
    folder = write_folder(tmp_path / "digits", {"3": 2, "7": 3})
    eval_set = load_evaluation_set(str(folder), fake())
    assert eval_set.name == "folder" and len(eval_set) == 5
    assert sorted(eval_set.labels.tolist()) == [3, 3, 7, 7, 7]  # the model's indices, not the folder's 0 and 1
    assert eval_set.images.shape == (5, 28, 28)
    colour = load_evaluation_set("folder", fake(input_shape=(32, 32, 3)), folder=folder)
    assert colour.color_images.shape == (5, 32, 32, 3) and colour.images.shape == (5, 32, 32)


def test_bad_folders_are_refused_clearly(tmp_path):
    (tmp_path / "empty" / "3").mkdir(parents=True)
    with pytest.raises(DatasetError, match="holds no images"):
        load_evaluation_set("folder", fake(), folder=tmp_path / "empty")
    (tmp_path / "bare").mkdir()
    with pytest.raises(DatasetError, match="no class subfolders"):
        load_evaluation_set("folder", fake(), folder=tmp_path / "bare")
    folder = write_folder(tmp_path / "odd", {"3": 1, "banana": 1})
    with pytest.raises(DatasetError, match="labels outside fake's classes: banana"):
        load_evaluation_set("folder", fake(), folder=folder)
    (folder / "3" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="cannot be read: 3/broken.png"):
        load_evaluation_set("folder", fake(), folder=folder)
    with pytest.raises(DatasetError, match="Unknown evaluation set"):
        load_evaluation_set("cifar", fake())


def test_a_model_without_a_card_is_matched_by_position():
    five = fake(class_names=[str(i) for i in range(5)], has_metadata=False)
    with pytest.raises(DatasetError, match="scores only 5 classes"):
        load_evaluation_set("mnist-test", five)


def test_the_validation_split_is_the_training_runs_own(tmp_path):
    card = fake(dataset="sklearn-digits", hyperparameters={"seed": 3, "validation_size": 0.2})
    validation = load_validation_set(card)
    assert "validation" in validation.title and "seed 3" in validation.title
    from ml.data.datasets import load_sklearn_digits

    digits = load_sklearn_digits(validation_size=0.2, seed=3)
    np.testing.assert_array_equal(validation.labels, digits.y_val)
    with pytest.raises(DatasetError, match="no longer here"):
        load_validation_set(fake(dataset=str(tmp_path / "gone")))


def test_the_models_own_training_folder_gives_its_test_split_reading_only_those_files(tmp_path):
    import os
    from pathlib import Path

    from ml.data.datasets import load_image_folder
    from ml.data.streaming import open_image_folder

    folder = write_folder(tmp_path / "digits", {"3": 20, "7": 20})
    trained_here = fake(dataset=str(folder))
    eval_set = load_evaluation_set(str(folder), trained_here)
    expected = load_image_folder(folder, image_size=28)
    assert "its test split" in eval_set.title and len(eval_set) == len(expected.y_test) == 6
    np.testing.assert_allclose(eval_set.images, expected.x_test[..., 0], atol=1e-6)
    assert eval_set.labels.tolist() == [int(expected.class_names[label]) for label in expected.y_test]
    splits = open_image_folder(folder)
    Path(os.fsdecode(splits.train.paths[0])).write_bytes(b"not an image")  # a training file: never read here
    assert len(load_evaluation_set(str(folder), trained_here)) == 6
    broken_test_file = Path(os.fsdecode(splits.test.paths[0]))
    broken_test_file.write_bytes(b"not an image")
    with pytest.raises(DatasetError, match=f"{broken_test_file.parent.name}/{broken_test_file.name}"):
        load_evaluation_set(str(folder), trained_here)


def dark_on_white_digits(root, count=60):
    """MNIST test digits as a person's scans: dark ink on white paper, 64x64 with a wide margin."""
    from ml.data.sources import read_mnist_arrays

    arrays = read_mnist_arrays()
    for index in range(count):
        digit, label = arrays["x_test"][index], int(arrays["y_test"][index])
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        sheet = np.full((64, 64), 255, np.uint8)
        sheet[18:46, 18:46] = 255 - digit
        Image.fromarray(sheet).save(root / str(label) / f"{index:03d}.png")
    return root


def test_a_folder_of_dark_ink_on_white_is_read_as_predict_reads_an_image_for_a_digit_model(tmp_path):
    from ml.assets import bundled_model_path
    from ml.evaluation.run import evaluate
    from ml.evaluation.streamed import evaluate_folder_stream, open_folder_stream
    from ml.models.files import load_model

    folder = dark_on_white_digits(tmp_path / "scans")
    loaded = load_model(bundled_model_path())
    in_memory = evaluate(loaded, load_evaluation_set(str(folder), loaded))
    assert in_memory.report.accuracy >= 0.95  # raw pixels, white paper read as ink: 17 % (a tester's folder)
    streamed = evaluate_folder_stream(loaded, open_folder_stream(folder, loaded))
    assert streamed.report.accuracy == pytest.approx(in_memory.report.accuracy)
    shown = load_evaluation_set(str(folder), loaded).images
    assert shown.shape[1:] == (28, 28) and shown[:, 0, 0].max() == 0.0  # white-on-black, as the model sees them


def test_a_model_trained_on_a_folder_reads_folders_as_raw_pixels():
    from ml.evaluation.sets import reads_drawings

    assert reads_drawings(fake(dataset="mnist")) and reads_drawings(fake(has_metadata=False))
    assert not reads_drawings(fake(dataset="/home/me/flowers")) and not reads_drawings(fake(dataset="fashion-mnist"))
