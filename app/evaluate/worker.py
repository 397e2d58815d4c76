"""One evaluation job (evaluate, calibrate, robustness, compare, map) as a QObject worker in its own QThread.

How the job gets the model: it loads its own copy of the active model's file (and the temperature the window holds
for it) in its own thread, as the training worker does with its reference model. The model thread keeps answering
live predictions meanwhile, and no Keras object ever crosses a thread: handing the model thread's ``LoadedModel``
over would let a job's TensorFlow calls and the model's last reference (collected by whichever thread happens to
drop it) race the model thread's own, and chunking the job into the model thread would hold each live prediction
behind a chunk. Loading a copy costs about 0.7 s for the bundled model, small beside the job (10,000 images: 5-10 s
on two cores), and results are cached per (model, dataset), so it is paid once.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from ml.plurals import plural

logger = logging.getLogger(__name__)

JOB_KINDS = ("evaluate", "calibrate", "robustness", "compare", "map", "report")


class JobStopped(Exception):
    """Raised from the stop check: the user pressed Stop (or the window is closing)."""


@dataclass(frozen=True)
class ModelRef:
    """A model as the workspace knows it: its file, the temperature held for it, and its name."""

    path: str
    name: str
    temperature: float | None = None
    stamp: tuple[int, int] = (0, 0)  # the file's (mtime_ns, size) when the workspace saw it

    @property
    def identity(self) -> tuple:
        """What the cache keys on: the same file, unchanged on disk, with the same temperature."""
        temperature = None if self.temperature is None else round(float(self.temperature), 6)
        return (str(Path(self.path).resolve()), self.stamp, temperature)


def model_ref(path: str, name: str, temperature: float | None = None) -> ModelRef:
    """A :class:`ModelRef` stamped with the file's current modification time and size."""
    try:
        status = Path(path).stat()
        stamp = (int(status.st_mtime_ns), int(status.st_size))
    except OSError:
        stamp = (0, 0)
    return ModelRef(str(path), name, temperature, stamp)


@dataclass(frozen=True)
class JobRequest:
    """What to run: ``kind`` on ``model`` (and ``other``) with the set ``dataset`` (``folder`` for an image folder)."""

    kind: str
    model: ModelRef
    dataset: str
    folder: str | None = None
    other: ModelRef | None = None  # the second model of a comparison
    drawn_over: ModelRef | None = None  # a robustness overlay's active model, whose curves it joins (not in the key)
    method: str = "pca"  # the map's projection: "pca" or "tsne"
    limit: int | None = None  # the set's first ``limit`` images only (quick looks, tests)
    evaluation: Any = None  # an Evaluation of ``model`` on this set already at hand (compare reuses it)
    eval_set: Any = None  # the report's images (an EvaluationSet), with ``evaluation``
    curves: Any = None  # the report's robustness curves, if a sweep was run
    curves_images: int | None = None  # how many images that sweep used
    curves_ece: Any = None  # the report's ECE under each distortion, from that sweep
    report_to: str | None = None  # the folder a report is written to

    @property
    def dataset_key(self) -> tuple:
        """The set as the cache knows it."""
        folder = None if self.folder is None else str(Path(self.folder).resolve())
        return (self.dataset, folder, self.limit)


@dataclass
class JobResult:
    """A finished job's plain data (numpy arrays and ml.evaluation dataclasses; never Keras objects)."""

    request: JobRequest
    eval_set: Any  # ml.evaluation.sets.EvaluationSet
    payload: dict[str, Any] = field(default_factory=dict)


