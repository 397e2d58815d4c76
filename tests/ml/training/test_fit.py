"""fit(): stopping, seeds, early stopping, NaN, plateau, TensorBoard, pause, fine-tuning, CLI, batch norm, compare."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.data.datasets import load_dataset
from ml.models.presets import build_model
from ml.training.callbacks import make_callbacks
from ml.training.config import PauseGate, TrainConfig
from ml.training.fit import fit
from ml.training.pipelines import make_eval_pipeline, make_train_pipeline

ROOT = Path(__file__).resolve().parents[3]
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


def test_fit_says_its_batches_are_over_once_when_early_stopping_ends_the_run(digits_features):
    """A run ended by early stopping had no batch known in advance to be its last: nothing told the caller that a
    pause or a stop could no longer take effect, so the window offered Stop while the run was tested and saved."""
    events: list[str] = []
    config = features_config(epochs=6, learning_rate=0.0, early_stopping_patience=1)
    result = fit(
        config,
        dataset=digits_features,
        on_epoch=lambda report: events.append(f"epoch {report['epoch']}"),
        on_batches_ended=lambda: events.append("batches ended"),
    )
    assert "Early stopping" in result.stop_reason
    assert events == ["epoch 1", "epoch 2", "batches ended"]  # after the epoch that ran out of patience, once


def test_fit_says_its_batches_are_over_at_the_batch_whose_loss_is_nan(digits_features):
    events: list[str] = []
    config = features_config(epochs=5, optimizer="sgd", learning_rate=1e12)
    result = fit(
        config,
        dataset=digits_features,
        on_batch=lambda report: events.append("batch"),
        on_batches_ended=lambda: events.append("batches ended"),
    )
    assert "NaN" in result.stop_reason
    assert events.count("batches ended") == 1 and events[-1] == "batches ended"  # no batch after it


@pytest.mark.parametrize("stop", [False, True])
def test_fit_says_its_batches_are_over_after_the_last_batch_or_a_stop(digits_features, stop):
    events: list[str] = []
    steps: list[int] = []

    def on_batch(report: dict) -> None:
        events.append("batch")
        steps.append(report["steps"])

    result = fit(
        features_config(epochs=1),
        dataset=digits_features,
        on_batch=on_batch,
        on_epoch=lambda report: events.append("epoch"),
        should_stop=lambda: stop,
        on_batches_ended=lambda: events.append("batches ended"),
    )
    assert result.stopped_by_user is stop
    batches = 1 if stop else steps[0]
    assert events == ["batch"] * batches + ["batches ended", "epoch"]  # told before Keras validates the epoch


@pytest.mark.parametrize("epochs, patience", [(2, 1), (3, 5)])
def test_a_run_that_trains_every_epoch_is_not_said_to_stop_early_but_restored_weights_are_told(
    digits_features, epochs, patience
):
    """Early stopping that fired at the last epoch made a run of all its epochs "stop early"; and Keras restores
    the best epoch's weights at the end of every run that asks it to, so a run early stopping never ended could
    return an earlier epoch's model without a word."""
    config = features_config(epochs=epochs, learning_rate=0.0, early_stopping_patience=patience)
    result = fit(config, dataset=digits_features)
    assert result.epochs_completed == epochs and result.stop_reason is None
    assert any(note.startswith(f"The weights of the best epoch (1 of {epochs}, by val_loss)") for note in result.notes)


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
    from ml.models.files import load_model, save_model

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
    from ml.errors import TrainingError

    rng = np.random.default_rng(0)
    x, y = rng.random((8, 28, 28, 1), dtype=np.float32), np.arange(8) % 2
    from ml.data.datasets import Dataset

    dataset = Dataset("two", x, y, x, y, x, y, ["a", "b"])
    with pytest.raises(TrainingError, match="same classes"):
        fit(TrainConfig(preset="cnn3x3", epochs=1), dataset=dataset, model=build_model("cnn3x3", (28, 28, 1), 10))


def test_a_folder_datasets_class_names_reach_the_saved_model(tmp_path):
    from ml.models.files import load_model

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


def write_two_shade_folder(root: Path, per_class: int) -> Path:
    """Two class folders ("dark", "light") of ``per_class`` small PNGs each."""
    for shade, name in ((40, "dark"), (220, "light")):
        (root / name).mkdir(parents=True)
        for number in range(per_class):
            Image.new("L", (12, 12), shade).save(root / name / f"{number}.png")
    return root


