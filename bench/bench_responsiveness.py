"""The window while it trains, measured in one run: event-loop stalls, training throughput, start-up times.

1. Start-up (a fresh subprocess, like ``python -m app``): seconds from launch to the main window shown, and to the
   first prediction of a digit image; the event-loop stalls between. Then the seconds to Keras's model loaded
   (TensorFlow is imported behind the first answer) and the stalls from the first prediction to then. With
   ``--startup-compare N``: N launches in each order (the window shown once the model thread's start-up work has
   settled and the hidden window has shown the warm-up answer and painted once, as the launch does; settled but not
   so prepared, the order before; and shown at once, the order before that), interleaved, with the medians per
   order; nothing else.
2. Event-loop stalls while the window trains a fixed preset on an MNIST subset: a QTimer probe fires every
   ``--probe-ms``; each stall is the actual gap minus the interval. Max and p99 are printed for the training phase
   (first batch to end of run) and, separately, for the start of a run (data, model build, first compiled step).
3. Event-loop stalls while drawing continuously with the Look inside dock open (network view and evidence overlay,
   ``--draw-seconds`` per evidence method): mouse strokes at 60 moves a second through the window's own event loop,
   each stroke predicted, traced and explained live (Integrated Gradients at each stroke's end).
4. Training throughput inside the window (``ml.training.fit.fit`` in the panel's worker thread, per-batch signals, live
   curves) vs a plain ``model.fit`` of the same model on the same pipeline, batch size and epochs, without the
   window: samples/s of the epochs after the first (compile) epoch, medians over ``--rounds`` interleaved rounds.

    QT_QPA_PLATFORM=offscreen nice -n 10 python bench/bench_responsiveness.py [--preset cnn3x3] [--samples 12000]
        [--epochs 2] [--batch-size 128] [--rounds 3] [--probe-ms 5] [--panel-only]
        [--skip-startup | --startup-only | --startup-compare N] [--draw-seconds 20 | --drawing-only] [--event-cost]

Targets: stalls max <= 50 ms and p99 <= 20 ms; throughput ratio >= 0.95.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STARTUP_CHILD = r"""
import sys, time
launched = float(sys.argv[1])
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.launch import start_then_show
from app.main_window import MainWindow
from ml.user_folders import APPLICATION, ORGANIZATION
app.setOrganizationName(ORGANIZATION)  # the app's own cache folder (converted models), as a launch would use
app.setApplicationName(APPLICATION)
window = MainWindow(QSettings(sys.argv[2], QSettings.Format.IniFormat))
if sys.argv[4] == "at-once":  # an earlier order, for comparison: shown while the model thread's start-up work runs
    window.start()
    window.show()
else:  # as the launch does; "settled-unprepared": without the hidden window's rehearsal of the first answer and paint
    start_then_show(window, prepared=sys.argv[4] != "settled-unprepared")
app.processEvents()
print("shown", time.monotonic() - launched, "tensorflow" in sys.modules, flush=True)
stalls, last = [], [time.perf_counter()]
def probe():
    now = time.perf_counter()
    stalls.append(max(0.0, (now - last[0]) * 1000.0 - 5.0))
    last[0] = now
timer = QTimer()
timer.setTimerType(Qt.TimerType.PreciseTimer)
timer.timeout.connect(probe)
timer.start(5)
answered = []
def on_prediction_shown(shown):
    if shown.get("probabilities") is not None and not answered:
        answered.append(len(stalls))
        print("first_prediction", time.monotonic() - launched, time.process_time(), flush=True)
        print("stalls", *stalls, flush=True)
        print("tensorflow_at_first_prediction", "tensorflow" in sys.modules, flush=True)
def on_model_loaded(_description):  # TensorFlow and Keras's model, behind the first answer: its stalls too
    timer.stop()
    print("model_loaded", time.monotonic() - launched, flush=True)
    print("stalls_after", *stalls[answered[0] if answered else len(stalls):], flush=True)
    window.shutdown()
    app.quit()
