"""fit(): stopping, seeds, early stopping, NaN, plateau schedule, TensorBoard, pause/resume, fine-tuning, CLI."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.data import load_dataset
from ml.presets import build_model
from ml.train import PauseGate, TrainConfig, fit, make_callbacks, make_eval_pipeline, make_train_pipeline

ROOT = Path(__file__).resolve().parents[2]
LEGACY_MLP = ROOT / "tests" / "fixtures" / "tutorial_mlp_28x28_tfkeras2.h5"


@pytest.fixture(scope="module")
def digits_features():
    return load_dataset("sklearn-digits", representation="features")


@pytest.fixture(scope="module")
def digits_images():
    return load_dataset("sklearn-digits")


def features_config(**overrides) -> TrainConfig:
    """A quick run of the mlp-digits preset."""
    return TrainConfig(**{"preset": "mlp-digits", "epochs": 1, "batch_size": 64, **overrides})


def test_training_stops_within_one_batch_when_asked(digits_features):
    batches: list[dict] = []
    result = fit(features_config(epochs=3), dataset=digits_features, on_batch=batches.append, should_stop=lambda: True)
    assert len(batches) == 1 and batches[0]["batch"] == 1 and batches[0]["steps"] > 1
    assert result.stopped_by_user and result.epochs_completed == 1
    assert result.stop_reason == "Stopped by the user." and result.test_accuracy is not None


def test_the_same_seed_gives_the_same_first_epoch_loss(digits_images):
    def first_loss(seed: int) -> float:
        config = TrainConfig(preset="cnn3x3", epochs=1, batch_size=64, seed=seed, max_train_samples=192)
        return fit(config, dataset=digits_images).history["loss"][0]

    assert first_loss(3) == pytest.approx(first_loss(3), rel=1e-6)
    assert first_loss(4) != pytest.approx(first_loss(3), rel=1e-3)


def test_early_stopping_fires_when_validation_loss_cannot_improve(digits_features):
    epochs: list[dict] = []
    config = features_config(epochs=6, learning_rate=0.0, early_stopping_patience=1)
    result = fit(config, dataset=digits_features, on_epoch=epochs.append)
    assert result.epochs_completed == 2 and len(epochs) == 2  # epoch 1 sets the best, epoch 2 runs out of patience
    assert "Early stopping" in result.stop_reason and not result.stopped_by_user


@pytest.mark.parametrize("restore", [True, False])
def test_early_stopping_restores_the_best_weights_only_when_asked(digits_features, restore):
    import keras

    config = features_config(epochs=6, learning_rate=0.0, early_stopping_patience=1, restore_best_weights=restore)
    result = fit(config, dataset=digits_features)
    (stopper,) = [
        c for c in make_callbacks(config.resolved(), None, "stamp")[0] if isinstance(c, keras.callbacks.EarlyStopping)
    ]
    assert stopper.restore_best_weights is restore
    assert ("best epoch (1) were restored" in result.stop_reason) is restore
    assert ("last epoch's weights were kept" in result.stop_reason) is not restore


def test_a_nan_loss_stops_training_and_keeps_finite_weights(digits_features):
    batches: list[dict] = []
    config = features_config(epochs=5, optimizer="sgd", learning_rate=1e12)
    result = fit(config, dataset=digits_features, on_batch=batches.append)
    assert "NaN" in result.stop_reason and "lower learning rate" in result.stop_reason
    assert result.epochs_completed < 5 and len(batches) < 5 * batches[0]["steps"]
    assert all(np.isfinite(weights).all() for weights in result.model.get_weights())
    assert np.isfinite(result.model.predict(digits_features.x_test[:5], verbose=0)).all()


def test_plateau_divides_the_learning_rate_by_ten_and_the_optimizer_uses_it(digits_features):
    model = build_model("mlp-digits", (64,), 10)
    epochs: list[dict] = []
    steps: list[float] = []
    previous = [model.get_weights()[-1].copy()]

    def on_epoch(report: dict) -> None:
        epochs.append(report)
        bias = model.get_weights()[-1]  # starts at zero, so float32 resolves even tiny updates
        steps.append(float(np.abs(bias - previous[0]).sum()))
        previous[0] = bias.copy()

    config = features_config(epochs=4, optimizer="sgd", learning_rate=1e-6, schedule="plateau")
    fit(config, dataset=digits_features, model=model, on_epoch=on_epoch)
    rates = [report["learning_rate"] for report in epochs]
    assert rates[:3] == pytest.approx([1e-6] * 3) and rates[3] == pytest.approx(1e-7)  # 2 stalled epochs → ÷10
    assert 0.05 < steps[3] / steps[2] < 0.2  # the weights really move ten times less


def test_tensorboard_writes_event_files_in_a_run_folder(tmp_path, digits_features):
    result = fit(features_config(tensorboard_dir=str(tmp_path / "logs")), dataset=digits_features)
    run_dir = Path(result.tensorboard_run_dir)
    assert run_dir.parent == tmp_path / "logs" and run_dir.name.startswith("mlp-digits-")
    tags = {}
    for split in ("train", "validation"):
        (events,) = (run_dir / split).glob("events.out.tfevents.*")
        tags[split] = {value.tag for event in summary_iterator(str(events)) for value in event.summary.value}
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= tags["train"]
    assert {"epoch_loss", "epoch_accuracy"} <= tags["validation"]


def summary_iterator(path: str):
    """The events of a TensorBoard file, read with TensorFlow alone."""
    import tensorflow as tf

    for record in tf.data.TFRecordDataset(path):
        yield tf.compat.v1.Event.FromString(record.numpy())


class ObservedGate(PauseGate):
    """A pause gate that tells the test when the run is held."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()

    def wait_while_paused(self, should_stop=None) -> None:
        if self.paused:
            self.holding.set()
        super().wait_while_paused(should_stop)


