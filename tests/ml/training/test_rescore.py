"""Watch it learn your digit: the drawing re-scored while training, with the filters at each epoch's end."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data.datasets import load_dataset, load_mnist
from ml.training.config import TrainConfig
from ml.training.fit import fit
from ml.training.rescore import Rescore


@pytest.fixture(scope="module")
def mnist_small():
    return load_mnist(validation_size=200).subset(1280, 200)


def drawn_seven() -> np.ndarray:
    """A '7' as a user draws it: a bar and a slanted stroke, white on black."""
    image = np.zeros((28, 28), np.float32)
    image[6:9, 7:21] = 1.0
    for row in range(9, 23):
        column = 20 - (row - 9) // 2
        image[row, column - 1 : column + 2] = 1.0
    return image


def test_the_drawing_is_rescored_every_n_batches_and_at_each_epochs_end(mnist_small):
    reports: list[dict] = []
    config = TrainConfig(preset="fast", epochs=2, batch_size=64, seed=1)  # 20 batches per epoch
    fit(config, dataset=mnist_small, rescore=Rescore(drawn_seven(), reports.append, every_batches=6))
    assert [(r["epoch"], r["batch"], r["epoch_end"]) for r in reports] == [
        (1, 6, False),
        (1, 12, False),
        (1, 18, False),
        (1, 20, True),
        (2, 6, False),
        (2, 12, False),
        (2, 18, False),
        (2, 20, True),
    ]
    seen = [r["seen"] for r in reports]
    assert seen == sorted(seen) and seen[0] == 6 * 64 and seen[3] == 1280 and seen[-1] == 2 * 1280
    for report in reports:
        assert report["probabilities"].shape == (10,) and report["probabilities"].sum() == pytest.approx(1, abs=1e-4)
    first, last = reports[0]["probabilities"], reports[-1]["probabilities"]
    assert np.abs(last - first).max() > 0.05  # the weights being trained score the drawing differently
    banks = [r["filters"] for r in reports]
    assert all(bank is None for bank, r in zip(banks, reports, strict=True) if not r["epoch_end"])
    first_epoch, second_epoch = banks[3], banks[7]
    assert [bank.kernels.shape for bank in first_epoch] == [(24, 3, 3), (48, 3, 3), (64, 3, 3)]
    assert not np.allclose(first_epoch[0].kernels, second_epoch[0].kernels)  # the filters refresh


def test_a_stop_mid_epoch_scores_the_drawing_where_it_stopped_with_the_model_as_tested(mnist_small):
    from ml.inference.model_input import prepare_for_model
    from ml.models.classifier import outputs_probabilities

    reports: list[dict] = []
    batches: list[dict] = []
    config = TrainConfig(preset="fast", epochs=2, batch_size=64, seed=1)  # 20 batches per epoch
    result = fit(
        config,
        dataset=mnist_small,
        on_batch=batches.append,
        should_stop=lambda: len(batches) >= 9,
        rescore=Rescore(drawn_seven(), reports.append, every_batches=6),
    )
    assert [(r["epoch"], r["batch"], r["epoch_end"]) for r in reports] == [(1, 6, False), (1, 9, True)]
    drawing = prepare_for_model(drawn_seven()[np.newaxis], tuple(result.model.inputs[0].shape[1:]), result.metadata())
    expected = np.asarray(result.model(drawing, training=False))[0]  # the fast preset ends in a softmax
    np.testing.assert_allclose(reports[-1]["probabilities"], expected, atol=1e-5)
    assert reports[-1]["filters"] is not None and outputs_probabilities(result.model)


def test_an_8x8_model_scores_the_28x28_drawing_through_its_own_input(mnist_small):
    digits = load_dataset("sklearn-digits", representation="features")
    reports: list[dict] = []
    config = TrainConfig(preset="mlp-digits", epochs=1, batch_size=64)
    fit(config, dataset=digits, rescore=Rescore(drawn_seven(), reports.append, every_batches=10))
    assert reports and all(r["probabilities"].shape == (10,) for r in reports)
    assert reports[-1]["filters"] == []  # an MLP has no conv kernels


def test_nothing_drawn_or_an_unusable_drawing_never_stops_the_run(mnist_small, caplog):
    calls = []
    empty: list[dict] = []
    config = TrainConfig(preset="fast", epochs=1, batch_size=64, max_train_samples=320)
    result = fit(config, dataset=mnist_small, rescore=Rescore(lambda: calls.append(1), empty.append, 2, False))
    assert calls and all(r["probabilities"] is None and r["filters"] is None for r in empty)
    broken: list[dict] = []
    result = fit(config, dataset=mnist_small, rescore=Rescore(np.zeros((3, 4, 5, 6)), broken.append, 2))
    assert result.epochs_completed == 1 and broken and all(r["probabilities"] is None for r in broken)
    assert "Re-scoring the drawing failed" in caplog.text


def test_a_model_ending_in_one_sigmoid_per_class_is_rescored_as_the_window_reads_it(mnist_small):
    """The drawing's scores over their sum, as the Predictor shows them: raw sigmoid scores summed to anything."""
    import keras

    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="sigmoid")(keras.layers.Flatten()(inputs)))
    reports: list[dict] = []
    config = TrainConfig(preset="fast", epochs=1, batch_size=64, seed=1)
    fit(config, dataset=mnist_small.subset(256, 100), model=model, rescore=Rescore(drawn_seven(), reports.append))
    sums = [float(np.sum(report["probabilities"])) for report in reports]
    assert sums and np.allclose(sums, 1.0, atol=1e-5)