window.prediction_shown.connect(on_prediction_shown)
window.models.model_loaded.connect(on_model_loaded)
window.images.open_file(sys.argv[3])
QTimer.singleShot(240_000, app.quit)
app.exec()
from app.common.threads import wait_for_stopping_threads
wait_for_stopping_threads()  # the model may still be loading behind an early answer: let it finish, then exit
"""


BASELINE_PROBE_CHILD = r"""
import json, sys, threading, time
interval = float(sys.argv[1]) / 1000.0
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
stalls, last = [], time.perf_counter()
while not done.is_set():
    time.sleep(interval)
    now = time.perf_counter()
    stalls.append(max(0.0, (now - last - interval) * 1000.0))
    last = now
print(json.dumps(stalls))
"""


class BaselineProbe:
    """The same probe in a separate, idle Python process at the same priority: what the machine alone causes."""

    def __init__(self, interval_ms: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", BASELINE_PROBE_CHILD, str(interval_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def stop(self) -> list[float]:
        """End the probe and return its stalls in milliseconds."""
        output, _ = self.process.communicate("", timeout=60)
        return json.loads(output)


def window_available() -> bool:
    """True when the main window module exists in this checkout."""
    return importlib.util.find_spec("app.main_window") is not None


def write_digit_image(path: Path) -> Path:
    """Save the first MNIST test digit as a dark-on-light PNG, as a scan would look."""
    import numpy as np
    from PIL import Image

    from ml.assets import bundled_mnist_path

    with np.load(bundled_mnist_path()) as archive:
        digit = archive["x_test"][0]
    Image.fromarray((255 - digit).astype(np.uint8)).resize((280, 280), Image.Resampling.LANCZOS).save(path)
    return path


def measure_startup(folder: Path, order: str = "settled") -> dict[str, Any]:
    """Launch a fresh process that shows the main window, then predicts a digit image; probe its event loop between.

    ``order``: "settled" shows the window once the model thread's start-up work is done and the hidden window is
    prepared (as the launch does); "settled-unprepared" without that preparation; "at-once" shows it right after
    starting that work (the order before both)."""
    digit = write_digit_image(folder / "digit.png")
    baseline = BaselineProbe(5)  # what the machine alone causes meanwhile (other processes on shared cores)
    launched = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-c", STARTUP_CHILD, str(launched), str(folder / f"startup-{order}.ini"), str(digit), order],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    figures: dict[str, Any] = {"baseline_stalls": baseline.stop()}
    for line in completed.stdout.splitlines():
        words = line.split()
        if words and words[0] == "shown":
            figures["shown"] = float(words[1])
            figures["tensorflow_at_show"] = words[2] == "True"
        elif words and words[0] == "first_prediction":
            figures["first_prediction"] = float(words[1])
            figures["first_prediction_cpu"] = float(words[2])  # the process's CPU seconds: what a loaded machine hides
        elif words and words[0] == "stalls":
            figures["stalls"] = [float(word) for word in words[1:]]
        elif words and words[0] == "tensorflow_at_first_prediction":
            figures["tensorflow_at_first_prediction"] = words[1] == "True"
        elif words and words[0] == "model_loaded":
            figures["model_loaded"] = float(words[1])
        elif words and words[0] == "stalls_after":
            figures["stalls_after"] = [float(word) for word in words[1:]]
    if "first_prediction" not in figures:
        print(completed.stderr[-2000:], file=sys.stderr)
    return figures


class EventLoopProbe:
    """A precise QTimer that records, per phase, how late each timeout came (actual gap minus interval)."""

    def __init__(self, interval_ms: int, phase: Callable[[], str]) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval_ms = interval_ms
        self.phase = phase
        self.stalls_ms: dict[str, list[float]] = {}
        self.busy_ms: list[float] = []  # the window thread's own CPU time in each gap (the rest of a gap: waiting)
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._on_timeout)
        self._last = 0.0
        self._last_cpu = 0.0

    def start(self) -> None:
        """Start probing."""
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer.start()

    def stop(self) -> None:
        """Stop probing."""
        self.timer.stop()

    def _on_timeout(self) -> None:
        now = time.perf_counter()
        stall = (now - self._last) * 1000.0 - self.interval_ms
        self._last = now
        self.stalls_ms.setdefault(self.phase(), []).append(max(0.0, stall))
        cpu = time.thread_time()
        self.busy_ms.append((cpu - self._last_cpu) * 1000.0)
        self._last_cpu = cpu


def describe_late_probes(stalls: list[float], busy_ms: list[float], over_ms: float = 20.0) -> str:
    """Of the probes later than ``over_ms``: how much of each gap the window thread spent on its own CPU work; the
    rest it waited (for Python's GIL while another thread ran Python, or for a CPU on a loaded machine)."""
    import numpy as np

    late = [(stall, busy) for stall, busy in zip(stalls, busy_ms, strict=False) if stall > over_ms]
    if not late:
        return f"no probe over {over_ms:.0f} ms late"
    stall, busy = np.median(np.asarray(late), axis=0)
    return (
        f"{len(late)} probes over {over_ms:.0f} ms late: median {stall:.1f} ms late, of which the window thread's own "
        f"CPU {busy:.1f} ms (the rest waiting for the GIL or a CPU)"
    )


RUN_PHASES = ("starting", "training", "validating", "testing", "saving")


def after_first_batch(stalls: dict[str, list[float]]) -> list[float]:
    """The stalls of every phase after the first batch (training, validating, testing, saving)."""
    return [stall for phase in RUN_PHASES[1:] for stall in stalls.get(phase, [])]


def describe_stalls(stalls: list[float]) -> str:
    """``max 12.3 ms, p99 4.5 ms, p50 0.2 ms, 3 over 50 ms (of 2,345 probes)``."""
    import numpy as np

    if not stalls:
        return "no probes"
    values = np.asarray(stalls)
    return (
        f"max {values.max():.1f} ms, p99 {np.percentile(values, 99):.1f} ms, p50 {np.percentile(values, 50):.1f} ms, "
        f"{int((values > 50).sum())} over 50 ms (of {len(values):,} probes)"
    )


def wait_for(signal, timeout_ms: int, accept: Callable[..., bool] | None = None) -> bool:
    """Run the event loop until ``signal`` fires (with arguments ``accept`` likes) or the timeout passes."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    fired = []

    def on_signal(*args) -> None:
        if accept is None or accept(*args):
            fired.append(True)
            loop.quit()

    signal.connect(on_signal)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(on_signal)
    return bool(fired)


def plain_fit_samples_per_second(config) -> list[float]:
    """Per-epoch training samples/s of a plain ``model.fit`` (no Digit Lab callbacks, no window)."""
    import keras

    from ml.models.classifier import outputs_probabilities
    from ml.models.presets import build_model
    from ml.training.callbacks import make_optimizer
    from ml.training.fit import load_training_data
    from ml.training.pipelines import make_train_pipeline

    config = config.resolved()
    dataset = load_training_data(config).subset(config.max_train_samples, config.max_test_samples)
    keras.utils.set_random_seed(config.seed)
    model = build_model(config.preset, dataset.input_shape, dataset.num_classes)
    steps = -(-len(dataset.x_train) // config.batch_size)
    model.compile(
        optimizer=make_optimizer(config, steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not outputs_probabilities(model)),
        metrics=["accuracy"],
    )
    pipeline = make_train_pipeline(dataset.x_train, dataset.y_train, config.batch_size, False, config.seed)
    rates: list[float] = []
    samples = len(dataset.x_train)

    class EpochTimer(keras.callbacks.Callback):
        """Times each epoch's training batches (no validation is run, so epoch end is the last batch)."""

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None) -> None:
            float((logs or {}).get("loss", 0.0))  # the epoch's work is done once its loss can be read
            rates.append(samples / (time.perf_counter() - self.started))

    model.fit(pipeline, epochs=config.epochs, callbacks=[EpochTimer()], shuffle=False, verbose=0)
    return rates


