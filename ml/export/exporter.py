"""Export a classifier to TFLite (float or int8), a TensorFlow SavedModel or Keras HDF5: written atomically,
reloaded and compared with the Keras model on reference test images (MNIST; scikit-learn's digits for a model trained
on them) before it replaces anything.

Metadata the format cannot hold (class names, input convention, the model card, the verification figures) goes in a
sidecar named after the whole export beside it (``digits.tflite.json``, ``digits.savedmodel.json`` for a SavedModel
folder ``digits``), so exports that share a stem, or a file of the user's, are never overwritten; an ``.h5`` keeps its
card inside, as Digit Lab's saves do.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import tensorflow as tf

from ml import __version__
from ml.export.destination import (
    FORMATS,
    ExportError,
    check_destination,
    format_name,
    sidecar_path,
    workspace_beside,
)
from ml.export.verification import (
    ReferenceImages,
    Verification,
    compare,
    keras_probabilities,
    labels_apply,
    mnist_reference,
    model_inputs,
    sklearn_digits_reference,
    trained_on_sklearn_digits,
)
from ml.inference.predictor import PROBABILITY_TOLERANCE, as_probabilities
from ml.inference.tflite import convert_to_tflite, native_stderr_silenced, tflite_io_details, tflite_runner
from ml.models.classifier import outputs_probabilities
from ml.models.files import LoadedModel, load_model, save_model
from ml.models.limits import shorten
from ml.plurals import plural

MAX_INT8_ACCURACY_DROP = 0.02
"""An int8 export that loses more accuracy than this (or, without labels, disagrees this often) is refused."""

Progress = Callable[[str], None]
CALIBRATION_FORMULA = "softmax(log p / T)"


@dataclass(frozen=True)
class ExportReport:
    """What was written and how closely it matches the Keras model."""

    format: str
    path: Path
    sidecar: Path | None
    size_bytes: int
    verification: Verification
    temperature: float | None = None  # the model's stored calibration, which the export's probabilities lack
    reference: str = "MNIST"  # the images it was verified on

    def as_lines(self) -> list[str]:
        """The figures, one per line, for the terminal and the window."""
        check = self.verification
        lines = [
            f"exported {self.format} to {self.path} ({self.size_bytes / 1e6:.2f} MB)",
            f"verified on {check.images:,} {self.reference} test images: max probability difference "
            f"{check.max_probability_difference:.2g}, same class on {check.agreement:.2%}",
        ]
        if check.keras_accuracy is not None and check.exported_accuracy is not None:
            lines.append(f"accuracy: Keras {check.keras_accuracy:.2%}, export {check.exported_accuracy:.2%}")
            if self.format == "tflite-int8":
                lines.append(f"int8 accuracy drop: {100 * (check.accuracy_drop or 0.0):.2f} percentage points")
        if self.temperature is not None:
            where = "its metadata file" if self.sidecar is not None else "its card"
            lines.append(
                f"calibration: the export gives the model's own probabilities; Digit Lab shows them calibrated with "
                f"T = {self.temperature:.3f} ({CALIBRATION_FORMULA}, T in {where})"
            )
        if self.sidecar is not None:
            lines.append(f"metadata: {self.sidecar}")
        return lines

    def as_dict(self) -> dict:
        """Plain data for the window."""
        return {
            "format": self.format,
            "path": str(self.path),
            "sidecar": None if self.sidecar is None else str(self.sidecar),
            "size_bytes": self.size_bytes,
            "verification": self.verification.as_dict(),
            "temperature": self.temperature,
            "reference": self.reference,
            "lines": self.as_lines(),
        }


def export_model(
    loaded: LoadedModel,
    fmt: str,
    out: str | os.PathLike,
    *,
    reference: ReferenceImages | None = None,
    progress: Progress | None = None,
    max_int8_drop: float = MAX_INT8_ACCURACY_DROP,
    name: str | None = None,
) -> ExportReport:
    """Write ``loaded`` as ``fmt`` to ``out``, verified; raise ExportError (leaving nothing behind) on failure.

    ``name`` is what the messages and the metadata's ``source_model`` call the model instead of its file: the
    window's name for a run's model not saved yet, whose file is only a cache entry.
    """
    say = progress or (lambda _message: None)
    model_name = name or loaded.display_name
    path = check_destination(fmt, out)
    if reference is None:  # the digits the model learnt: an 8x8 model's int8 export was refused on MNIST shrunk
        sklearn_digits = trained_on_sklearn_digits(loaded)
        say(f"Reading the {'scikit-learn digits' if sklearn_digits else 'MNIST images'} to verify with…")
        reference = sklearn_digits_reference(loaded) if sklearn_digits else mnist_reference()
    labels = reference.test_labels if labels_apply(loaded) else None
    try:
        test_inputs = model_inputs(loaded, reference.test_images)
        say(f"Scoring {plural(len(test_inputs), 'test image')} with the Keras model…")
        expected = keras_probabilities(loaded, test_inputs)
    except Exception as error:  # noqa: BLE001 - a model Keras cannot run on digits: one clear line
        message = f"Cannot export {model_name}: it does not run on digits: {_reason(error)}"
        raise ExportError(message) from error
    if not np.isfinite(expected).all():
        scores = "NaN (not-a-number)" if np.isnan(expected).any() else "infinite"
        raise ExportError(
            f"Cannot export {model_name}: the model outputs {scores} scores for {reference.source} test images, so no "
            "export of it can be checked; nothing was written."
        )
    workspace = workspace_beside(path)
    try:
        artifact = workspace / path.name
        say(f"Writing {_description(fmt, reference)}…")
        run, details = _write(loaded, fmt, artifact, reference)
        say(f"Reloading the export and comparing it on {len(test_inputs):,} {reference.source} test images…")
        verification = compare(expected, run(test_inputs), labels)
        del run
        _check(fmt, verification, max_int8_drop)
        sidecar = sidecar_path(path, fmt)
        if sidecar is not None:
            card = _sidecar(loaded, fmt, path, details, verification, name, reference)
            (workspace / sidecar.name).write_text(json.dumps(card, indent=2), encoding="utf-8")
        size = _size(artifact)
        _install(artifact, path, workspace)
        if sidecar is not None:
            os.replace(workspace / sidecar.name, sidecar)
        say(f"Exported {path.name}.")
        return ExportReport(fmt, path, sidecar, size, verification, _temperature(loaded), reference.source)
    except ExportError:
        raise
    except Exception as error:  # noqa: BLE001 - converters and writers fail in many ways: one clear line
        raise ExportError(f"Could not export {model_name} as {fmt} to {path}: {_reason(error)}") from error
    finally:
        shutil.rmtree(workspace, ignore_errors=True)  # also after Ctrl+C: no partial export is left


def _write(loaded: LoadedModel, fmt: str, artifact: Path, reference: ReferenceImages) -> tuple[Callable, dict]:
    """Write the export at ``artifact``; return a function scoring prepared inputs with the reloaded export."""
    model = loaded.model
    batch_shape = (None, *loaded.input_shape)
    applies_softmax = not outputs_probabilities(model)
    if fmt in ("tflite", "tflite-int8"):
        representative = None
        if fmt == "tflite-int8":
            calibration = model_inputs(loaded, reference.calibration_images)
            representative = lambda: (calibration[index : index + 1] for index in range(len(calibration)))  # noqa: E731
        flatbuffer = convert_to_tflite(model, batch_shape, representative_batches=representative)
        _write_bytes(artifact, flatbuffer)
        runner = tflite_runner(artifact.read_bytes(), threads=2)
        return (lambda inputs: as_probabilities(_batched(runner, inputs), applies_softmax)), tflite_io_details(
            flatbuffer
        )
    if fmt == "savedmodel":
        with warnings.catch_warnings(), native_stderr_silenced():
            warnings.simplefilter("ignore")
            model.export(str(artifact), format="tf_saved_model", verbose=False)
            served = tf.saved_model.load(str(artifact))

        def run_saved(batch: np.ndarray) -> np.ndarray:
            outputs = served.serve(tf.constant(batch))
            if isinstance(outputs, dict):
                outputs = next(iter(outputs.values()))
            return np.asarray(outputs, dtype=np.float32)

        details = {"signature": "serve", "input": {"shape": [-1 if s is None else s for s in batch_shape]}}
        return (lambda inputs: as_probabilities(_batched(run_saved, inputs), applies_softmax)), details
    save_model(model, artifact, loaded.metadata)
    reloaded = load_model(artifact)
    reloaded_softmax = not outputs_probabilities(reloaded.model)
    return lambda inputs: as_probabilities(keras_probabilities_raw(reloaded, inputs), reloaded_softmax), {}


def keras_probabilities_raw(loaded: LoadedModel, inputs: np.ndarray) -> np.ndarray:
    """A reloaded Keras model's raw outputs for prepared inputs."""
    return _batched(lambda batch: np.asarray(loaded.model(batch, training=False), dtype=np.float32), inputs)


