"""An image folder evaluated as a stream: the figures, probabilities and sampled images of reading it into memory."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.data.sources import read_mnist_arrays
from ml.errors import DatasetError
from ml.evaluation.robustness import sample_indices
from ml.evaluation.run import EvaluationStopped, evaluate
from ml.evaluation.sets import load_evaluation_set
from ml.evaluation.streamed import evaluate_folder_stream, is_image_folder, open_folder_stream
from ml.models.files import LoadedModel
from ml.models.metadata import ModelMetadata
from tests.ml.evaluation.tiny import tiny_digit_model


@pytest.fixture(scope="module")
def tiny() -> LoadedModel:
    return tiny_digit_model()


def write_mnist_folder(root: Path, count: int = 150) -> Path:
    """MNIST test digits as files: mostly 28x28 PNGs (decoded in the graph), some JPEGs and 40x40 PNGs (safe reader)."""
    arrays = read_mnist_arrays()
    for index in range(count):
        digit, label = arrays["x_test"][index], int(arrays["y_test"][index])
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        picture = Image.fromarray(digit)
        if index % 10 == 3:
            picture.save(root / str(label) / f"{index:04d}.jpg", quality=92)
        elif index % 10 == 7:
            picture.resize((40, 40)).save(root / str(label) / f"{index:04d}.png")
        else:
            picture.save(root / str(label) / f"{index:04d}.png")
    return root


def test_streaming_a_folder_gives_exactly_the_in_memory_figures(tmp_path: Path, tiny: LoadedModel) -> None:
    folder = write_mnist_folder(tmp_path / "digits")
    in_memory_set = load_evaluation_set(str(folder), tiny)
    in_memory = evaluate(tiny, in_memory_set, batch_size=32)
    stream = open_folder_stream(folder, tiny)
    assert stream.title == in_memory_set.title and len(stream) == len(in_memory_set) == 150
    streamed = evaluate_folder_stream(tiny, stream, batch_size=32)
    np.testing.assert_array_equal(streamed.raw_probabilities, in_memory.raw_probabilities)
    np.testing.assert_array_equal(streamed.labels, in_memory.labels)
    assert streamed.report.as_dict() == in_memory.report.as_dict()
    assert streamed.set_title == in_memory.set_title


def test_a_robustness_sample_and_report_images_are_the_in_memory_ones(tmp_path: Path, tiny: LoadedModel) -> None:
    folder = write_mnist_folder(tmp_path / "digits", count=60)
    in_memory_set = load_evaluation_set(str(folder), tiny)
    stream = open_folder_stream(folder, tiny)
    chosen = sample_indices(len(stream), 25)
    sample = stream.as_set(chosen)
    np.testing.assert_array_equal(sample.images, in_memory_set.subset(chosen).images)
    np.testing.assert_array_equal(sample.labels, in_memory_set.labels[chosen])
    shown = stream.display_images()
    assert len(shown) == 60
    np.testing.assert_array_equal(shown[np.asarray([5, 0, 59])], in_memory_set.images[[5, 0, 59]])


def test_an_unreadable_file_refuses_the_folder_naming_it(tmp_path: Path, tiny: LoadedModel) -> None:
    folder = write_mnist_folder(tmp_path / "digits", count=30)
    (folder / "7" / "zz-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    with pytest.raises(DatasetError, match="cannot be read"):
        load_evaluation_set(str(folder), tiny)
    with pytest.raises(DatasetError, match=r"1 of the 31 image files .* cannot be read: 7/zz-broken.png"):
        evaluate_folder_stream(tiny, open_folder_stream(folder, tiny))


def test_the_models_training_folder_streams_its_test_split_only(tmp_path: Path, tiny: LoadedModel) -> None:
    folder = write_mnist_folder(tmp_path / "digits", count=80)
    trained_here = LoadedModel(tiny.model, ModelMetadata(dataset=str(folder)), None, True)
    in_memory_set = load_evaluation_set(str(folder), trained_here)
    stream = open_folder_stream(folder, trained_here)
    assert "its test split" in stream.title and len(stream) == len(in_memory_set) == 12
    for path in stream.stream.train.paths:
        raise AssertionError(f"a training file is listed: {path}")
    streamed = evaluate_folder_stream(trained_here, stream, batch_size=5)
    in_memory = evaluate(trained_here, in_memory_set, batch_size=5)
    np.testing.assert_array_equal(streamed.raw_probabilities, in_memory.raw_probabilities)


def test_bad_folders_are_refused_as_the_in_memory_loader_refuses_them(tmp_path: Path, tiny: LoadedModel) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no class subfolders"):
        open_folder_stream(empty, tiny)
    (empty / "3").mkdir()
    with pytest.raises(DatasetError, match="holds no images"):
        open_folder_stream(empty, tiny)
    Image.new("L", (28, 28)).save(empty / "3" / "a.png")
    (empty / "banana").mkdir()
    Image.new("L", (28, 28)).save(empty / "banana" / "b.png")
    with pytest.raises(DatasetError, match="labels outside"):
        open_folder_stream(empty, tiny)
    with pytest.raises(DatasetError, match="no image folder"):
        open_folder_stream(tmp_path / "missing", tiny)


def test_a_stop_before_a_batch_measures_nothing(tmp_path: Path, tiny: LoadedModel) -> None:
    stream = open_folder_stream(write_mnist_folder(tmp_path / "digits", count=40), tiny)
    seen = []
    with pytest.raises(EvaluationStopped):
        evaluate_folder_stream(tiny, stream, batch_size=10, progress=lambda done, total: seen.append((done, total)),
                               should_stop=lambda: len(seen) >= 2)  # fmt: skip
    assert seen == [(10, 40), (20, 40)]


def test_only_folders_are_streamed(tmp_path: Path) -> None:
    assert is_image_folder(str(tmp_path))
    assert not is_image_folder("mnist-test") and not is_image_folder("mnist")
    assert not is_image_folder(os.fspath(tmp_path / "missing"))
