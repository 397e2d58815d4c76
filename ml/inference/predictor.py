"""Class probabilities for single images in well under a millisecond: a verified TFLite or XLA fast path."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ml.atomic_files import write_bytes_atomically
from ml.inference.model_input import prepare_for_model
from ml.inference.scoring import BatchScorer, as_probabilities
from ml.inference.tflite import convert_to_tflite, tflite_runner
from ml.models.files import LoadedModel

logger = logging.getLogger(__name__)

BACKENDS = ("tflite", "xla", "tf.function", "eager")
PROBABILITY_TOLERANCE = 1e-4  # a fast path must match Keras's probabilities this closely
_VERIFICATION_IMAGES = 4
_TFLITE_THREADS = 1  # one thread is fastest for a model this small and leaves the other core to the GUI
TFLITE_CACHE_KEPT = 20  # converted models kept in a cache folder (the least recently used go first)
FAST_PATH_BATCH = 64
"""Batches up to this size (a number's candidate parts: about 40 for six digits) go image by image through the verified
fast path: no graph to trace at the first one (0.3-0.4 s of CPU holding the GIL in the model thread, a freeze of the
window mid-drawing), and about as quick."""

RunBatch = Callable[[np.ndarray], np.ndarray]


class Predictor:
    """Class probabilities for one image, fast."""

    def __init__(self, loaded: LoadedModel, tflite_cache: Path | None = None) -> None:
        """Build and verify the fastest inference path for ``loaded`` (takes a second or two).

        With ``tflite_cache`` (a folder), the TFLite conversion is kept there and reused for the same model: the
        conversion holds Python's GIL for about 0.2 s, which a window would feel as a freeze.
        """
        self.loaded = loaded
        self.class_names: list[str] = list(loaded.metadata.class_names)
        self.scorer = BatchScorer(loaded)
        self.applies_softmax = self.scorer.applies_softmax
        self._input_shape = tuple(loaded.input_shape)
        self._single_shape = (1, *self._input_shape)
        self._lock = threading.Lock()  # a TFLite interpreter must not run two invocations at once
        self.fallback_reasons: dict[str, str] = {}
        self._tflite_cache_file = tflite_cache_file(loaded, Path(tflite_cache)) if tflite_cache is not None else None
        self._converted_flatbuffer: bytes | None = None
        self.backend, self._run_single = self._choose_single_image_path()

    # ------------------------------------------------------------------------------------------ public

    @property
    def temperature(self) -> float | None:
        """The model card's temperature, applied to every probability this predictor returns (None: raw)."""
        return self.loaded.metadata.temperature

    def predict_one(self, image28: np.ndarray) -> np.ndarray:
        """(28, 28) float32 white-on-black in [0, 1] -> (k,) probabilities summing to 1 (calibrated, if the card
        has a temperature)."""
        image28 = np.asarray(image28)
        if image28.ndim != 2:
            raise ValueError(f"predict_one expects one (28, 28) image, got shape {image28.shape}.")
        model_input = self._prepare(image28[np.newaxis])
        with self._lock:
            raw = self._run_single(model_input)
        return self.scorer.calibrate(self._to_probabilities(raw))[0]

    def predict_batch(self, images28: np.ndarray, batch_size: int = 256, calibrated: bool = True) -> np.ndarray:
        """(N, 28, 28) images -> (N, k) probabilities, in batches of ``batch_size``; ``calibrated=False``: raw."""
        images28 = np.asarray(images28)
        if images28.ndim != 3:
            raise ValueError(f"predict_batch expects (N, 28, 28) images, got shape {images28.shape}.")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1.")
        if 0 < len(images28) <= FAST_PATH_BATCH:
            return self._predict_few(images28, calibrated)
        rows = [
            self.scorer.raw_probabilities(self._prepare(images28[start : start + batch_size]))
            for start in range(0, len(images28), batch_size)
        ]
        if not rows:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        probabilities = np.concatenate(rows)
        return self.scorer.calibrate(probabilities) if calibrated else probabilities

    # ----------------------------------------------------------------------------------------- helpers

    def _predict_few(self, images28: np.ndarray, calibrated: bool) -> np.ndarray:
        """A small batch, image by image through the single-image fast path (within its verified tolerance)."""
        model_inputs = self._prepare(images28)
        with self._lock:
            raw = np.concatenate([self._run_single(model_inputs[index : index + 1]) for index in range(len(images28))])
        probabilities = self._to_probabilities(raw)
        return self.scorer.calibrate(probabilities) if calibrated else probabilities

    def _prepare(self, images28: np.ndarray) -> np.ndarray:
        """Digit Lab's 28x28 white-on-black [0, 1] images -> the batch this model expects."""
        return prepare_for_model(images28, self._input_shape, self.loaded.metadata)

    def _to_probabilities(self, raw: np.ndarray) -> np.ndarray:
        return as_probabilities(raw, self.applies_softmax, self.scorer.sigmoid_per_class)

    def _choose_single_image_path(self) -> tuple[str, RunBatch]:
        """The first backend that builds and reproduces Keras's probabilities within the tolerance."""
        samples = self._verification_batches()
        references = [self._to_probabilities(self._keras_eager(sample)) for sample in samples]
        candidates: list[tuple[str, Callable[[], RunBatch | None]]] = [
            ("tflite", self._load_cached_tflite),
            ("tflite", self._build_tflite),
            ("xla", lambda: self._build_graph(jit_compile=True)),
            ("tf.function", lambda: self._build_graph(jit_compile=False)),
        ]
        for name, build in candidates:
            try:
                run = build()
                if run is None:
                    continue  # nothing cached
                difference = max(
                    float(np.abs(self._to_probabilities(run(sample)) - reference).max())
                    for sample, reference in zip(samples, references, strict=True)
                )
            except Exception as error:  # a backend that cannot handle this model is simply skipped
                self.fallback_reasons[name] = f"{type(error).__name__}: {error}"
                difference = None
            if difference is not None and difference <= PROBABILITY_TOLERANCE:
                logger.debug("Predictor backend %s (max difference %.2g)", name, difference)
                self.fallback_reasons.pop(name, None)
                if build == self._build_tflite:
                    self._store_tflite()
                return name, run
            if difference is not None:
                self.fallback_reasons[name] = f"probabilities differ from Keras by {difference:.3g}"
            if build == self._load_cached_tflite:
                self._forget_cached_tflite()  # damaged or stale: convert afresh
        return "eager", self._keras_eager

    def _verification_batches(self) -> list[np.ndarray]:
        """A few realistic single-image model inputs: random strokes on black, through the usual adaptation."""
        generator = np.random.default_rng(0)
        images = generator.random((_VERIFICATION_IMAGES, 28, 28), dtype=np.float32)
        images *= generator.random((_VERIFICATION_IMAGES, 28, 28)) < 0.3
        images[0] = 0.0  # a blank canvas is a common input too
        return [self._prepare(image[np.newaxis]) for image in images]

    def _keras_eager(self, batch: np.ndarray) -> np.ndarray:
        return keras.ops.convert_to_numpy(self.loaded.model(batch, training=False))

    def _build_graph(self, jit_compile: bool) -> RunBatch:
        """A traced (optionally XLA-compiled) single-image function."""
        model = self.loaded.model
        graph = tf.function(
            lambda batch: model(batch, training=False),
            input_signature=[tf.TensorSpec(self._single_shape, tf.float32)],
            jit_compile=jit_compile,
        )
        return lambda batch: graph(batch).numpy()

    def _build_tflite(self) -> RunBatch:
        """Convert the inference graph (batch 1) to TFLite and return a function that runs the interpreter."""
        self._converted_flatbuffer = convert_to_tflite(self.loaded.model, self._single_shape)
        return self._run_tflite(self._converted_flatbuffer)

    def _run_tflite(self, flatbuffer: bytes) -> RunBatch:
        """A function that runs a TFLite flatbuffer's interpreter on one batch."""
        return tflite_runner(flatbuffer, threads=_TFLITE_THREADS)

    # ------------------------------------------------------------------------------------- TFLite cache

    def _load_cached_tflite(self) -> RunBatch | None:
        """The interpreter of a cached conversion of this model, or None when none is cached."""
        path = self._tflite_cache_file
        if path is None or not path.is_file():
            return None
        flatbuffer = path.read_bytes()
        with contextlib.suppress(OSError):
            os.utime(path)  # most recently used
        return self._run_tflite(flatbuffer)

    def _store_tflite(self) -> None:
        """Keep the verified conversion in the cache (atomically), and prune the oldest entries."""
        path, flatbuffer = self._tflite_cache_file, self._converted_flatbuffer
        if path is None or flatbuffer is None:
            return
        try:
            write_bytes_atomically(path, flatbuffer)
            entries = sorted(path.parent.glob("*.tflite"), key=lambda entry: entry.stat().st_mtime, reverse=True)
            for old in entries[TFLITE_CACHE_KEPT:]:
                old.unlink(missing_ok=True)
        except OSError as error:
            logger.debug("Could not cache the TFLite model: %s", error)

    def _forget_cached_tflite(self) -> None:
        """Delete this model's cached conversion (it failed to load or to match Keras)."""
        path = self._tflite_cache_file
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def tflite_cache_file(loaded: LoadedModel, folder: Path) -> Path | None:
    """The cache file for ``loaded``'s TFLite conversion: named by a digest of TensorFlow's version, the input
    shape, the architecture and every weight; None for a model without a config (converted every time)."""
    try:
        model = loaded.model
        digest = hashlib.sha256(f"{tf.__version__} {tuple(loaded.input_shape)}".encode())
        digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
        for weight in model.weights:  # not model.variables: those include random-seed states, new at every load
            digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    except Exception as error:  # noqa: BLE001 - e.g. a subclassed model without get_config
        logger.debug("No TFLite cache key: %s", error)
        return None
    return folder / f"{digest.hexdigest()}.tflite"