def _batched(run: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray, size: int = 250) -> np.ndarray:
    starts = range(0, len(inputs), size)
    return np.concatenate([run(np.ascontiguousarray(inputs[start : start + size])) for start in starts])


def _check(fmt: str, verification: Verification, max_int8_drop: float) -> None:
    """Refuse an export that does not match: float formats within the predictor's tolerance, int8 by accuracy."""
    if fmt != "tflite-int8":
        if np.isnan(verification.max_probability_difference):
            raise ExportError(
                f"The {format_name(fmt)} export does not match the model: it outputs NaN (not-a-number) scores where "
                "the model does not; nothing was written."
            )
        if not verification.max_probability_difference <= PROBABILITY_TOLERANCE:
            raise ExportError(
                f"The {format_name(fmt)} export does not match the model: its probabilities differ by up to "
                f"{verification.max_probability_difference:.3g} (allowed {PROBABILITY_TOLERANCE:g}); nothing was "
                "written."
            )
        return
    drop = verification.accuracy_drop
    if drop is not None and drop > max_int8_drop:
        raise ExportError(
            f"The int8 export loses {100 * drop:.2f} percentage points of accuracy "
            f"({verification.keras_accuracy:.2%} -> {verification.exported_accuracy:.2%}; allowed "
            f"{100 * max_int8_drop:.1f}); nothing was written. Export as tflite (float) instead."
        )
    if drop is None and 1.0 - verification.agreement > max_int8_drop:
        raise ExportError(
            f"The int8 export picks a different class than the model on {1 - verification.agreement:.2%} of the "
            f"test images (allowed {max_int8_drop:.1%}); nothing was written. Export as tflite (float) instead."
        )