@pytest.mark.parametrize(("per_class", "validation_images"), [(2, 0), (4, 1)])
def test_a_tiny_folder_trains_on_features_with_an_empty_or_tiny_validation_split(
    tmp_path, per_class, validation_images
):
    folder = write_two_shade_folder(tmp_path / "tiny", per_class)
    result = fit(features_config(dataset=str(folder), image_size=8, epochs=2))
    assert result.epochs_completed == 2 and 0.0 <= result.test_accuracy <= 1.0
    assert len(result.history.get("val_loss", [])) == (2 if validation_images else 0)  # validated only when it can be
    assert result.input_scale == "standardize" and len(result.input_mean) == 64


def test_the_cli_trains_with_the_new_options_and_fine_tunes(tmp_path, capsys):
    from ml.cli.main import main
    from ml.models.files import load_model

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


# ------------------------------------------------------------------------------ batch norm after a stop, comparisons


def dense_batch_norm_model(inputs: int, classes: int):
    """Dense → Dropout → BatchNorm → ReLU → Dense: batch norm sees what dropout leaves, so a dropping pass shows."""
    import keras
    from keras import layers

    features = keras.Input((inputs,))
    x = layers.Dense(32, use_bias=False, name="hidden")(features)
    x = layers.Dropout(0.5, name="dropout")(x)
    x = layers.BatchNormalization(name="norm")(x)
    x = layers.ReLU()(x)
    outputs = layers.Dense(classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(features, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x, verbose=0).argmax(axis=1) == y))