def test_pause_and_resume_continue_with_the_next_batch(digits_features):
    gate = ObservedGate()
    batches: list[tuple[int, int]] = []
    seen_while_paused: list[tuple[int, int]] = []

    def on_batch(report: dict) -> None:
        batches.append((report["epoch"], report["batch"]))
        if batches[-1] == (1, 3):
            gate.pause()

    def resume_when_held() -> None:
        assert gate.holding.wait(120)
        seen_while_paused.extend(batches)
        gate.resume()

    resumer = threading.Thread(target=resume_when_held)
    resumer.start()
    result = fit(features_config(epochs=2), dataset=digits_features, on_batch=on_batch, wait_while_paused=gate)
    resumer.join()
    steps = -(-len(digits_features.x_train) // 64)
    assert seen_while_paused[-1] == (1, 3)
    assert batches == [(epoch, batch) for epoch in (1, 2) for batch in range(1, steps + 1)]
    assert result.epochs_completed == 2 and not result.stopped_by_user


def test_stop_while_paused_ends_the_run_promptly(digits_features):
    gate = ObservedGate()
    stop = threading.Event()
    batches: list[tuple[int, int]] = []

    def on_batch(report: dict) -> None:
        batches.append((report["epoch"], report["batch"]))
        if len(batches) == 2:
            gate.pause()

    def stop_when_held() -> None:
        assert gate.holding.wait(120)
        stop.set()

    stopper = threading.Thread(target=stop_when_held)
    stopper.start()
    result = fit(
        features_config(epochs=3),
        dataset=digits_features,
        on_batch=on_batch,
        should_stop=stop.is_set,
        wait_while_paused=gate,
    )
    stopper.join()
    assert batches == [(1, 1), (1, 2)] and result.stopped_by_user


def test_pause_gate_returns_promptly_when_stop_is_requested():
    gate = PauseGate()
    started = time.perf_counter()
    gate.wait_while_paused(lambda: True)  # not paused: returns at once
    gate.pause()
    gate.wait_while_paused(lambda: True)
    assert gate.paused and time.perf_counter() - started < 1.0


def test_fine_tuning_the_legacy_tutorial_mlp_improves_it_on_new_data(tmp_path, digits_images):
    from ml.modelio import load_model, save_model

    loaded = load_model(LEGACY_MLP)
    assert loaded.input_shape == (28, 28)
    images = digits_images.x_test[..., 0]
    before = float(np.mean(loaded.model.predict(images, verbose=0).argmax(axis=1) == digits_images.y_test))
    config = TrainConfig(preset="mlp", dataset="sklearn-digits", epochs=2, optimizer="adam", learning_rate=1e-3)
    tuned = fit(config, dataset=digits_images, model=loaded)
    assert tuned.model is loaded.model
    assert tuned.test_accuracy > before + 0.05, (before, tuned.test_accuracy)
    # Continue from a .keras file: training picks up from the saved weights, not from scratch.
    saved = save_model(tuned.model, tmp_path / "tuned.keras", tuned.metadata())
    config = TrainConfig(preset="mlp", epochs=1, optimizer="adam", learning_rate=1e-3, fine_tune_from=str(saved))
    again = fit(config, dataset=digits_images)
    assert again.history["loss"][0] < tuned.history["loss"][0]
    assert again.test_accuracy > tuned.test_accuracy - 0.03
    assert again.config.fine_tune_from == str(saved) and again.metadata().dataset == "sklearn-digits"


def test_fine_tuning_refuses_a_model_with_other_classes(tmp_path):
    from ml.train import TrainingError

    rng = np.random.default_rng(0)
    x, y = rng.random((8, 28, 28, 1), dtype=np.float32), np.arange(8) % 2
    from ml.data import Dataset

    dataset = Dataset("two", x, y, x, y, x, y, ["a", "b"])
    with pytest.raises(TrainingError, match="same classes"):
        fit(TrainConfig(preset="cnn3x3", epochs=1), dataset=dataset, model=build_model("cnn3x3", (28, 28, 1), 10))


def test_a_folder_datasets_class_names_reach_the_saved_model(tmp_path):
    from ml.modelio import load_model

    for shade, name in ((30, "apple"), (130, "banana"), (230, "cherry")):
        (tmp_path / "fruit" / name).mkdir(parents=True)
        for number in range(10):
            mode, colour = ("RGB", (shade, 0, 0)) if number % 2 else ("L", shade)
            Image.new(mode, (18 + number, 18), colour).save(tmp_path / "fruit" / name / f"{number}.png")
    checkpoint = tmp_path / "best.keras"
    config = TrainConfig(
        preset="cnn3x3", dataset=str(tmp_path / "fruit"), image_size=16, epochs=2, checkpoint_path=str(checkpoint)
    )
    result = fit(config)
    assert result.class_names == ["apple", "banana", "cherry"]
    assert result.metadata().class_names == ["apple", "banana", "cherry"]
    assert load_model(checkpoint).metadata.class_names == ["apple", "banana", "cherry"]


def test_the_cli_trains_with_the_new_options_and_fine_tunes(tmp_path, capsys):
    from ml.cli import main
    from ml.modelio import load_model

    out, checkpoint, logs = tmp_path / "digits.keras", tmp_path / "best.keras", tmp_path / "logs"
    arguments = ["train", "--preset", "mlp-digits", "--epochs", "2", "--optimizer", "sgd", "--lr", "0.05"]
    arguments += ["--momentum", "0.9", "--nesterov", "--schedule", "plateau", "--early-stopping", "3"]
    arguments += ["--checkpoint", str(checkpoint), "--tensorboard", str(logs), "--out", str(out)]
    assert main(arguments) == 0
    loaded = load_model(out)
    hyperparameters = loaded.metadata.hyperparameters
    assert (hyperparameters["momentum"], hyperparameters["nesterov"], hyperparameters["schedule"]) == (
        0.9,
        True,
        "plateau",
    )
    assert hyperparameters["dataset"] == "sklearn-digits" and hyperparameters["early_stopping_patience"] == 3
    assert loaded.metadata.input_scale == "standardize" and len(loaded.metadata.input_mean) == 64
    assert load_model(checkpoint).metadata.preset == "mlp-digits"
    assert list(logs.rglob("events.out.tfevents.*"))
    assert float(capsys.readouterr().out.split("test accuracy:")[1].split()[0]) > 0.85
    tuned = tmp_path / "tuned.keras"
    assert main(["train", "--fine-tune", str(out), "--epochs", "1", "--out", str(tuned)]) == 0
    again = load_model(tuned).metadata
    assert again.preset == "mlp-digits" and again.hyperparameters["fine_tune_from"] == str(out)
    assert again.input_mean == loaded.metadata.input_mean  # the model's own standardization is kept


def test_pipelines_run_without_autotuning_and_cover_every_sample():
    images = np.arange(10 * 4, dtype=np.float32).reshape(10, 2, 2)
    labels = np.arange(10)
    training = make_train_pipeline(images, labels, batch_size=4, augment=False, seed=0)
    evaluation = make_eval_pipeline(images, labels, batch_size=4)

    # Autotuning made dropping each epoch's iterator wait 2-3 s for its thread (one epoch in three).
    assert training.options().autotune.enabled is False
    assert evaluation.options().autotune.enabled is False
    epochs = [np.concatenate([batch.numpy() for _, batch in training]) for _ in range(2)]
    assert all(sorted(epoch.tolist()) == list(range(10)) for epoch in epochs)
    assert epochs[0].tolist() != epochs[1].tolist()  # reshuffled every epoch
    assert np.concatenate([batch.numpy() for _, batch in evaluation]).tolist() == list(range(10))  # in order
