"""``digitlab train --distributed``: two worker processes on 127.0.0.1, one epoch; only the chief keeps files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TIME_LIMIT = 150  # seconds for the whole job; the two workers are killed past it


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now (bound to port 0 and released together, so they differ)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for handle in sockets:
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def start_worker(index: int, ports: list[int], folder: Path) -> subprocess.Popen:
    """``digitlab train --distributed`` as worker ``index`` of a two-worker cluster."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    env = {
        **os.environ,
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": str(ROOT),
    }
    out = folder / f"worker{index}"
    command = [
        sys.executable,
        "-c",
        "import sys; from ml.cli.main import main; sys.exit(main(sys.argv[1:]))",
        "train",
        "--distributed",
        "--preset",
        "fast",
        "--dataset",
        "sklearn-digits",  # small and quick to load: the job, not the data, is under test
        "--epochs",
        "1",
        "--max-train-samples",
        "512",
        "--batch-size",
        "64",
        "--out",
        str(out / "model.keras"),
        "--checkpoint",
        str(out / "best.keras"),
    ]
    log = open(folder / f"worker{index}.log", "w")  # noqa: SIM115 - closed with the process below
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log = log  # type: ignore[attr-defined]
    return process


def summary_line(log: str) -> str:
    """The epoch's summary (``epoch 1/1: loss … val_acc …``) without its elapsed time."""
    lines = [part for part in log.replace("\r", "\n").splitlines() if part.startswith("epoch 1/1:")]
    assert lines, log[-2000:]
    return lines[-1].split(" lr ")[0]


def test_two_workers_train_one_epoch_and_only_the_chief_writes_the_model_and_checkpoint(tmp_path):
    try:
        ports = free_ports(2)
    except OSError as error:  # the workers talk gRPC over 127.0.0.1
        pytest.skip(f"no loopback TCP here for the workers' gRPC servers: {error}")
    workers = [start_worker(index, ports, tmp_path) for index in (0, 1)]
    deadline = time.monotonic() + TIME_LIMIT
    try:
        for worker in workers:
            worker.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pytest.fail(f"the two-worker job did not finish within {TIME_LIMIT} s")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            worker.log.close()
    logs = [(tmp_path / f"worker{index}.log").read_text() for index in (0, 1)]
    assert [worker.returncode for worker in workers] == [0, 0], "\n\n".join(log[-3000:] for log in logs)
    assert "2 workers (MultiWorkerMirroredStrategy), this one chief 0, 2 replicas" in logs[0]
    assert "2 workers (MultiWorkerMirroredStrategy), this one worker 1, 2 replicas" in logs[1]
    assert "epoch 1/1" in logs[0] and "epoch 1/1" in logs[1]
    summaries = [summary_line(log) for log in logs]
    assert summaries[0] == summaries[1]  # one model trained in step: the same loss and accuracy, reduced over both
    accuracies = [float(line.split(":")[1]) for log in logs for line in log.splitlines() if line.startswith("test acc")]
    assert len(accuracies) == 2 and abs(accuracies[0] - accuracies[1]) < 0.02  # batch-norm statistics stay local
    assert (tmp_path / "worker0" / "model.keras").is_file()
    assert (tmp_path / "worker0" / "best.keras").is_file()
    assert not (tmp_path / "worker1").exists()  # the other worker wrote only into a temporary folder, removed
    assert "the chief saves the model" in logs[1]


def test_distributed_without_tf_config_says_what_to_set(tmp_path, capsys, monkeypatch):
    from ml.cli.main import main

    monkeypatch.delenv("TF_CONFIG", raising=False)
    status = main(["train", "--distributed", "--preset", "fast", "--out", str(tmp_path / "m.keras")])
    assert status == 2
    error = capsys.readouterr().err
    assert "--distributed needs the TF_CONFIG environment variable" in error and "Nothing was trained" in error
    assert not (tmp_path / "m.keras").exists()
