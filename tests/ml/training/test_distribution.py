"""Distribution: two logical devices under MirroredStrategy, mixed precision copies, TF_CONFIG checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ml.errors import TrainingError
from ml.training.distribution import (
    DistributionPlan,
    is_chief_task,
    read_tf_config,
    supports_mixed_precision,
    uses_mixed_precision,
    with_dtype_policy,
)

ROOT = Path(__file__).resolve().parents[3]

# Runs in a child process: logical devices must be configured before TensorFlow initialises. Prints one JSON line.
TWO_DEVICE_RUN = """
import json, sys
import tensorflow as tf
devices = int(sys.argv[1])
if devices > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
import ml.training.fit as fitting
from ml.data.datasets import load_dataset
from ml.training.config import TrainConfig
from ml.training.fit import fit

if sys.argv[3] == "next-order":  # Keras builds a strategy's model on one batch, so its first epoch has shuffle 2
    make_pipeline = fitting.make_train_pipeline
    def pipeline_after_one_pass(*args, **kwargs):
        pipeline = make_pipeline(*args, **kwargs)
        next(iter(pipeline))
        return pipeline
    fitting.make_train_pipeline = pipeline_after_one_pass

features = load_dataset("sklearn-digits", representation="features")  # no dropout, no batch norm: deterministic
seen, epochs, announced = [], [], []
config = TrainConfig(preset="mlp-digits", epochs=1, batch_size=int(sys.argv[2]))
result = fit(config, dataset=features, on_batch=seen.append, on_epoch=epochs.append, on_devices=announced.append)
batches_before_stop = []
def stop_after_three():
    return len(batches_before_stop) >= 3
stopped = result  # Stop is tested with two devices only
if devices > 1:
    data = load_dataset("mnist", validation_size=64).subset(512, 256)
    stopped = fit(
        TrainConfig(preset="fast", epochs=2, batch_size=int(sys.argv[2])),
        dataset=data,
        on_batch=batches_before_stop.append,
        should_stop=stop_after_three,
    )
print(json.dumps({
    "device": result.device,
    "announced": announced,
    "first_epoch_loss": result.history["loss"][0],
    "batch_losses": [report["loss"] for report in seen],
    "steps": [report["steps"] for report in seen],
    "epoch_reports": len(epochs),
    "test_accuracy": result.test_accuracy,
    "stopped_by_user": stopped.stopped_by_user,
    "batches_before_stop": len(batches_before_stop),
    "stopped_epochs": stopped.epochs_completed,
    "stopped_model_is_plain": all("Mirrored" not in type(v).__name__ for v in stopped.model.weights),
}))
"""


def run_with_devices(devices: int, per_replica_batch: int, order: str = "first-order") -> dict:
    """Train in a child process with ``devices`` logical CPUs (mlp-digits, then ``fast`` stopped); its JSON report."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    completed = subprocess.run(
        [sys.executable, "-c", TWO_DEVICE_RUN, str(devices), str(per_replica_batch), order],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_two_logical_devices_train_like_one_with_the_same_global_batch_and_still_report_and_stop():
    one = run_with_devices(1, 64, "next-order")  # in the order a strategy's first epoch sees (see the script)
    two = run_with_devices(2, 32)  # 32 per replica x 2 replicas = the single device's 64
    assert one["device"] == "CPU"
    assert two["device"].startswith("2 devices (MirroredStrategy): CPU:0, CPU:1")
    assert two["announced"] == [two["device"]]
    assert two["steps"][0] == one["steps"][0] == 18  # 1,132 training digits / global batch 64
    assert two["first_epoch_loss"] == pytest.approx(one["first_epoch_loss"], rel=1e-4)
    np.testing.assert_allclose(two["batch_losses"], one["batch_losses"], rtol=1e-4)
    assert len(two["batch_losses"]) == 18 and two["epoch_reports"] == 1
    assert two["test_accuracy"] == pytest.approx(one["test_accuracy"], abs=0.01)
    assert two["stopped_by_user"] and two["batches_before_stop"] == 3
    assert two["stopped_epochs"] == 1  # the partial epoch
    assert two["stopped_model_is_plain"]


def small_model():
    import keras

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="probabilities")(x))