def _description(fmt: str, reference: ReferenceImages) -> str:
    """What ``fmt`` is; for int8, the images its ranges were calibrated on."""
    if fmt != "tflite-int8":
        return FORMATS[fmt]
    calibration = plural(len(reference.calibration_images), f"{reference.source} training image")
    return f"{FORMATS[fmt]} (quantised with {calibration})"


def _sidecar(
    loaded: LoadedModel,
    fmt: str,
    path: Path,
    details: dict,
    verification: Verification,
    name: str | None,
    reference: ReferenceImages,
) -> dict:
    metadata = loaded.metadata
    source = name or (None if loaded.path is None else str(loaded.path))
    return {
        "format": fmt,
        "description": _description(fmt, reference),
        "file": path.name,
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
        "digitlab_version": __version__,
        "tensorflow_version": tf.__version__,
        "source_model": source,
        "class_names": list(metadata.class_names),
        "input_convention": {
            "image": "28x28 digit, white ink on black, centred by mass as MNIST (Digit Lab's preprocessing)",
            "polarity": metadata.input_polarity,
            "scale": metadata.input_scale,
            "mean": metadata.input_mean,
            "std": metadata.input_std,
            "shape": [None, *loaded.input_shape],
        },
        "outputs_probabilities": outputs_probabilities(loaded.model),
        "calibration": None
        if _temperature(loaded) is None
        else {
            "temperature": _temperature(loaded),
            "apply": f"{CALIBRATION_FORMULA} to the export's probabilities p, as Digit Lab shows them",
        },
        "tensors": details,
        "model_card": dataclasses.asdict(metadata),
        "verification": {**verification.as_dict(), "reference": reference.source},
    }


def _temperature(loaded: LoadedModel) -> float | None:
    """The temperature stored in the model's card (None when it is not calibrated)."""
    temperature = getattr(loaded.metadata, "temperature", None)
    return None if temperature is None else float(temperature)


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())
    return path.stat().st_size


def _install(artifact: Path, path: Path, workspace: Path) -> None:
    """Move the finished export into place in one rename (a SavedModel folder replaces an older one)."""
    if artifact.is_file():
        os.chmod(artifact, 0o644)
        os.replace(artifact, path)
        return
    if not path.exists():
        os.rename(artifact, path)
        return
    previous = workspace / ".previous"
    os.rename(path, previous)  # an empty folder or an older SavedModel (checked before)
    try:
        os.rename(artifact, path)
    except OSError:
        os.rename(previous, path)
        raise


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return shorten(str(error).strip().rstrip(".")) or type(error).__name__
