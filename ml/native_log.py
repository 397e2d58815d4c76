"""TensorFlow's start-up chatter kept off the terminal; real errors still shown; ``DIGITLAB_DEBUG=1`` shows all.

TensorFlow 2.18+ logs through absl from C++ straight to file descriptor 2, before Python's logging exists and
whatever ``TF_CPP_MIN_LOG_LEVEL`` says ("All log messages before absl::InitializeLog() is called are written to
STDERR", oneDNN notices, "Could not find cuda drivers", "failed call to cuInit"). So while TensorFlow is imported
and looks for GPUs, descriptor 2 goes to a temporary file; afterwards every line that is not such chatter (errors,
fatal messages, anything unrecognised) is written to the real stderr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping

DEBUG_VARIABLE = "DIGITLAB_DEBUG"
_TRUE = {"1", "true", "yes", "on"}
# absl / glog lines ("I0000 00:00:17962.65 7807 port.cc:153] ...") and TSL's ("2025-09-17 14:44:05.15: I ext/...] ")
_LOG_LINE = re.compile(r"^(?:(?P<absl>[IWEF])\d{4} [\d:.]+\s+\d+ |\d{4}-\d\d-\d\d [\d:.]+: (?P<tsl>[IWEF]) )")
_CHATTER_ERRORS = re.compile(
    r"cuInit|Unable to register cu(?:DNN|FFT|BLAS) factory|Could not find cuda drivers|TensorRT|"
    r"computation placer already registered|cuda_dnn|cuda_blas|cuda_fft",
    re.IGNORECASE,
)
_CHATTER_TEXT = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "To enable the following instructions:",
)


def debug_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``DIGITLAB_DEBUG`` asks for TensorFlow's own messages (``1``, ``true``, ``yes`` or ``on``)."""
    environ = os.environ if environ is None else environ
    return environ.get(DEBUG_VARIABLE, "").strip().lower() in _TRUE


def request_debug() -> None:
    """What ``--verbose`` does: the same as starting with ``DIGITLAB_DEBUG=1``."""
    os.environ[DEBUG_VARIABLE] = "1"


def configure_tensorflow_logging() -> bool:
    """Set TensorFlow's log levels before it is imported; return True when quiet (no ``DIGITLAB_DEBUG``).

    A level the user set in ``TF_CPP_MIN_LOG_LEVEL`` is kept either way.
    """
    quiet = not debug_requested()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3" if quiet else "0")
    quiet_python_loggers()
    return quiet


def is_chatter(line: str) -> bool:
    """Whether one stderr line is start-up chatter (information, warnings, a missing GPU) rather than an error."""
    stripped = line.strip()
    if not stripped or any(stripped.startswith(text) for text in _CHATTER_TEXT):
        return True
    match = _LOG_LINE.match(stripped)
    if match is None:
        return False
    level = match.group("absl") or match.group("tsl")
    if level in ("I", "W"):
        return True
    return level == "E" and bool(_CHATTER_ERRORS.search(stripped))


@contextlib.contextmanager
def native_chatter_filtered(enabled: bool = True) -> Iterator[None]:
    """Hold back descriptor 2 while the block runs, then write its lines that are not chatter to stderr."""
    if not enabled:
        yield
        return
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
        capture = tempfile.TemporaryFile()
    except OSError:
        yield
        return
    try:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines() if not is_chatter(line)]
            if kept:
                os.write(2, ("\n".join(kept) + "\n").encode("utf-8", "replace"))
    finally:
        os.close(saved)
        capture.close()


def start_tensorflow_quietly() -> None:
    """Import TensorFlow and let it look for GPUs with the chatter held back (unless ``DIGITLAB_DEBUG``).

    An import that fails is left for the caller's own import to report.
    """
    quiet = configure_tensorflow_logging()
    with native_chatter_filtered(quiet):
        try:
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # where "failed call to cuInit" is printed
        except Exception:  # noqa: BLE001 - the caller's import reports it in its own words
            return
    configure_tensorflow_logging()  # again: importing absl's logging resets its logger's level


def quiet_python_loggers() -> None:
    """Keep absl's and TensorFlow's Python warnings (legacy HDF5, retracing) off the terminal unless debugging."""
    if not debug_requested():
        for name in ("absl", "tensorflow"):
            logging.getLogger(name).setLevel(logging.ERROR)
