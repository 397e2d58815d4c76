"""The ``digitlab`` entry point: subcommands go to the CLI; without a screen the bare command explains itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_digitlab(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *arguments], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=120,
    )


def test_without_a_display_the_bare_command_says_what_to_do_instead_of_crashing():
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = run_digitlab(environment=environment)
    assert result.returncode == 2
    assert "no display found" in result.stderr and "xvfb-run" in result.stderr
    assert "Reinstalling" not in result.stderr  # Qt's misleading abort message never appears


def test_subcommands_work_without_a_display():
    environment = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "QT_QPA_PLATFORM")}
    result = run_digitlab("presets", environment=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[0].split()[:2] == ["preset", "parameters"]


def test_ctrl_c_while_a_command_starts_says_interrupted_without_a_traceback(tmp_path):
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "app", "predict", str(tmp_path / "seven.png")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1.0)  # still importing numpy, Pillow and the CLI's modules
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "interrupted" in stderr and "Traceback" not in stderr