def test_recalibrating_batch_norm_replaces_stale_statistics_and_changes_nothing_else(digits_features):
    import keras

    from ml.training.batch_norm import recalibrate_batch_norm

    data = digits_features
    keras.utils.set_random_seed(0)
    model = dense_batch_norm_model(data.x_train.shape[1], data.num_classes)
    model.fit(data.x_train, data.y_train, epochs=4, batch_size=64, verbose=0)
    trained = accuracy(model, data.x_test, data.y_test)
    norm = model.get_layer("norm")
    norm.moving_mean.assign(norm.moving_mean.numpy() + 3.0)  # as stale as a freshly started run's
    norm.moving_variance.assign(norm.moving_variance.numpy() * 25.0)
    stale = accuracy(model, data.x_test, data.y_test)
    assert stale < trained - 0.2, (stale, trained)
    statistics = {id(norm.moving_mean), id(norm.moving_variance)}
    others = [(variable.path, variable.numpy().copy()) for variable in model.weights if id(variable) not in statistics]

    used = recalibrate_batch_norm(model, data.x_train, batches=1000, batch_size=64)

    assert used == -(-len(data.x_train) // 64)  # every batch, since fewer than asked for exist
    recalibrated = accuracy(model, data.x_test, data.y_test)
    assert recalibrated >= trained - 0.02, (recalibrated, trained)
    for (path, before), variable in zip(others, [v for v in model.weights if id(v) not in statistics], strict=True):
        np.testing.assert_array_equal(variable.numpy(), before, err_msg=path)
    # Dropout stayed in inference mode: the statistics are those of the un-dropped hidden activations.
    hidden = model.get_layer("hidden")(data.x_train).numpy()
    np.testing.assert_allclose(norm.moving_mean.numpy(), hidden.mean(axis=0), atol=0.05 * hidden.std())
    np.testing.assert_allclose(norm.moving_variance.numpy(), hidden.var(axis=0), rtol=0.1)
    assert norm.momentum == 0.99 and model.get_layer("dropout").rate == 0.5  # restored


def test_recalibrating_a_model_without_batch_norm_does_nothing(digits_features):
    from ml.training.batch_norm import recalibrate_batch_norm

    model = build_model("mlp-digits", digits_features.input_shape, 10)
    before = [weight.copy() for weight in model.get_weights()]
    assert recalibrate_batch_norm(model, digits_features.x_train) == 0
    for weight, kept in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(weight, kept)


def test_a_run_stopped_mid_epoch_has_its_batch_norm_statistics_re_estimated(digits_images):
    batches: list[dict] = []
    config = TrainConfig(preset="fast", epochs=2, batch_size=32, max_train_samples=640)
    result = fit(config, dataset=digits_images, on_batch=batches.append, should_stop=lambda: len(batches) >= 5)
    assert result.stopped_by_user and batches[-1]["batch"] == 5 < batches[-1]["steps"]
    assert result.recalibrated_batches == 20  # every one of the 640 images' batches of 32 (fewer than 50)
    assert "re-estimated on 20 training batches" in result.stop_reason


def test_a_run_stopped_mid_epoch_reports_that_epoch_where_it_stopped_with_the_mended_models_validation(
    digits_images,
):
    """Keras validates the cut epoch before batch norm is mended: that figure (near chance) must not be shown."""
    batches: list[dict] = []
    epochs: list[dict] = []
    config = TrainConfig(preset="fast", epochs=2, batch_size=32, max_train_samples=640)
    result = fit(
        config,
        dataset=digits_images,
        on_batch=batches.append,
        on_epoch=epochs.append,
        should_stop=lambda: len(batches) >= 15,
    )
    assert result.recalibrated_batches and len(epochs) == 1
    (report,) = epochs
    assert report["partial"] and report["epoch"] == pytest.approx(15 / 20)
    x_val = digits_images.x_val[..., np.newaxis] if digits_images.x_val.ndim == 3 else digits_images.x_val
    _, val_accuracy = result.model.evaluate(x_val, digits_images.y_val, verbose=0)
    assert report["val_accuracy"] == pytest.approx(val_accuracy, abs=1e-6)
    assert result.history["val_accuracy"] == [pytest.approx(val_accuracy, abs=1e-6)]


def test_a_short_run_has_its_batch_norm_statistics_re_estimated_and_tests_far_better(digits_images, monkeypatch):
    """20 batches leave momentum 0.99's moving averages mostly at their initial values: the run tested near chance."""
    import ml.training.batch_norm as batch_norm_module

    config = TrainConfig(preset="fast", epochs=1, batch_size=32, max_train_samples=640)
    short = fit(config, dataset=digits_images)
    assert short.recalibrated_batches == 20 and short.stop_reason is None
    assert any("A short run (20 batches)" in note for note in short.notes)
    monkeypatch.setattr(batch_norm_module, "SHORT_RUN_BATCHES", 20)  # the same run counted as long enough
    monkeypatch.setattr("ml.training.fit.quicken_batch_norm", lambda *args: {})  # and its momentum left at 0.99
    as_trained = fit(config, dataset=digits_images)
    assert as_trained.recalibrated_batches == 0 and not any("short run" in note for note in as_trained.notes)
    assert short.test_accuracy > as_trained.test_accuracy + 0.2, (short.test_accuracy, as_trained.test_accuracy)
    # the validation after the epoch is measured with averages that followed the run, and the model keeps its momentum
    assert short.history["val_accuracy"][-1] > as_trained.history["val_accuracy"][-1] + 0.2
    momenta = [layer.momentum for layer in short.model.layers if hasattr(layer, "moving_mean")]
    assert momenta and all(momentum == 0.99 for momentum in momenta)


def test_a_run_of_short_epochs_validates_with_averages_that_follow_each_epoch(digits_images):
    """310 batches in 31 epochs of 10: momentum 0.99 left the averages at their start for most of the run."""
    from ml.training.batch_norm import quicken_batch_norm

    model = build_model("fast", (28, 28, 1), 10)
    lowered = quicken_batch_norm(model, 480, 16)  # 30 epochs of 16 batches
    momenta = {layer.momentum for layer in model.layers if hasattr(layer, "moving_mean")}
    assert lowered and len(momenta) == 1 and momenta.pop() == pytest.approx(1 - 5 / 16)
    assert quicken_batch_norm(build_model("fast", (28, 28, 1), 10), 43_000, 430) != {}  # full MNIST: 0.988
    config = TrainConfig(preset="fast", epochs=31, batch_size=32, max_train_samples=320)
    result = fit(config, dataset=digits_images)
    assert result.history["val_accuracy"][2] > 0.5, result.history["val_accuracy"][:5]  # was 0.1 at the 3rd epoch


def test_the_active_model_is_compared_on_the_runs_own_test_set(tmp_path, digits_features):
    from ml.assets import bundled_model_path
    from ml.models.files import save_model
    from ml.training.reference import ReferenceAccuracy, reference_accuracy

    result = fit(features_config(), dataset=digits_features)
    saved = save_model(result.model, tmp_path / "digits.keras", result.metadata())
    recorded = reference_accuracy(saved, result)  # same dataset, seed and full test set: its recorded figure
    assert recorded == ReferenceAccuracy(result.test_accuracy, "sklearn-digits", True)

    partial = fit(features_config(max_test_samples=200), dataset=digits_features)
    measured = reference_accuracy(saved, partial)  # another test set: evaluated on the run's 200 images
    expected = accuracy(result.model, digits_features.x_test[:200], digits_features.y_test[:200])
    assert measured.same_test_set and measured.accuracy == pytest.approx(expected, abs=1e-9)
    assert measured.accuracy != pytest.approx(result.test_accuracy, abs=1e-9)  # so it was measured, not recalled

    other = reference_accuracy(bundled_model_path(), result)  # 28x28 images cannot be scored as 64 features
    assert other == ReferenceAccuracy(pytest.approx(0.997), "mnist", False)
    assert reference_accuracy(tmp_path / "missing.keras", result) is None
