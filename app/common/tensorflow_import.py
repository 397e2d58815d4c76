"""Import TensorFlow in a worker thread without freezing the window's thread.

Importing TensorFlow holds Python's GIL for long stretches, and the window's thread needs the GIL to run at all:

- loading its native libraries (the dynamic loader runs their static initialisers): about 220 ms in one go;
- the cyclic garbage collector's full passes over the ~400,000 new objects: 30 to 220 ms each, five or six times.

Measured on the start-up path, each was an event-loop stall of the same length. Here the native libraries are loaded
first through ``dlopen`` called with the GIL released (the import then finds them loaded), the collector is paused
during the import (an import makes little garbage), and the imported objects are then frozen out of later full
passes (they live as long as the process), which also keeps training's own collections short.
"""

from __future__ import annotations

import ctypes
import gc
import importlib.util
import logging
import sys
import threading
from pathlib import Path
from types import ModuleType

from PySide6.QtCore import QObject, Signal, Slot

from ml.native_log import configure_tensorflow_logging, native_chatter_filtered

logger = logging.getLogger(__name__)

NATIVE_LIBRARY_PATTERNS = ("libtensorflow_framework.so.*", "libtensorflow_cc.so.*")  # dependency order
_FROZEN_ONCE = threading.Event()


def tensorflow_native_libraries() -> list[Path]:
    """TensorFlow's large shared libraries in the installed package (Linux wheels); empty elsewhere."""
    if not sys.platform.startswith("linux"):
        return []
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        return []
    package = Path(next(iter(spec.submodule_search_locations)))
    return [path for pattern in NATIVE_LIBRARY_PATTERNS for path in sorted(package.glob(pattern))]


def preload_without_gil(paths: list[Path]) -> int:
    """``dlopen`` each library with the GIL released and the flags an import would use; return how many loaded."""
    try:
        libc = ctypes.CDLL(None)  # a CDLL function call releases the GIL for its duration
        dlopen = libc.dlopen
    except (OSError, AttributeError):
        return 0
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    dlopen.restype = ctypes.c_void_p
    loaded = 0
    for path in paths:
        if dlopen(str(path).encode(), sys.getdlopenflags()):
            loaded += 1  # the handle is kept on purpose: the import reuses the loaded library
        else:
            logger.debug("Could not preload %s; the import will load it", path)
    return loaded


def import_array_types_before_showing() -> bool:
    """Import ``ml_dtypes`` (the numpy types TensorFlow and Keras add) in the calling thread; False when absent.

    Its C initialiser registers casts and ufunc loops for each of its types in one call that holds the GIL for
    0.5 to 0.9 s (measured on the 2-core development machine, numpy 2.3 and 2.4 alike). Imported by TensorFlow in the
    model thread, that was one event-loop freeze of the shown window; called by the window's thread before the
    window shows, it freezes nothing the user sees.
    """
    if importlib.util.find_spec("ml_dtypes") is None:
        return False
    try:
        import ml_dtypes  # noqa: F401 - imported for its registration with numpy
    except ImportError as error:  # a broken install: TensorFlow's own import will say so in the window
        logger.debug("ml_dtypes could not be imported early: %s", error)
        return False
    return True


def import_tensorflow() -> tuple[ModuleType, ModuleType]:
    """Import and return ``(tensorflow, keras)`` with the GIL held as little as possible (see the module)."""
    quiet = configure_tensorflow_logging()
    collecting = gc.isenabled()
    with native_chatter_filtered(quiet):  # TensorFlow's start-up chatter, unless DIGITLAB_DEBUG=1
        preload_without_gil(tensorflow_native_libraries())
        gc.disable()
        try:
            import keras
            import tensorflow

            tensorflow.config.list_physical_devices("GPU")  # where "failed call to cuInit" is printed
        finally:
            if not _FROZEN_ONCE.is_set():  # once per process: a later freeze would also keep garbage that then exists
                _FROZEN_ONCE.set()
                gc.freeze()  # before re-enabling: else the first young-generation pass walks every imported object
            if collecting:
                gc.enable()
    return tensorflow, keras


class TensorFlowImport(QObject):
    """A one-shot job that imports TensorFlow in its own thread (``start_worker_thread``), so that the model thread
    keeps answering drawings with the shipped numpy weights meanwhile; ``finished`` carries "" or the error."""

    finished = Signal(str)

    @Slot()
    def run(self) -> None:
        """Import TensorFlow and Keras; the model thread then picks the device and loads the model."""
        try:
            import_tensorflow()
            problem = ""
        except Exception as error:  # noqa: BLE001 - the model thread tries again and reports it in plain words
            logger.debug("TensorFlow's import failed in its own thread", exc_info=True)
            problem = f"{type(error).__name__}: {error}"
        self.finished.emit(problem)
