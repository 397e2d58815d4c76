"""The terminal's progress bar, Ctrl+C during a run, and TensorFlow's quiet start."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from ml.native_log import start_tensorflow_quietly
from ml.plurals import plural
from ml.training.reports import format_duration


def quiet_tensorflow() -> None:
    """Keep TensorFlow's start-up chatter off the terminal (unless ``--verbose`` or ``DIGITLAB_DEBUG=1``)."""
    start_tensorflow_quietly()


class TerminalProgress:
    """A one-line progress bar per batch with ETA and samples/s, and a line per epoch."""

    def __init__(self, stream: TextIO | None = None, width: int = 28) -> None:
        self.stream = stream if stream is not None else sys.stderr  # looked up now, not at import
        self.width = width
        self.last_draw = 0.0
        self.line_open = False  # a bar is drawn and its line not finished (a run that ended mid-epoch)

    def on_batch(self, report: dict) -> None:
        """Redraw the bar (at most 20 times a second)."""
        now = time.perf_counter()
        if report["batch"] < report["steps"] and now - self.last_draw < 0.05:
            return
        self.last_draw = now
        done = report["batch"] / max(report["steps"], 1)
        filled = int(done * self.width)
        speed = report["samples_per_second"]
        remaining_samples = (report["steps"] - report["batch"]) * report.get("batch_size", 0)
        remaining = remaining_samples / speed if speed > 0 else 0.0
        bar = "█" * filled + "·" * (self.width - filled)
        self.stream.write(
            f"\repoch {report['epoch']}/{report['epochs']} |{bar}| {report['batch']}/{report['steps']} "
            f"loss {report['loss']:.4f} acc {report['accuracy']:.4f} "
            f"{speed:,.0f} samples/s ETA {format_duration(remaining)}  "
        )
        self.stream.flush()
        self.line_open = True

    def finish(self) -> None:
        """End a bar's line that no epoch line ended (a NaN loss, a stop), so the next message starts its own."""
        if self.line_open:
            self.stream.write("\n")
            self.stream.flush()
            self.line_open = False

    def on_epoch(self, report: dict) -> None:
        """Finish the bar line with the epoch's summary."""
        epoch = f"stopped at epoch {report['epoch']:.2f}" if report.get("partial") else f"epoch {report['epoch']}"
        self.stream.write(
            f"\r{epoch}/{report['epochs']}: loss {report['loss']:.4f} "
            f"acc {report['accuracy']:.4f} val_loss {report.get('val_loss', float('nan')):.4f} "
            f"val_acc {report.get('val_accuracy', float('nan')):.4f} lr {report['learning_rate']:.2e} "
            f"[{format_duration(report['elapsed'])}]" + " " * 30 + "\n"
        )
        self.stream.flush()
        self.line_open = False


class StopRequest:
    """Ctrl+C during ``digitlab train`` (install it as the SIGINT handler): the first asks the run to stop after the
    current batch, a second aborts (``KeyboardInterrupt``). ``is_set`` is the run's ``should_stop``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.event = threading.Event()
        self.training_done = False  # no batch is left: the last one has been reported, or the run ended early
        self.last_batch: dict | None = None

    def is_set(self) -> bool:
        """Whether Ctrl+C was pressed."""
        return self.event.is_set()

    def on_batch(self, report: dict) -> None:
        """Note each batch, to know when the stop can no longer cut training short."""
        self.last_batch = report
        last = report["epoch"] == report["epochs"] and report["batch"] == report["steps"]
        self.training_done = self.training_done or last

    def batches_ended(self) -> None:
        """``fit`` says no batch is left (the last epoch, early stopping, a NaN loss): a stop can change nothing."""
        self.training_done = True

    def __call__(self, signum, frame) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        if self.training_done:
            self.stream.write("\nThe run has finished training; it is being tested and saved")
        else:
            self.stream.write("\nStopping after this batch…")
        self.stream.write(" (press Ctrl+C again to abort without saving)\n")

    def trained_so_far(self, result) -> str:
        """How much a stopped run trained: ``2 epochs``, or ``1.04 epochs`` for a stop 4 % into the second (Keras
        counts the epoch a stop cuts short as a whole one)."""
        report = self.last_batch
        if result.stopped_by_user and report is not None and 0 < report["batch"] < (report.get("steps") or 0):
            return f"{report['epoch'] - 1 + report['batch'] / report['steps']:.2f} epochs"
        return plural(result.epochs_completed, "epoch")

    def came_too_late(self, result, saving: bool = True) -> str | None:
        """What to say when Ctrl+C was pressed but the run ended without stopping for it (after its last batch)."""
        if not self.is_set() or result.stopped_by_user:
            return None
        return "The stop came after the last batch: the run had already finished training" + (
            "; saving it." if saving else "."
        )