def run_in_window(panel, config, probe_ms: int) -> tuple[list[float], dict[str, list[float]], list[float]]:
    """Train ``config`` in the panel while probing the event loop (and, as a baseline, a separate process).

    Returns the per-epoch samples/s, the event-loop stalls per phase, and the baseline process's stalls.
    """
    baseline = BaselineProbe(probe_ms)
    probe = EventLoopProbe(probe_ms, lambda: panel.run.phase)
    trained: list[dict] = []
    panel.model_trained.connect(trained.append)
    probe.start()
    if not panel.start_training(config):
        raise SystemExit(f"the panel refused to start: {panel.run.message_label.text()}")
    ended = wait_for(panel.running_changed, 30 * 60 * 1000, lambda running: not running)
    probe.stop()
    baseline_stalls = baseline.stop()
    panel.model_trained.disconnect(trained.append)
    if not ended or not trained:
        raise SystemExit(f"training did not finish: {panel.run.message_label.text()}")
    by_epoch = panel.run.samples_per_second_by_epoch
    return [by_epoch[epoch] for epoch in sorted(by_epoch)], probe.stalls_ms, baseline_stalls


def parse_arguments() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cnn3x3")
    parser.add_argument("--samples", type=int, default=12000, help="MNIST training images")
    parser.add_argument("--test-samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3, help="window runs and plain fits, interleaved")
    parser.add_argument("--probe-ms", type=int, default=5)
    parser.add_argument("--panel-only", action="store_true", help="the training panel alone, not the whole window")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--startup-only", action="store_true", help="measure start-up only, no training")
    parser.add_argument(
        "--startup-compare",
        type=int,
        default=0,
        metavar="N",
        help="launch N times in each order (settled and prepared, settled, at once), interleaved",
    )
    parser.add_argument("--draw-seconds", type=float, default=20.0, help="drawing with Look inside open, per method")
    parser.add_argument("--drawing-only", action="store_true", help="measure drawing with Look inside only")
    parser.add_argument(
        "--event-cost", action="store_true", help="only the window thread's CPU per mouse move and per result shown"
    )
    return parser.parse_args()


def report_startup(startup: dict[str, Any]) -> None:
    """Print one launch's start-up figures."""
    print(
        f"start-up (fresh process): window shown after {startup.get('shown', float('nan')):.2f} s "
        f"(TensorFlow {'already' if startup.get('tensorflow_at_show') else 'not yet'} imported), "
        f"first prediction after {startup.get('first_prediction', float('nan')):.2f} s "
        f"({startup.get('first_prediction_cpu', float('nan')):.2f} s of the process's CPU); event-loop stalls "
        f"from window shown to first prediction: {describe_stalls(startup.get('stalls', []))} (an idle separate "
        f"process over the whole launch: {describe_stalls(startup['baseline_stalls'])})",
        flush=True,
    )
    if "model_loaded" in startup:  # TensorFlow and Keras's model load behind the first answer
        imported = "already" if startup.get("tensorflow_at_first_prediction") else "not yet"
        print(
            f"  TensorFlow {imported} imported at the first prediction; Keras's model loaded after "
            f"{startup['model_loaded']:.2f} s; event-loop stalls from the first prediction to then: "
            f"{describe_stalls(startup.get('stalls_after', []))}",
            flush=True,
        )


def compare_startup_orders(folder: Path, rounds: int) -> None:
    """Launch ``rounds`` times in each order, interleaved, and print each launch and the medians per order."""
    by_order: dict[str, list[dict[str, Any]]] = {"settled": [], "settled-unprepared": [], "at-once": []}
    for _ in range(rounds):
        for order, launches in by_order.items():
            startup = measure_startup(folder, order)
            launches.append(startup)
            print(f"{order}: ", end="")
            report_startup(startup)
    for order, launches in by_order.items():
        worst = [max(launch.get("stalls") or [float("nan")]) for launch in launches]
        shown = statistics.median(launch.get("shown", float("nan")) for launch in launches)
        answered = statistics.median(launch.get("first_prediction", float("nan")) for launch in launches)
        over = sum(value > 50 for value in worst)
        print(
            f"{order}: window shown median {shown:.2f} s, first prediction median {answered:.2f} s; max stall from "
            f"shown to first prediction per launch {', '.join(f'{value:.1f}' for value in worst)} ms "
            f"(median {statistics.median(worst):.1f} ms, {over} of {len(worst)} over 50 ms)",
            flush=True,
        )


def main() -> int:
    """Run the three measurements and print the figures."""
    args = parse_arguments()
    use_window = window_available() and not args.panel_only
    folder = Path(tempfile.mkdtemp(prefix="digitlab-bench-"))
    print(
        f"Digit Lab responsiveness benchmark: preset {args.preset}, {args.samples:,} MNIST training images, "
        f"batch {args.batch_size}, {args.epochs} epochs, {args.rounds} rounds, probe every {args.probe_ms} ms, "
        f"{'main window' if use_window else 'training panel'}, QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    if use_window and not args.skip_startup:
        if args.startup_compare:
            compare_startup_orders(folder, args.startup_compare)
            return 0
        else:
            report_startup(measure_startup(folder))
    if args.startup_only:
        return 0
    if args.event_cost:
        measure_event_cost(folder)
        return 0

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = QSettings(str(folder / "bench.ini"), QSettings.Format.IniFormat)
    window = None
    if use_window:
        from app.main_window import MainWindow

        window = MainWindow(settings)
        window.resize(1360, 860)
        window.show()
        window.start()
        wait_for(window.models.model_loaded, 180_000)  # as a user would: TensorFlow and a model are loaded
        panel = window.training_panel
        # Keep each run's model out of the window's model worker, so that loading it cannot overlap the plain
        # fit that follows (and so that the benchmark measures training, not model switching).
        panel.model_trained.disconnect(window._on_model_trained)
    else:
        from app.train.panel import TrainingPanel

        panel = TrainingPanel(settings)
        panel.resize(1300, 420)
        panel.show()
    panel.run.models_folder = folder / "trained"
    app.processEvents()

    try:
        if window is not None and args.draw_seconds > 0:
            for method in (None, "gradcam", "integrated-gradients"):  # None: the dock closed, for comparison
                measure_drawing(window, method, args.draw_seconds, args.probe_ms)
        if args.drawing_only:
            return 0
        measure_training(args, panel, window)
    finally:
        if window is not None:
            window.shutdown()
            window.close()
        else:
            panel.shutdown()
    return 0


DIGIT_STROKES = (
    [(80, 60), (200, 55), (170, 140), (135, 240)],  # a 7
    [(140, 30), (142, 250)],  # a 1
    [(90, 90), (140, 40), (190, 90), (100, 240), (200, 240)],  # a 2
)


def stroke_points(corners: list[tuple[int, int]], spacing: float = 6.0) -> list[tuple[float, float]]:
    """Points every ``spacing`` document pixels along a polyline, as a mouse would report them."""
    import numpy as np

    points: list[tuple[float, float]] = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:], strict=False):
        steps = max(1, int(np.hypot(x1 - x0, y1 - y0) / spacing))
        points += [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(steps)]
    return points + [corners[-1]]