def test_a_mixed_precision_copy_computes_in_float16_with_a_float32_softmax_and_the_same_weights():
    model = small_model()
    mixed = with_dtype_policy(model, "mixed_float16")
    computes = {layer.name: layer.compute_dtype for layer in mixed.layers}
    assert computes["probabilities"] == "float32"
    assert {computes[layer.name] for layer in mixed.layers[1:-1]} == {"float16"}
    assert all(weight.dtype == "float32" for weight in mixed.weights)  # variables stay float32
    assert uses_mixed_precision(mixed) and not uses_mixed_precision(model)
    images = np.random.default_rng(0).random((4, 8, 8, 1)).astype(np.float32)
    out = mixed.predict(images, verbose=0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, model.predict(images, verbose=0), atol=5e-3)
    back = with_dtype_policy(mixed, "float32")
    assert not uses_mixed_precision(back)
    np.testing.assert_allclose(back.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_a_sequential_models_last_layer_stays_float32():
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(2)])
    mixed = with_dtype_policy(model, "mixed_float16")
    assert [layer.compute_dtype for layer in mixed.layers] == ["float16", "float32"]


def test_mixed_precision_needs_every_gpu_at_compute_capability_seven():
    assert supports_mixed_precision([(8, 0), (7, 0)])
    assert not supports_mixed_precision([(8, 0), (6, 1)])
    assert not supports_mixed_precision([])  # no GPU: float32
    assert not supports_mixed_precision([None])


def test_the_plan_describes_its_devices_and_batches():
    plan = DistributionPlan(kind="mirrored", devices=["GPU:0 A100", "GPU:1 A100"], replicas=2, local_replicas=2)
    assert plan.describe() == "2 GPUs (MirroredStrategy): GPU:0 A100, GPU:1 A100"
    assert plan.global_batch_size(64) == 128 and plan.worker_batch_size(64) == 128 and plan.shard is None
    worker = DistributionPlan(kind="multi-worker", replicas=2, workers=2, worker_index=1, is_chief=False)
    assert worker.shard == (2, 1) and worker.worker_batch_size(64) == 64
    assert "this one worker 1" in worker.describe()
    assert DistributionPlan(mixed_precision=True).describe() == "CPU · mixed precision (float16)"


CLUSTER = {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "needs the TF_CONFIG environment variable"),
        ("{not json", "TF_CONFIG is not valid"),
        (json.dumps({"cluster": CLUSTER}), "TF_CONFIG is not valid"),
        (json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": 5}}), "not one of its cluster"),
    ],
)
def test_a_missing_or_wrong_tf_config_is_refused_clearly(monkeypatch, raw, message):
    monkeypatch.setenv("TF_CONFIG", raw)
    with pytest.raises(TrainingError, match=message):
        read_tf_config()


def test_the_chief_is_worker_zero_unless_the_cluster_names_one(monkeypatch):
    def config(task_type, index, cluster=CLUSTER):
        return {"cluster": cluster, "task": {"type": task_type, "index": index}}

    assert is_chief_task(config("worker", 0)) and not is_chief_task(config("worker", 1))
    with_chief = {**CLUSTER, "chief": ["127.0.0.1:2221"]}
    assert is_chief_task(config("chief", 0, with_chief)) and not is_chief_task(config("worker", 0, with_chief))
    monkeypatch.setenv("TF_CONFIG", json.dumps(config("worker", 1)))
    assert read_tf_config()["task"]["index"] == 1


def test_a_mixed_precision_run_trains_with_loss_scaling_and_returns_and_checkpoints_float32(tmp_path, monkeypatch):
    import keras

    from ml.data.datasets import load_dataset
    from ml.models.files import load_model
    from ml.training.config import TrainConfig
    from ml.training.fit import fit

    monkeypatch.setattr("ml.training.fit.plan_distribution", lambda **options: DistributionPlan(mixed_precision=True))
    compiled = []
    original_compile = keras.Model.compile

    def recording_compile(self, optimizer=None, **kwargs):
        compiled.append((uses_mixed_precision(self), type(optimizer).__name__))
        return original_compile(self, optimizer=optimizer, **kwargs)

    monkeypatch.setattr(keras.Model, "compile", recording_compile)
    data = load_dataset("sklearn-digits").subset(128, 64)
    checkpoint = tmp_path / "best.keras"
    config = TrainConfig(preset="fast", epochs=1, batch_size=32, checkpoint_path=str(checkpoint))
    result = fit(config, dataset=data)
    assert compiled[0] == (True, "LossScaleOptimizer")  # the run: float16 compute, scaled loss
    assert result.device == "CPU · mixed precision (float16)"
    assert all(np.isfinite(result.history["loss"]))
    assert not uses_mixed_precision(result.model)  # what the run returns and saves computes in float32
    assert not uses_mixed_precision(load_model(checkpoint).model)
    assert 0.0 <= result.test_accuracy <= 1.0
