"""``plural``: counts of 1 in the singular, others in the plural with thousands separators."""

from __future__ import annotations

import pytest

from ml.plurals import plural


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        (1, "image", "1 image"),
        (0, "image", "0 images"),
        (2, "epoch", "2 epochs"),
        (12_000, "training image", "12,000 training images"),
    ],
)
def test_plural_says_one_in_the_singular_and_the_rest_in_the_plural(count, noun, expected):
    assert plural(count, noun) == expected


def test_a_plural_not_made_with_s_is_given():
    assert plural(1, "batch", "batches") == "1 batch" and plural(3, "batch", "batches") == "3 batches"


def test_a_run_of_one_epoch_is_described_in_the_singular():
    from ml.cli.train import describe_config
    from ml.training.config import TrainConfig

    described = describe_config(TrainConfig(preset="fast", dataset="mnist", epochs=1).resolved())
    assert described.split(", ")[0] == "Training preset 'fast' on mnist: 1 epoch"