def measure_drawing(window, method: str | None, seconds: float, probe_ms: int) -> None:
    """Draw strokes at 60 mouse moves a second with the Look inside dock open (closed for ``method`` None); print
    the event loop's stalls."""
    from PySide6.QtCore import QEventLoop, QPoint, QPointF, Qt, QTimer
    from PySide6.QtTest import QTest

    dock = window.look_inside
    if method is None:
        dock.close()
    else:
        dock.open()
        dock.evidence_bar.show_check.setChecked(True)
        dock.evidence_bar.set_method(method)
    canvas = window.canvas
    counts = {"predictions": 0, "layers": 0, "evidence": 0}
    window.prediction_shown.connect(lambda shown: counts.__setitem__("predictions", counts["predictions"] + 1))
    dock.inspected.connect(
        lambda result: [counts.__setitem__(key, counts[key] + 1) for key in ("layers", "evidence") if result.get(key)]
    )

    if method is not None:  # the tracer and the explainer are built at their first use: measure after that
        canvas.clear()
        canvas.draw_stroke(DIGIT_STROKES[0], width=22)
        wait_for(dock.inspected, 120_000, lambda result: bool(result.get("evidence")) and result["final"])
        canvas.clear()

    def widget_point(x: float, y: float) -> QPoint:
        rect = canvas.document_rect()
        return QPointF(rect.x() + x * rect.width() / 280, rect.y() + y * rect.height() / 280).toPoint()

    script: list[tuple[str, QPoint | None]] = []
    for corners in DIGIT_STROKES:
        points = [widget_point(x, y) for x, y in stroke_points(corners)]
        script += [("press", points[0])] + [("move", point) for point in points[1:]] + [("release", points[-1])]
        script += [("pause", None)] * 20 + [("clear", None)]
    position = [0]

    def step() -> None:
        action, point = script[position[0] % len(script)]
        position[0] += 1
        if action == "press":
            QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
        elif action == "move":
            QTest.mouseMove(canvas, point)
        elif action == "release":
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
        elif action == "clear":
            canvas.clear()

    mouse = QTimer()
    mouse.setTimerType(Qt.TimerType.PreciseTimer)
    mouse.timeout.connect(step)
    probe = EventLoopProbe(probe_ms, lambda: "drawing")
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    handling_ms: list[float] = []  # the window thread's CPU time for each inspection the dock shows
    show_inspection = dock._on_inspection_finished

    def timed_show(result: dict) -> None:
        started = time.thread_time()
        show_inspection(result)
        handling_ms.append((time.thread_time() - started) * 1000.0)

    window.models.inspection_finished.disconnect(show_inspection)
    window.models.inspection_finished.connect(timed_show)
    baseline = BaselineProbe(probe_ms)
    probe.start()
    mouse.start(16)
    busy_before = time.thread_time()  # the window thread's own CPU time: what it costs, whatever the load
    loop.exec()
    busy = (time.thread_time() - busy_before) * 1000.0 / seconds
    mouse.stop()
    probe.stop()
    idle = baseline.stop()
    window.models.inspection_finished.disconnect(timed_show)
    window.models.inspection_finished.connect(show_inspection)
    canvas.clear()
    stalls = probe.stalls_ms.get("drawing", [])
    shown = "Look inside closed" if method is None else f"Look inside open ({method}; network view, evidence overlay)"
    print(
        f"drawing {seconds:.0f} s with {shown}: window thread busy {busy:.0f} ms per second; "
        f"{describe_stalls(stalls)}; {counts['predictions'] / seconds:.1f} predictions/s, "
        f"{counts['layers'] / seconds:.1f} layer traces/s, {counts['evidence'] / seconds:.1f} evidence maps/s "
        f"(targets: max <= 50 ms, p99 <= 20 ms); {describe_late_probes(stalls, probe.busy_ms)}; an idle separate "
        f"process meanwhile: {describe_stalls(idle)}"
        + (
            f"; one inspection shown: median {statistics.median(handling_ms):.1f} ms, max {max(handling_ms):.1f} ms "
            "of the window thread's CPU"
            if handling_ms
            else ""
        ),
        flush=True,
    )


