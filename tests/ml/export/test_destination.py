"""The destination checks load without TensorFlow, so the window's dialog applies them as the exporter does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_destination_checks_and_the_export_dialog_load_without_tensorflow():
    code = (
        "import json, sys; import ml.export.destination, app.models.export_dialog; "
        "print(json.dumps(sorted(name for name in ('tensorflow', 'keras', 'h5py') if name in sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
