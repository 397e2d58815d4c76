"""The evaluation workspace while it judges the bundled model on the 10,000 MNIST test images.

In one process, as the window runs them: the model thread (``ModelController``) with the bundled model, and the
workspace running its evaluation job in its own thread. Measured in each round:

- the job's wall time, from Run to the result shown (its own model copy loaded, every image scored, every figure);
- the GUI thread's event-loop stalls meanwhile (a 5 ms probe timer: how late each tick fires);
- live predictions on the model thread meanwhile (one canvas drawing at a time, round trip), against the same
  predictions with the workspace idle, in the same run;
- showing the same result again (from the cache).

Usage: ``python bench/bench_evaluate_window.py [--rounds 3] [--predictions 40]``. Prints medians over the rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.evaluate.workspace import EvaluationWorkspace  # noqa: E402
from app.models.controller import ModelController  # noqa: E402
from ml.assets import bundled_model_path  # noqa: E402
from ml.preprocess.pipeline import render_mnist_on_canvas  # noqa: E402

PROBE_MS = 5


def wait_for(signal, timeout_ms: int = 600_000) -> list:
    """Run the event loop until ``signal`` fires; its arguments."""
    loop = QEventLoop()
    received: list = []

    def done(*args) -> None:
        received.extend(args)
        loop.quit()

    signal.connect(done)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(done)
    return received


class StallProbe:
    """A 5 ms timer; each tick records how much later than due it fired."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.lateness: list[float] = []

    def start(self) -> None:
        self.lateness = []
        self.clock.start()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.lateness

    def _tick(self) -> None:
        elapsed = self.clock.nsecsElapsed() / 1e6
        self.lateness.append(max(0.0, elapsed - PROBE_MS))
        self.clock.restart()


def drawings(count: int) -> list[np.ndarray]:
    """MNIST test digits drawn on the 280x280 canvas, as the window hands them to the model thread."""
    with np.load(bundled_model_path().parents[1] / "data" / "mnist.npz") as archive:
        digits = archive["x_test"][:count].astype(np.float32) / 255.0
    return [render_mnist_on_canvas(digit).astype(np.float32) / 255.0 for digit in digits]


def prediction_latencies(models: ModelController, canvases: list[np.ndarray], keep_going=lambda: True) -> list[float]:
    """Round-trip milliseconds of one prediction at a time (while ``keep_going()``)."""
    latencies = []
    for canvas in canvases:
        if not keep_going():
            break
        start = time.perf_counter()
        models.request_prediction(canvas)
        wait_for(models.prediction_finished, 60_000)
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--predictions", type=int, default=40)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication(sys.argv)
    models = ModelController([(str(bundled_model_path()), "bundled")])
    models.start()
    (description,) = wait_for(models.model_loaded)
    canvases = drawings(args.predictions)
    prediction_latencies(models, canvases[:5])  # warm the fast path

    settings = QSettings(str(Path("/tmp") / "bench-evaluate-window.ini"), QSettings.Format.IniFormat)
    rows = []
    for round_number in range(1, args.rounds + 1):
        idle = prediction_latencies(models, canvases)
        workspace = EvaluationWorkspace(settings)
        workspace.set_model(description)
        workspace.show()
        probe = StallProbe()
        probe.start()
        start = time.perf_counter()
        workspace.run_evaluation()
        runner = workspace.runner
        busy = prediction_latencies(models, canvases, keep_going=lambda runner=runner: runner.is_running)
        if workspace.runner.is_running:
            wait_for(workspace.runner.running_changed)
        wall = time.perf_counter() - start
        stalls = probe.stop()
        assert workspace.result is not None, workspace.message_label.text()
        accuracy = workspace.result.payload["evaluation"].report.accuracy
        cached_start = time.perf_counter()
        workspace.run_evaluation()
        cached_ms = (time.perf_counter() - cached_start) * 1000
        rows.append(
            {
                "wall_s": wall,
                "accuracy": accuracy,
                "stall_max": max(stalls),
                "stall_p99": percentile(stalls, 99),
                "idle_p50": percentile(idle, 50),
                "busy_p50": percentile(busy, 50),
                "busy_p95": percentile(busy, 95),
                "busy_count": len(busy),
                "cached_ms": cached_ms,
            }
        )
        print(
            f"round {round_number}: evaluation {wall:.1f} s ({accuracy * 100:.2f} %), GUI stalls max "
            f"{max(stalls):.1f} ms p99 {percentile(stalls, 99):.1f} ms; live prediction p50 {percentile(busy, 50):.1f} "
            f"ms (p95 {percentile(busy, 95):.1f}, {len(busy)} during the job) vs idle {percentile(idle, 50):.1f} ms; "
            f"cached result shown in {cached_ms:.0f} ms",
            flush=True,
        )
        workspace.runner.shutdown(30_000)
        workspace.close()
        workspace.deleteLater()
        QCoreApplication.processEvents()

    def median(key: str) -> float:
        return statistics.median(row[key] for row in rows)

    ratio = median("busy_p50") / median("idle_p50")
    print(
        f"median of {len(rows)} rounds: evaluation of 10,000 images {median('wall_s'):.1f} s; GUI stalls max "
        f"{median('stall_max'):.1f} ms, p99 {median('stall_p99'):.1f} ms; live prediction p50 "
        f"{median('busy_p50'):.1f} ms during the job vs {median('idle_p50'):.1f} ms idle (ratio {ratio:.2f}), "
        f"p95 {median('busy_p95'):.1f} ms; cached result shown in {median('cached_ms'):.0f} ms"
    )
    models.shutdown(10_000)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