def measure_event_cost(folder: Path, repeats: int = 6) -> None:
    """The window thread's CPU (load-independent) for each drawing event, without a model thread: a mouse move with
    its repaint, and a prediction result (preprocessed as the worker would, random probabilities) shown with its
    repaint, through every view connected to the results. Prints medians and p90s."""
    import numpy as np
    from PySide6.QtCore import QPointF, QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from ml.preprocess.pipeline import to_mnist

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(QSettings(str(folder / "events.ini"), QSettings.Format.IniFormat))
    window.resize(1360, 860)
    window.show()
    app.processEvents()
    canvas, generator, moves, shown = window.canvas, np.random.default_rng(0), [], []

    def widget_point(x: float, y: float):
        rect = canvas.document_rect()
        return QPointF(rect.x() + x * rect.width() / 280, rect.y() + y * rect.height() / 280).toPoint()

    def result_for(drawing: np.ndarray, request_id: int) -> dict:
        prepared = to_mnist(drawing, canvas=True)  # the canvas, as the worker reads it
        stages = [(stage.name, stage.image) for stage in prepared.stages]
        verdict = {"status": "digit", "runner_up": None, "calibrated": True}
        return {"request_id": request_id, "blank": prepared.blank, "reason": prepared.reason, "image": prepared.image,
                "stages": stages, "model_view": None, "probabilities": generator.dirichlet(np.full(10, 0.2)),
                "error": None, "number": None, "verdict": verdict, "final": True}  # fmt: skip

    button, no_modifier = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    for _ in range(repeats):
        for corners in DIGIT_STROKES:
            points = stroke_points(corners)
            QTest.mousePress(canvas, button, no_modifier, widget_point(*points[0]))
            for index, point in enumerate(points[1:]):
                started = time.thread_time()
                QTest.mouseMove(canvas, widget_point(*point))
                app.processEvents()
                moves.append((time.thread_time() - started) * 1000.0)
                if index % 4 == 3:  # about the rate predictions come back while drawing
                    result = result_for(canvas.prediction_input(), 10**6 + len(shown))
                    started = time.thread_time()
                    window.models.prediction_finished.emit(result)
                    app.processEvents()
                    shown.append((time.thread_time() - started) * 1000.0)
            QTest.mouseRelease(canvas, button, no_modifier, widget_point(*points[-1]))
            app.processEvents()
        canvas.clear()
        app.processEvents()
    print(
        f"window thread's CPU per event: a mouse move with its repaint median {statistics.median(moves):.2f} ms "
        f"(p90 {np.percentile(moves, 90):.2f}, {len(moves)} moves); a prediction shown with its repaint median "
        f"{statistics.median(shown):.2f} ms (p90 {np.percentile(shown, 90):.2f}, {len(shown)} results)",
        flush=True,
    )
    window.shutdown()
    window.close()


