"""The best-model checkpoint: saved only on improvement, atomically, with metadata; a failed write is harmless."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data.datasets import load_dataset
from ml.models.files import load_model
from ml.models.metadata import ModelMetadata
from ml.training.checkpoint import BestModelCheckpoint
from ml.training.config import TrainConfig
from ml.training.fit import fit


def tiny_model():
    import keras

    inputs = keras.Input((16,))  # 4x4 pixels: the smallest digit Digit Lab can feed
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))


def attach(callback: BestModelCheckpoint, model) -> BestModelCheckpoint:
    callback.set_model(model)
    return callback


def run_epoch(callback: BestModelCheckpoint, model, epoch: int, val_accuracy: float) -> None:
    """Give the model weights that identify the epoch, then end the epoch with this validation accuracy."""
    kernel, bias = model.get_weights()
    model.set_weights([np.full_like(kernel, epoch), bias])
    callback.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "val_accuracy": val_accuracy})


def saved_epoch(path) -> float:
    return float(load_model(path).model.get_weights()[0][0, 0])


def test_the_checkpoint_holds_the_best_epoch_and_its_metadata(tmp_path):
    model = tiny_model()
    metadata = ModelMetadata(class_names=["a", "b", "c"], dataset="letters", preset="tiny")
    callback = attach(BestModelCheckpoint(tmp_path / "best.keras", TrainConfig(), metadata), model)
    for epoch, accuracy in enumerate([0.5, 0.8, 0.6, 0.8]):
        run_epoch(callback, model, epoch, accuracy)
    assert callback.best_epoch == 2 and callback.best == pytest.approx(0.8)
    assert saved_epoch(tmp_path / "best.keras") == 1.0  # 0-based epoch 1: neither the later worse nor the tie
    loaded = load_model(tmp_path / "best.keras")
    assert loaded.metadata.class_names == ["a", "b", "c"] and loaded.metadata.preset == "tiny"
    assert loaded.metadata.history["val_accuracy"] == pytest.approx([0.5, 0.8])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["best.keras"]


def test_a_failed_write_keeps_the_old_checkpoint_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    import keras

    model = tiny_model()
    path = tmp_path / "best.keras"
    callback = attach(BestModelCheckpoint(path, TrainConfig()), model)
    run_epoch(callback, model, 0, 0.5)
    old_bytes = path.read_bytes()

    def save_half_then_fail(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as handle:
            handle.write(old_bytes[: len(old_bytes) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", save_half_then_fail)
    run_epoch(callback, model, 1, 0.9)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes and saved_epoch(path) == 0.0
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["best.keras"]
    assert "No space left on device" in callback.error and model.stop_training
    assert callback.best_epoch == 1


def test_fit_keeps_the_best_epoch_in_the_checkpoint(tmp_path):
    dataset = load_dataset("sklearn-digits", representation="features")
    epochs: list[dict] = []
    path = tmp_path / "best.keras"
    config = TrainConfig(preset="mlp-digits", epochs=4, optimizer="sgd", learning_rate=0.3, checkpoint_path=str(path))
    result = fit(config, dataset=dataset, on_epoch=epochs.append)
    accuracies = [report["val_accuracy"] for report in epochs]
    best = int(np.argmax(accuracies))
    assert result.checkpoint_epoch == best + 1
    loaded = load_model(path)
    predicted = loaded.model.predict(dataset.x_val, verbose=0).argmax(axis=1)
    assert np.mean(predicted == dataset.y_val) == pytest.approx(accuracies[best], abs=1e-6)
    assert len(loaded.metadata.history["val_accuracy"]) == best + 1
    assert loaded.metadata.input_scale == "standardize" and loaded.metadata.input_mean == dataset.input_mean
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["best.keras"]


def test_fit_stops_with_a_clear_reason_when_the_checkpoint_cannot_be_written(tmp_path):
    dataset = load_dataset("sklearn-digits", representation="features")
    in_the_way = tmp_path / "best.keras"
    in_the_way.mkdir()  # a folder where the file should go: every save fails
    config = TrainConfig(preset="mlp-digits", epochs=3, checkpoint_path=str(in_the_way))
    result = fit(config, dataset=dataset)
    assert result.epochs_completed == 1 and result.checkpoint_epoch is None
    assert "checkpoint could not be written" in result.stop_reason and "best.keras" in result.stop_reason
    assert [entry.name for entry in tmp_path.iterdir()] == ["best.keras"] and not any(in_the_way.iterdir())


def test_the_checkpoint_folder_is_created(tmp_path):
    dataset = load_dataset("sklearn-digits", representation="features")
    path = tmp_path / "runs" / "today" / "best.keras"
    result = fit(TrainConfig(preset="mlp-digits", epochs=1, checkpoint_path=str(path)), dataset=dataset)
    assert result.checkpoint_epoch == 1 and load_model(path).metadata.preset == "mlp-digits"
    assert result.test_accuracy is not None  # the model trained so far is still tested and returned