class EvaluationWorker(QObject):
    """Runs one :class:`JobRequest` in its own thread; ``finished`` always follows ``result_ready``, ``failed`` or
    ``stopped``."""

    progress = Signal(int, int)  # done, total
    stage_changed = Signal(str)  # what the job is doing, in words
    result_ready = Signal(object)  # a JobResult
    failed = Signal(str)  # a one-line message (details go to the log)
    stopped = Signal()
    finished = Signal()

    def __init__(self, request: JobRequest) -> None:
        super().__init__()
        if request.kind not in JOB_KINDS:
            raise ValueError(f"Unknown evaluation job {request.kind!r}.")
        self.request = request
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Ask the job to end at its next batch (thread-safe)."""
        self._stop.set()

    def should_stop(self) -> bool:
        """The stop check the ml functions call between batches."""
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        """Run the job; every failure becomes one line, and ``finished`` is always emitted."""
        try:
            result = self._run()
        except JobStopped:
            self.stopped.emit()
        except Exception as error:  # noqa: BLE001 - the thread must end with a message, whatever happened
            if type(error).__name__ == "EvaluationStopped" or self._stop.is_set():
                self.stopped.emit()
            else:
                self.failed.emit(describe_failure(error))
        else:
            self.result_ready.emit(result)
        finally:
            gc.collect()  # the job's Keras objects go here, not in another thread while it runs TensorFlow
            self.finished.emit()

    # ----------------------------------------------------------------------------------------- the jobs

    def _run(self) -> JobResult:
        if self.request.kind == "report":  # drawn from results at hand: no model, no set to load
            return JobResult(self.request, self.request.eval_set, self._report())
        from ml.evaluation.sets import load_evaluation_set

        request = self.request
        self.stage_changed.emit(f"Loading {request.model.name}…")
        loaded = self._load(request.model)
        self._check_stop()
        self.stage_changed.emit("Reading the images…")
        eval_set = load_evaluation_set(request.dataset, loaded, folder=request.folder)
        if request.limit is not None and request.limit < len(eval_set):
            eval_set = eval_set.subset(np.arange(request.limit))
        self._check_stop()
        job = getattr(self, f"_{request.kind}")
        return JobResult(request, eval_set, job(loaded, eval_set))

    def _evaluate(self, loaded, eval_set) -> dict[str, Any]:
        from ml.evaluation.run import evaluate

        self.stage_changed.emit(f"Evaluating {self.request.model.name} on {plural(len(eval_set.labels), 'image')}…")
        evaluation = evaluate(loaded, eval_set, progress=self._progress, should_stop=self.should_stop)
        return {"evaluation": named(evaluation, self.request.model)}

    def _calibrate(self, loaded, eval_set) -> dict[str, Any]:
        from ml.evaluation.calibration import calibrate_model
        from ml.evaluation.run import evaluation_from_probabilities

        self.stage_changed.emit("Fitting the temperature on the validation split (never the test set)…")
        calibration = calibrate_model(loaded, progress=self._progress, should_stop=self.should_stop, store=False)
        self._check_stop()
        calibrated = with_temperature(loaded, calibration.temperature)
        shown = self.request.evaluation
        if shown is not None and len(shown.labels) == len(eval_set):  # the same images: no need to score them again
            evaluation = evaluation_from_probabilities(calibrated, eval_set, shown.raw_probabilities)
            payload = {"evaluation": named(evaluation, self.request.model)}
        else:
            payload = self._evaluate(calibrated, eval_set)
        payload["calibration"] = calibration
        return payload

    def _robustness(self, loaded, eval_set) -> dict[str, Any]:
        from ml.evaluation.robustness import accuracy_curves, ece_curves, robustness_sweep

        self.stage_changed.emit(
            f"Sweeping rotation, scale, shift, thickness and noise on "
            f"{plural(min(ROBUSTNESS_SAMPLE, len(eval_set)), 'image')} ({self.request.model.name})…"
        )
        sweep = robustness_sweep(
            loaded, eval_set, progress=self._progress, should_stop=self.should_stop, sample=ROBUSTNESS_SAMPLE
        )  # the ECE too: the report draws it beside the accuracy, as ``digitlab evaluate --report`` does
        return {
            "curves": accuracy_curves(sweep),
            "ece": ece_curves(sweep),
            "images": min(ROBUSTNESS_SAMPLE, len(eval_set)),
        }

    def _compare(self, loaded, eval_set) -> dict[str, Any]:
        from ml.data.validation import check_labels_fit_model
        from ml.evaluation.compare import compare
        from ml.evaluation.run import evaluate

        if self.request.other is None:
            raise ValueError("A comparison needs a second model.")
        evaluation = self.request.evaluation
        if evaluation is None or len(evaluation.labels) != len(eval_set):
            evaluation = self._evaluate(loaded, eval_set)["evaluation"]
        other = self._load(self.request.other)
        self._check_stop()
        check_labels_fit_model(eval_set.labels, other.num_classes, other.display_name, eval_set.name)
        self.stage_changed.emit(f"Evaluating {self.request.other.name} on the same images…")
        other_evaluation = evaluate(other, eval_set, progress=self._progress, should_stop=self.should_stop)
        other_evaluation = named(other_evaluation, self.request.other)
        return {
            "evaluation": evaluation,
            "other_evaluation": other_evaluation,
            "comparison": compare(evaluation, other_evaluation),
        }

    def _map(self, loaded, eval_set) -> dict[str, Any]:
        from ml.evaluation.embedding import TSNE_SAMPLE, penultimate_description, penultimate_features, project
        from ml.evaluation.embedding import sample_indices as tsne_sample

        method = self.request.method
        indices = tsne_sample(len(eval_set), TSNE_SAMPLE) if method == "tsne" else np.arange(len(eval_set))
        self.stage_changed.emit(f"Reading {penultimate_description(loaded)}…")
        features = penultimate_features(
            loaded, eval_set, indices, progress=self._progress, should_stop=self.should_stop
        )
        self._check_stop()
        self.stage_changed.emit(
            f"Projecting {plural(len(indices), 'image')} with {'t-SNE' if method == 'tsne' else 'PCA'}…"
        )
        points = project(features, method=method)
        return {"points": points, "indices": indices, "method": method, "layer": penultimate_description(loaded)}

    def _report(self) -> dict[str, Any]:
        from ml.evaluation.report import render_report, write_report

        request = self.request
        self.stage_changed.emit("Drawing the report…")
        files = render_report(request.evaluation, request.eval_set.images, request.curves, request.model.name,
                              request.curves_images, request.curves_ece)  # fmt: skip
        self._check_stop()
        self.stage_changed.emit(f"Writing the report to {request.report_to}…")
        return {"folder": str(write_report(request.report_to, files)), "files": sorted(files)}

    # ----------------------------------------------------------------------------------------- helpers

    def _load(self, ref: ModelRef):
        from ml.models.files import load_model

        loaded = load_model(ref.path)
        return with_temperature(loaded, ref.temperature)

    def _progress(self, done: int, total: int) -> None:
        self.progress.emit(int(done), int(total))
        self._check_stop()

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise JobStopped


def report_request(result: JobResult, sweep: JobResult | None, folder: str) -> JobRequest:
    """The request to write ``result``'s evaluation (and ``sweep``'s curves, if any) as a report into ``folder``."""
    return dataclasses.replace(
        result.request,
        kind="report",
        evaluation=result.payload["evaluation"],
        eval_set=result.eval_set,
        curves=None if sweep is None else sweep.payload["curves"],
        curves_images=None if sweep is None else sweep.payload["images"],
        curves_ece=None if sweep is None else sweep.payload.get("ece"),
        report_to=str(folder),
    )


ROBUSTNESS_SAMPLE = 1000
"""Images the robustness sweep scores at each of its 37 distorted levels, as ``digitlab evaluate`` does (about a
minute on two cores; all 10,000 would take ten)."""


def named(evaluation, ref: ModelRef):
    """``evaluation`` under the name the window gives its model (a just-trained model's file is a temporary one)."""
    return dataclasses.replace(evaluation, model_name=ref.name)


def with_temperature(loaded, temperature: float | None):
    """``loaded`` with ``temperature`` in its metadata (a copy of the metadata; ``None`` leaves it as it is)."""
    if temperature is None or not hasattr(loaded.metadata, "temperature"):
        return loaded
    metadata = dataclasses.replace(loaded.metadata, temperature=float(temperature))
    return dataclasses.replace(loaded, metadata=metadata)


def describe_failure(error: BaseException) -> str:
    """One line for the workspace: Digit Lab's own errors as they are, anything else named and logged."""
    from ml.errors import DigitLabError

    if isinstance(error, DigitLabError):
        return str(error)
    if isinstance(error, MemoryError):
        return "Out of memory: try a smaller image set."
    logger.error("An evaluation job failed", exc_info=error)
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return "The evaluation failed: " + (text if len(text) <= 300 else text[:299] + "…")