def measure_training(args: argparse.Namespace, panel, window) -> None:
    """Interleave in-window runs and plain fits (ABBA order); print the stalls and the throughput ratio."""
    from ml.training.config import TrainConfig

    window_rates: list[float] = []
    plain_rates: list[float] = []
    stalls: dict[str, list[float]] = {}
    baseline_stalls: list[float] = []
    for round_index in range(args.rounds):
        config = TrainConfig(
            preset=args.preset,
            dataset="mnist",
            epochs=args.epochs,
            batch_size=args.batch_size,
            augment=False,
            max_train_samples=args.samples,
            max_test_samples=args.test_samples,
            seed=round_index,
        )
        plain_first = round_index % 2 == 1  # A B, B A, A B, …: slow drifts of the machine's load hit both alike
        if plain_first:
            plain = plain_fit_samples_per_second(config)
        rates, round_stalls, round_baseline = run_in_window(panel, config, args.probe_ms)
        baseline_stalls.extend(round_baseline)
        for phase, values in round_stalls.items():
            stalls.setdefault(phase, []).extend(values)
        if not plain_first:
            plain = plain_fit_samples_per_second(config)
        window_rates.extend(rates[1:])
        plain_rates.extend(plain[1:])
        print(
            f"  round {round_index + 1}: in window {' / '.join(f'{rate:,.0f}' for rate in rates)} samples/s, "
            f"plain model.fit {' / '.join(f'{rate:,.0f}' for rate in plain)} samples/s (per epoch); "
            f"stalls from the first batch on: {describe_stalls(after_first_batch(round_stalls))}; "
            f"baseline process: {describe_stalls(round_baseline)}",
            flush=True,
        )

    print(f"event-loop stalls from the first batch to the end of the run: {describe_stalls(after_first_batch(stalls))}")
    for phase in RUN_PHASES:
        if stalls.get(phase):
            print(f"  {phase:>10}: {describe_stalls(stalls[phase])}")
    print(f"  baseline, an idle separate process probing alike during the runs: {describe_stalls(baseline_stalls)}")
    print("  targets: max <= 50 ms, p99 <= 20 ms")
    if window_rates and plain_rates:
        inside, plain = statistics.median(window_rates), statistics.median(plain_rates)
        print(
            f"training throughput (epochs after the first, median of {len(window_rates)}): in window {inside:,.0f} "
            f"samples/s, plain model.fit {plain:,.0f} samples/s, ratio {inside / plain:.3f} (target >= 0.95)"
        )
    else:
        print("training throughput: run at least 2 epochs to measure past the compile epoch")


if __name__ == "__main__":
    sys.exit(main())
