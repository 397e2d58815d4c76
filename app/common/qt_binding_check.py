"""A start-up check for a Qt binding that corrupts reference counts (PySide6 6.12.0 on Python 3.11)."""

from __future__ import annotations

import platform
import sys

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QPointF

WORKING_REQUIREMENT = "PySide6-Essentials<6.12"
_PROBE_CALLS = 200


def qt_binding_drops_none_references() -> bool:
    """True when every call of a Qt method that returns nothing loses a reference to ``None``.

    PySide6 6.12.0 does this; on Python 3.11 (where ``None`` is not immortal) the interpreter aborts with
    "none_dealloc: deallocating None" after a few hundred thousand such calls, which is seconds of drawing.
    The probe itself costs at most a couple of hundred references.
    """
    if sys.version_info >= (3, 12):
        return False  # None is immortal there: its reference count cannot run out
    point = QPointF()
    before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        point.setX(1.0)
    return before - sys.getrefcount(None) >= _PROBE_CALLS // 2


def qt_binding_problem() -> str | None:
    """A user-facing explanation when the installed Qt binding cannot run Digit Lab, else None."""
    if not qt_binding_drops_none_references():
        return None
    return (
        f"PySide6 {pyside_version} has a reference-counting bug on Python {platform.python_version()} that "
        "crashes Digit Lab within seconds of drawing.\n\n"
        f"Install a working version, then start Digit Lab again:\n\n    pip install '{WORKING_REQUIREMENT}'"
    )
