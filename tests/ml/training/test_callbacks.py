"""The progress callback on an image folder, whose pipeline's length Keras learns only when it runs out."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from PIL import Image

from ml.training.config import TrainConfig
from ml.training.fit import fit


def write_folder(root: Path, per_class: int) -> Path:
    """Two class folders of ``per_class`` small PNGs each."""
    for shade, name in ((40, "dark"), (220, "light")):
        (root / name).mkdir(parents=True)
        for number in range(per_class):
            Image.new("L", (12, 12), shade + number).save(root / name / f"{number}.png")
    return root


@pytest.fixture(scope="module")
def one_batch_run(tmp_path_factory):
    """Two epochs of one batch each on a streamed folder, cosine schedule: its batch and epoch reports."""
    folder = write_folder(tmp_path_factory.mktemp("folder") / "tiny", per_class=10)
    config = TrainConfig(
        preset="fast",
        dataset=str(folder),
        image_size=16,
        epochs=2,
        batch_size=128,
        schedule="cosine",
        learning_rate=0.004,
    )
    batches, epochs = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(config, on_batch=batches.append, on_epoch=epochs.append)
    return batches, epochs, [str(warning.message) for warning in caught]


def test_a_folders_batches_are_reported_out_of_the_epochs_steps(one_batch_run):
    batches, _, _ = one_batch_run
    assert [(report["batch"], report["steps"]) for report in batches] == [(1, 1), (1, 1)]
    assert all(report["samples_per_second"] > 0 for report in batches)


def test_a_folders_learning_rate_follows_its_batches_not_keras_running_out(one_batch_run):
    _, epochs, _ = one_batch_run
    assert epochs[0]["learning_rate"] == pytest.approx(0.002)  # half-way down the cosine, not already at its end


def test_a_folder_run_does_not_warn_that_its_input_ran_out(one_batch_run):
    _, _, messages = one_batch_run
    assert not [message for message in messages if "ran out of data" in message]
