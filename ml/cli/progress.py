"""The terminal's progress bar and TensorFlow's quiet start."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ml.native_log import start_tensorflow_quietly
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
