"""Where a run trains: one device, several GPUs (MirroredStrategy), several machines (MultiWorkerMirroredStrategy).

Also mixed precision: on GPUs of compute capability 7.0 or higher the model computes in float16 (variables and the
final softmax stay float32), a copy of the model in float32 is what the run returns and saves.
"""

from __future__ import annotations

import contextlib
import json
import os
import types
from dataclasses import dataclass, field
from typing import Any

from ml.errors import TrainingError

MIXED_POLICY = "mixed_float16"
_STRATEGIES: dict[tuple, Any] = {}  # one strategy per device set for the whole process (see mirrored_strategy)
MIN_MIXED_PRECISION_CAPABILITY = (7, 0)  # Volta and later have float16 tensor cores


@dataclass
class DistributionPlan:
    """The strategy a run uses, the devices it trains on, and whether it computes in float16."""

    strategy: Any = None  # a tf.distribute strategy, or None for the default (one device)
    kind: str = "single"  # single | mirrored | multi-worker
    devices: list[str] = field(default_factory=lambda: ["CPU"])
    replicas: int = 1  # replicas in sync, over every worker
    local_replicas: int = 1
    workers: int = 1
    worker_index: int = 0
    is_chief: bool = True
    mixed_precision: bool = False
    note: str | None = None  # why mixed precision was asked for but not used

    def scope(self):
        """The context in which the model, its optimizer and metrics must be created."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    @property
    def shard(self) -> tuple[int, int] | None:
        """(workers, this worker's index) when each worker reads its own share of the data."""
        return (self.workers, self.worker_index) if self.workers > 1 else None

    def global_batch_size(self, per_replica: int) -> int:
        """The batch of one training step over every replica."""
        return per_replica * self.replicas

    def worker_batch_size(self, per_replica: int) -> int:
        """The batch one worker's pipeline yields (split among its local replicas)."""
        return per_replica * self.local_replicas

    def describe(self) -> str:
        """``CPU``, ``GPU: NVIDIA H100 · mixed precision (float16)``, ``2 GPUs (MirroredStrategy): …``."""
        names = ", ".join(self.devices)
        if self.kind == "multi-worker":
            role = "chief" if self.is_chief else "worker"
            text = (
                f"{self.workers} workers (MultiWorkerMirroredStrategy), this one {role} {self.worker_index}, "
                f"{self.replicas} replicas: {names}"
            )
        elif self.kind == "mirrored":
            kind = "GPUs" if any(name.startswith("GPU") for name in self.devices) else "devices"
            text = f"{self.replicas} {kind} (MirroredStrategy): {names}"
        else:
            text = names
        if self.mixed_precision:
            text += " · mixed precision (float16)"
        return text


def gpu_descriptions() -> list[tuple[str, tuple[int, int] | None]]:
    """(``GPU:0 NVIDIA H100 …``, compute capability) of every visible GPU, with memory growth turned on."""
    import tensorflow as tf

    found = []
    for index, gpu in enumerate(tf.config.list_physical_devices("GPU")):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # already initialised: growth can only be set before first use
        details = tf.config.experimental.get_device_details(gpu)
        capability = details.get("compute_capability")
        found.append((f"GPU:{index} {details.get('device_name', gpu.name)}", tuple(capability) if capability else None))
    return found


def supports_mixed_precision(capabilities: list[tuple[int, int] | None]) -> bool:
    """True when there are GPUs and every one has compute capability 7.0 or higher."""
    return bool(capabilities) and all(c is not None and c >= MIN_MIXED_PRECISION_CAPABILITY for c in capabilities)


def read_tf_config() -> dict:
    """The ``TF_CONFIG`` environment variable, checked enough to give a clear message instead of a gRPC error."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        raise TrainingError(
            "--distributed needs the TF_CONFIG environment variable: the cluster's workers and this worker's task, "
            'e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}.'
        )
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task_type, index = config["task"]["type"], int(config["task"]["index"])
    except (ValueError, KeyError, TypeError):
        raise TrainingError(
            "TF_CONFIG is not valid: it must be JSON with cluster.worker (a list of host:port) and task.type / "
            "task.index."
        ) from None
    members = config["cluster"].get(task_type)
    if not isinstance(workers, list) or not workers or not isinstance(members, list) or not 0 <= index < len(members):
        raise TrainingError(f"TF_CONFIG's task ({task_type} {index}) is not one of its cluster's members.")
    return config


def is_chief_task(config: dict) -> bool:
    """The chief writes checkpoints and the model: the ``chief`` task, or worker 0 when the cluster has no chief."""
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and int(task["index"]) == 0


def plan_distribution(*, distributed: bool = False, mixed_precision: bool | None = None) -> DistributionPlan:
    """Pick the strategy: MultiWorkerMirrored when ``distributed`` (TF_CONFIG), Mirrored over several GPUs (or
    several logical CPUs, as tests configure), else none. ``mixed_precision`` None: on where every GPU supports it.
    """
    import tensorflow as tf

    gpus = gpu_descriptions()
    wants_mixed = supports_mixed_precision([c for _, c in gpus]) if mixed_precision is None else mixed_precision
    mixed, note = wants_mixed, None
    if wants_mixed and not supports_mixed_precision([c for _, c in gpus]):
        mixed = False
        note = "Mixed precision needs GPUs of compute capability 7.0 or higher; this run trains in float32."
    if distributed:
        tf_config = read_tf_config()
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except Exception as error:  # noqa: BLE001 - a gRPC or cluster failure becomes one clear message
            raise TrainingError(f"Cannot join the multi-worker job: {type(error).__name__}: {error}") from error
        resolver = strategy.cluster_resolver
        workers = len(tf_config["cluster"]["worker"]) + len(tf_config["cluster"].get("chief", []))
        local = [name for name, _ in gpus] or ["CPU"]
        return DistributionPlan(
            strategy=strategy,
            kind="multi-worker",
            devices=local,
            replicas=int(strategy.num_replicas_in_sync),
            local_replicas=max(1, int(strategy.num_replicas_in_sync) // workers),
            workers=workers,
            worker_index=worker_rank(tf_config, resolver.task_type, int(resolver.task_id)),
            is_chief=is_chief_task(tf_config),
            mixed_precision=mixed,
            note=note,
        )
    if len(gpus) > 1:
        devices = [name for name, _ in gpus]
        strategy = mirrored_strategy([f"/gpu:{index}" for index in range(len(gpus))])
    else:
        cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
        if gpus or len(cpus) < 2:
            return DistributionPlan(devices=[name for name, _ in gpus] or ["CPU"], mixed_precision=mixed, note=note)
        devices = [name.replace("/device:", "") for name in cpus]
        strategy = mirrored_strategy(cpus)
    replicas = int(strategy.num_replicas_in_sync)
    return DistributionPlan(strategy, "mirrored", devices, replicas, replicas, mixed_precision=mixed, note=note)


def mirrored_strategy(devices: list[str]):
    """The process's MirroredStrategy over ``devices``, made once: a second strategy over the same devices reuses
    collective keys, and its first all-reduce then fails with "Shape mismatch in the collective instance"."""
    import tensorflow as tf

    key = ("mirrored", *devices)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = tf.distribute.MirroredStrategy(devices)
    return _STRATEGIES[key]


def worker_rank(tf_config: dict, task_type: str, task_id: int) -> int:
    """This task's place among every training task: the chief first, then the workers in order."""
    chiefs = len(tf_config["cluster"].get("chief", []))
    return task_id if task_type == "chief" else chiefs + task_id


def with_dtype_policy(model, policy: str):
    """A copy of ``model`` (same weights) whose layers compute in ``policy``; the output and softmax layers stay
    float32, as mixed precision needs for a numerically stable softmax and loss. Built in the current scope.
    """
    config = model.get_config()
    outputs = config.get("output_layers") or []
    if outputs and isinstance(outputs[0], str):  # one output: [name, node, tensor] rather than a list of them
        outputs = [outputs]
    output_names = {entry[0] for entry in outputs}
    layers = config.get("layers", [])
    if layers and not output_names:  # a Sequential model: its last layer is the output
        output_names = {layers[-1]["config"].get("name")}
    _set_policies(config, policy, output_names)
    copy = type(model).from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def _set_policies(node: Any, policy: str, output_names: set[str]) -> None:
    """Rewrite every layer's ``DTypePolicy`` in a model config, in place (nested models included)."""
    if isinstance(node, list):
        for item in node:
            _set_policies(item, policy, output_names)
        return
    if not isinstance(node, dict):
        return
    layer_config = node.get("config")
    if isinstance(layer_config, dict) and isinstance(layer_config.get("dtype"), dict):
        dtype = layer_config["dtype"]
        if dtype.get("class_name") == "DTypePolicy":
            stays_float32 = layer_config.get("name") in output_names or layer_config.get("activation") == "softmax"
            dtype["config"]["name"] = "float32" if stays_float32 else policy
    for value in node.values():
        _set_policies(value, policy, output_names)


def uses_mixed_precision(model) -> bool:
    """True when any layer of ``model`` computes in float16."""
    from ml.training.batch_norm import nested_layers

    return any(getattr(layer, "compute_dtype", "float32") == "float16" for layer in nested_layers(model))


def plain_model(model, plan: DistributionPlan):
    """The trained model as one float32 model on no strategy (to test, save and use anywhere); itself if already so."""
    if plan.strategy is None and not uses_mixed_precision(model):
        return model
    return with_dtype_policy(model, "float32")


def prepare_model(model, plan: DistributionPlan):
    """``model`` rebuilt in ``plan``'s scope (mirrored variables) and in float16 when the plan says so."""
    if plan.strategy is None and not plan.mixed_precision:
        return model
    with plan.scope():
        return with_dtype_policy(model, MIXED_POLICY if plan.mixed_precision else "float32")


def adapt_for_multi_worker(model, plan: DistributionPlan) -> None:
    """Let Keras 3's ``fit``/``evaluate`` run under MultiWorkerMirroredStrategy (keras-team/keras#20585).

    Keras 3.15 reduces each step's scalar metrics across workers with ``axis=0``, which fails on scalars, and
    reduces the first batch across workers before building, which fails on per-replica values. Steps here return
    one-element vectors (reduced to the same scalars), and the build uses this worker's first batch.
    """
    if plan.kind != "multi-worker":
        return
    import tensorflow as tf

    strategy = plan.strategy

    def as_vectors(step):
        def step_with_vectors(data):
            return {name: tf.reshape(value, [1]) for name, value in step(data).items()}

        return step_with_vectors

    def build_from_local_batch(self, iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                first = next(batches)
                data_batch = tf.nest.map_structure(
                    lambda value: (
                        strategy.experimental_local_results(value)[0]
                        if isinstance(value, tf.distribute.DistributedValues)
                        else value
                    ),
                    first,
                )
                break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    model.train_step = as_vectors(model.train_step)
    model.test_step = as_vectors(model.test_step)
    model._maybe_symbolic_build = types.MethodType(build_from_local_batch, model)
