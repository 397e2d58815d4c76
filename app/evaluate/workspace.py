"""The evaluation workspace: a window to judge the active model on a set of images, down to each image.

Model ▸ Evaluate… (Ctrl+E) opens it. Pick a set the model can take (or an image folder), Run: the job runs in its
own thread with progress and Stop, and every result is cached per (model, set). The tabs: the confusion matrix
(a cell's images in a gallery), the mistakes, the figures, calibration, robustness, a comparison with another model,
and a map of the data. Clicking any image opens it in the main window's canvas.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.common.widgets import ElidedComboBox, size_within_screen
from app.evaluate.calibration_view import CalibrationView
from app.evaluate.choosers import SET_LABELS, ask_model_file, previous_model, told_apart
from app.evaluate.compare_view import CompareView
from app.evaluate.confusion_view import ConfusionMatrixView
from app.evaluate.gallery import ImageGallery, example_captions, opened_image_words
from app.evaluate.map_view import MapView
from app.evaluate.mistakes_view import MistakesView
from app.evaluate.numbers_view import NumbersView
from app.evaluate.robustness_view import RobustnessView
from app.evaluate.runner import EvaluationRunner
from app.evaluate.worker import JobRequest, JobResult, ModelRef, model_ref, report_request

WARNING_STYLE = "color: #a33; font-weight: 600;"
WORKSPACE_SIZE = (1180, 820)  # on a screen with room for it; a smaller one gets what of it fits


class EvaluationWorkspace(QMainWindow):
    """The workspace window; ``image_chosen(image, description)`` when the user opens an image in the canvas,
    ``calibration_fitted(model file, temperature, record)`` when Calibrate has fitted a temperature to store.

    Closing it only hides it: a running job goes on, and its result is cached for when it is opened again.
    """

    image_chosen = Signal(object, str)
    calibration_fitted = Signal(str, float, dict)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EvaluationWorkspace")
        self.setWindowTitle("Evaluate — Digit Lab")
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.settings = settings
        self.runner = EvaluationRunner(self)
        self.description: dict | None = None
        self.model: ModelRef | None = None
        self.folder: str | None = None
        self.wanted_set: str | None = None  # the set last chosen; offered again to a model it fits
        self.image_limit: int | None = None  # evaluate only the first images of a set (None: all)
        self.result: JobResult | None = None  # the evaluation shown
        self.comparison: JobResult | None = None
        self.map_result: JobResult | None = None
        self._build()
        self.runner.progress.connect(self._on_progress)
        self.runner.stage_changed.connect(self.statusBar().showMessage)
        self.runner.result_ready.connect(self._on_result)
        self.runner.failed.connect(self._on_failed)
        self.runner.stopped.connect(self._on_stopped)
        self.runner.running_changed.connect(self._update_controls)
        self.resize(*size_within_screen(WORKSPACE_SIZE, self.screen().availableGeometry().size()))
        self.show_message("")
        self._update_controls()

    # ---------------------------------------------------------------------------------------- building

    def _build(self) -> None:
        self.model_label = QLabel("No model yet")
        self.set_box = ElidedComboBox()  # a long folder path ends in "…" rather than widening the window
        self.set_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.set_box.setMinimumContentsLength(24)
        self.set_box.setObjectName("EvaluationSetBox")
        self.set_box.setToolTip("The sets this model can be judged on (its input size and classes)")
        self.set_box.activated.connect(self._on_set_chosen)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setToolTip("An image folder: one subfolder of images per class, named after the class")
        self.browse_button.clicked.connect(self.ask_folder)
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run_evaluation)
        self.stop_button = QPushButton("Stop")
        self.report_button = QPushButton("Save report…")
        self.report_button.setToolTip("confusion.png, reliability.png, robustness.png, mistakes.png and index.html")
        self.report_button.clicked.connect(self.ask_report_folder)
        self.stop_button.clicked.connect(self.runner.stop)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("%v / %m")
        self.progress_bar.setToolTip("Images scored so far")
        keeps_room = self.progress_bar.sizePolicy()
        keeps_room.setRetainSizeWhenHidden(True)  # shown only while a job runs; the row does not jump
        self.progress_bar.setSizePolicy(keeps_room)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setObjectName("EvaluationMessage")
        self.message_label.setOpenExternalLinks(True)  # "open index.html" after a report
        row = QHBoxLayout()
        row.addWidget(self.model_label)
        row.addSpacing(16)
        row.addWidget(QLabel("Images:"))
        row.addWidget(self.set_box, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.run_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.report_button)
        row.addWidget(self.progress_bar, 1)

        self.matrix = ConfusionMatrixView()
        self.matrix.cell_clicked.connect(self.show_cell)
        self.cell_gallery = ImageGallery(
            "No images in this cell.", placeholder="Click a cell of the matrix to see its images."
        )
        self.cell_gallery.image_chosen.connect(self._open_image)
        matrix_tab = QSplitter(Qt.Orientation.Horizontal)
        matrix_tab.addWidget(self.matrix)
        matrix_tab.addWidget(self.cell_gallery)
        matrix_tab.setSizes([620, 520])
        self.mistakes = MistakesView()
        self.mistakes.gallery.image_chosen.connect(self._open_image)
        self.numbers = NumbersView()
        self.calibration = CalibrationView()
        self.calibration.calibrate_requested.connect(self.calibrate)
        self.robustness = RobustnessView()
        self.robustness.sweep_requested.connect(self.run_robustness)
        self.robustness.overlay_requested.connect(self._on_overlay_requested)
        self.compare_view = CompareView()
        self.compare_view.compare_requested.connect(self._on_compare_requested)
        self.compare_view.gallery.image_chosen.connect(self._open_image)
        self.map_view = MapView()
        self.map_view.map_requested.connect(self.run_map)
        self.map_view.image_chosen.connect(self._open_map_image)
        self.tabs = QTabWidget()
        self.tabs.addTab(matrix_tab, "Confusion matrix")
        self.tabs.addTab(self.mistakes, "Mistakes")
        self.tabs.addTab(self.numbers, "Numbers")
        self.tabs.addTab(self.calibration, "Calibration")
        self.tabs.addTab(self.robustness, "Robustness")
        self.tabs.addTab(self.compare_view, "Compare")
        self.tabs.addTab(self.map_view, "Map")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(row)
        layout.addWidget(self.message_label)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        close_action = QAction("Close", self)
        close_action.setShortcut(QKeySequence.StandardKey.Close)
        close_action.triggered.connect(self.close)
        self.addAction(close_action)

    # ------------------------------------------------------------------------------------------- model

    def set_model(self, description: dict) -> None:
        """The active model changed (or its card did): offer the sets it fits and show what is cached for it."""
        previous_path = None if self.description is None else self.description.get("source_path")
        another_model = self.description is None or previous_path != description.get("source_path")
        self.description = description
        path = description.get("source_path")
        self.model = None if not path else model_ref(path, description["display_name"], description.get("temperature"))
        name = description["display_name"] + (" (calibrated)" if description.get("temperature") else "")
        self.model_label.setText(f"Model: <b>{name}</b>")
        chosen = self.wanted_set or self.set_box.currentData()  # the user's choice, though the last model refused it
        if chosen == "folder" and self.wanted_set is None:
            chosen = None  # the last model's only set, not a choice: this model's first set is shown
        self.set_box.clear()
        for set_name in description.get("evaluation_sets") or []:
            label = f"Image folder: {self.folder}" if set_name == "folder" and self.folder else None
            self.set_box.addItem(label or SET_LABELS.get(set_name, set_name), set_name)
        if another_model:  # what was said of the last model (a set it did not fit, its calibration) is not of this one
            self.show_message("")
            self.calibration.set_status("")
        if self.set_box.count() == 0:
            self.show_message(f"{description['display_name']} fits none of Digit Lab's evaluation sets.", warning=True)
        elif chosen is not None and self.set_box.findData(chosen) < 0:
            self.wanted_set = chosen  # given up for this model only
            self.show_message(
                f"{SET_LABELS.get(chosen, chosen)} does not fit {description['display_name']} (its input size or "
                f"classes); showing {self.set_box.itemText(0)} instead.",
                warning=True,
            )
        elif chosen is not None:
            self.set_box.setCurrentIndex(self.set_box.findData(chosen))
        self._show_cached()
        self._update_controls()

    def current_request(self, kind: str = "evaluate", **extra) -> JobRequest | None:
        """The request for ``kind`` on the active model and the chosen set (None when none can be made)."""
        dataset = self.set_box.currentData()
        if self.model is None or dataset is None or (dataset == "folder" and not self.folder):
            return None
        folder = self.folder if dataset == "folder" else None
        return JobRequest(kind, self.model, str(dataset), folder=folder, limit=self.image_limit, **extra)

    # ------------------------------------------------------------------------------------------ actions

    @Slot()
    def run_evaluation(self) -> None:
        """Evaluate the active model on the chosen set (or show the cached result at once)."""
        if self.set_box.currentData() == "folder" and not self.folder:
            self.ask_folder()
            return
        request = self.current_request()
        if request is None:
            self.show_message("Load a model first.", warning=True)
            return
        cached = self.runner.cache.get(request)
        if cached is not None:
            self.show_evaluation(cached)
            self.show_message(f"{cached.eval_set.title}: already evaluated, shown from the cache.")
            return
        self._start(request)

    @Slot()
    def ask_folder(self) -> None:
        """Choose an image folder to evaluate on, then run."""
        start = self.folder or str(self.settings.value("evaluate/folder", ""))
        folder = QFileDialog.getExistingDirectory(self, "Evaluate on an image folder", start)
        if folder:
            self.set_folder(folder)
            self.run_evaluation()

    def set_folder(self, folder: str) -> None:
        """Evaluate on ``folder`` (one subfolder per class) from now on."""
        self.folder = folder
        self.settings.setValue("evaluate/folder", folder)
        index = self.set_box.findData("folder")
        if index >= 0:
            self.wanted_set = "folder"
            self.set_box.setCurrentIndex(index)
            self.set_box.setItemText(index, f"Image folder: {folder}")
            self._show_cached()  # the tabs show this folder's results (or none), not the last set's under its name

    @Slot()
    def calibrate(self) -> None:
        """Fit the temperature on the validation split in a worker; the model thread stores it in the card."""
        evaluation = None if self.result is None else self.result.payload["evaluation"]
        request = self.current_request("calibrate", evaluation=evaluation)
        if request is not None:
            self._start(request)

    @Slot()
    def run_robustness(self) -> None:
        """Sweep the distortions on the active model (cached per model and set)."""
        self._cached_or_start(self.current_request("robustness"), self._show_sweep)

    def overlay_robustness(self, other: ModelRef) -> None:
        """The same sweep for ``other``, drawn over the active model's curves."""
        request = self.current_request("robustness")
        if request is not None:
            request = JobRequest("robustness", other, request.dataset, request.folder, limit=request.limit,
                                 drawn_over=self.model)  # fmt: skip
        self._cached_or_start(request, self._show_sweep)

    def compare_with(self, other: ModelRef) -> None:
        """Compare the active model with ``other`` on the chosen set."""
        evaluation = None if self.result is None else self.result.payload.get("evaluation")
        self._cached_or_start(self.current_request("compare", other=other, evaluation=evaluation), self.show_comparison)

    @Slot(str)
    def run_map(self, method: str) -> None:
        """Project the set from the penultimate layer with ``method`` ("pca" or "tsne")."""
        self._cached_or_start(self.current_request("map", method=method), self.show_map)

    def _cached_or_start(self, request: JobRequest | None, show) -> None:
        """Show ``request``'s cached result, or start it (nothing when no request can be made)."""
        cached = None if request is None else self.runner.cache.get(request)
        if cached is not None:
            show(cached)
        elif request is not None:
            self._start(request)

    def _show_sweep(self, result: JobResult) -> None:
        """A sweep's curves: the active model's, or another model's drawn over them."""
        if result.request.model.identity == (self.model.identity if self.model else None):
            self.robustness.show_curves(result.payload["curves"], result.request.model.name, result.payload["images"])
        else:
            self.robustness.show_overlay(result.payload["curves"], result.request.model.name)

    @Slot()
    def ask_report_folder(self) -> None:
        """Choose the folder for the shown evaluation's report, then write it."""
        start = str(self.settings.value("evaluate/reports", ""))
        folder = QFileDialog.getExistingDirectory(self, "Save the evaluation report in", start)
        if folder:
            self.settings.setValue("evaluate/reports", folder)
            self.save_report(folder)

    def save_report(self, folder: str) -> None:
        """Write the shown evaluation (and its robustness sweep, if run) as pictures and a page, in a worker."""
        if self.result is None:
            return
        sweep = self.runner.cache.get(dataclasses.replace(self.result.request, kind="robustness"))
        self._start(report_request(self.result, sweep, folder))

    # -------------------------------------------------------------------------------------- showing

    def show_evaluation(self, result: JobResult) -> None:
        """Fill every tab from an evaluation result."""
        self.result = result
        evaluation, eval_set = result.payload["evaluation"], result.eval_set
        report = evaluation.report
        self.matrix.set_confusion(report.confusion, report.class_names)
        self.cell_gallery.clear("Click a cell of the matrix to see its images.")
        self.mistakes.set_evaluation(evaluation, eval_set.images)
        self.numbers.show_figures(report.as_dict())
        self.calibration.show_reliability(
            report.reliability, report.ece, report.reliability_calibrated, report.ece_calibrated, report.temperature
        )
        self.setWindowTitle(f"Evaluate {evaluation.model_name} on {eval_set.title} — Digit Lab")
        self.robustness.clear()
        sweep = self.runner.cache.get(dataclasses.replace(result.request, kind="robustness"))
        if sweep is not None:
            self._show_sweep(sweep)
        self._update_controls()

    @Slot(int, int)
    def show_cell(self, true_class: int, predicted_class: int) -> None:
        """The images behind one cell of the matrix, most confident first."""
        if self.result is None:
            return
        from ml.evaluation.metrics import cell_indices

        evaluation = self.result.payload["evaluation"]
        self.matrix.select_cell(true_class, predicted_class)
        indices = cell_indices(evaluation, true_class, predicted_class)
        captions, tooltips = example_captions(
            indices, evaluation.labels, evaluation.predictions, evaluation.confidence, evaluation.class_names
        )
        title = self.matrix.describe_cell(true_class, predicted_class)
        self.cell_gallery.show_images(
            title[0].upper() + title[1:] + ("; most confident first." if len(indices) else "."),
            self.result.eval_set.images,
            indices,
            captions,
            tooltips,
        )

    def show_comparison(self, result: JobResult) -> None:
        """The comparison tab from a compare result."""
        self.comparison = result
        self.compare_view.show_result(result)

    def show_map(self, result: JobResult) -> None:
        """The map tab from a map result (with the shown evaluation's predictions when it is of the same images)."""
        self.map_result = result
        evaluation = None if self.result is None else self.result.payload["evaluation"]
        same_set = evaluation is not None and len(evaluation.labels) == len(result.eval_set)
        self.map_view.show_result(result, evaluation.predictions if same_set else None)

    def show_message(self, text: str, warning: bool = False) -> None:
        """A line above the tabs: what happened, or why not (in red)."""
        self.message_label.setStyleSheet(WARNING_STYLE if warning else "")
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    # -------------------------------------------------------------------------------------- handlers

    def _start(self, request: JobRequest) -> None:
        if not self.runner.start(request):
            self.show_message("Another job is running; stop it or wait for it to end.", warning=True)
            return
        self.progress_bar.setRange(0, 0)
        self.show_message("")

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)

    @Slot(object)
    def _on_result(self, result: JobResult) -> None:
        kind, request = result.request.kind, result.request
        self.statusBar().showMessage("Done.", 5000)
        if kind == "evaluate" and self._is_current(request):
            self.show_evaluation(result)
        elif kind == "calibrate":
            self._on_calibrated(result)
        elif kind == "robustness" and self._is_current(request):
            self._show_sweep(result)
        elif kind == "compare":
            self._cache_evaluation(request, request.model, result.payload["evaluation"], result.eval_set)
            if self._is_current(request):
                self.show_comparison(result)
        elif kind == "map" and self._is_current(request):
            self.show_map(result)
        elif kind == "report":
            index = QUrl.fromLocalFile(str(Path(result.payload["folder"]) / "index.html")).toString()
            self.show_message(f"Saved the report in {result.payload['folder']}: <a href='{index}'>open index.html</a>")

    def _on_calibrated(self, result: JobResult) -> None:
        fitted = result.request.model
        if self.model is None or self.model.path != fitted.path:  # another model's tab; the model thread refuses it
            self.show_message(f"Calibrating {fitted.name} ended after it was set aside; nothing was stored.")
            return
        calibration = result.payload["calibration"]
        if not calibration.applied:  # too few images, a temperature on the range's bound, or worse after
            self.calibration.set_status(f"Not calibrated: {calibration.refusal}. The model is left as it was.")
            return
        temperature = float(calibration.temperature)
        calibrated = ModelRef(result.request.model.path, result.request.model.name, temperature,
                              result.request.model.stamp)  # fmt: skip
        self._cache_evaluation(result.request, calibrated, result.payload["evaluation"], result.eval_set)
        self.calibration.set_status(
            f"Calibrated: {calibration.as_text()}. Stored in the model: every probability shown is now calibrated. "
            "Save the model to keep it."
        )
        self.calibration_fitted.emit(result.request.model.path, temperature, calibration.as_metadata())

    def _cache_evaluation(self, request: JobRequest, model: ModelRef, evaluation, eval_set) -> None:
        plain = JobRequest("evaluate", model, request.dataset, request.folder, limit=request.limit)
        self.runner.cache.put(plain, JobResult(plain, eval_set, {"evaluation": evaluation}))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.statusBar().showMessage("Failed.", 5000)
        self.show_message(message, warning=True)

    @Slot()
    def _on_stopped(self) -> None:
        self.statusBar().showMessage("Stopped.", 5000)
        self.show_message("Stopped; nothing of that run was kept.")

    @Slot(int)
    def _on_set_chosen(self, _index: int) -> None:
        self.wanted_set = self.set_box.currentData()
        self.show_message("")  # what was said of the last set (a folder that did not fit) is not about this one
        if self.set_box.currentData() == "folder" and not self.folder:
            self.ask_folder()
        self._show_cached()

    @Slot(str)
    def _on_overlay_requested(self, source: str) -> None:
        other = self._other_model(source)
        if other is not None:
            self.overlay_robustness(other)

    @Slot(str)
    def _on_compare_requested(self, source: str) -> None:
        other = self._other_model(source)
        if other is not None:
            self.compare_with(other)

    def _other_model(self, source: str) -> ModelRef | None:
        """The previous model, or a model file the user picks (None, with a message when there is none)."""
        other = ask_model_file(self, self.settings) if source != "previous" else previous_model(self.description)
        if other is None and source == "previous":
            self.show_message("There is no previous model; open or train another one first.", warning=True)
        if other is None or self.model is None:
            return other
        return told_apart(other, self.model.name)  # "Only m is right on 9, only m on 12" would tell nothing

    @Slot(int)
    def _open_image(self, index: int) -> None:
        if self.result is None and self.comparison is None:
            return
        result = self.comparison if self.sender() is self.compare_view.gallery else self.result
        evaluation = result.payload["evaluation"]
        self._emit_image(result.eval_set, index, evaluation)

    @Slot(int)
    def _open_map_image(self, index: int) -> None:
        if self.map_result is not None:
            evaluation = None if self.result is None else self.result.payload["evaluation"]
            same = evaluation is not None and len(evaluation.labels) == len(self.map_result.eval_set)
            self._emit_image(self.map_result.eval_set, index, evaluation if same else None)

    def _emit_image(self, eval_set, index: int, evaluation) -> None:
        """Hand an image to the canvas with what the evaluation made of it (see :func:`opened_image_words`)."""
        words = opened_image_words(eval_set, index, evaluation)
        self.image_chosen.emit(np.array(eval_set.images[index], dtype=np.float32), words)

    def _is_current(self, request: JobRequest) -> bool:
        """True when ``request`` was for the chosen set and the active model as it is (an overlay: the one under it)."""
        current = self.current_request(request.kind)
        if current is None or current.dataset_key != request.dataset_key:
            return False
        return current.model.identity == (request.drawn_over or request.model).identity

    def _show_cached(self) -> None:
        """Show what is cached for the active model on the chosen set (its evaluation, a map), or empty tabs."""
        self.comparison = self.map_result = None  # another model's or set's comparison and map no longer apply
        self.compare_view.clear()
        self.map_view.clear()
        request = self.current_request()
        cached = None if request is None else self.runner.cache.get(request)
        if cached is not None:
            self.show_evaluation(cached)
            maps = [self.runner.cache.get(dataclasses.replace(request, kind="map", method=m)) for m in ("pca", "tsne")]
            if any(maps):
                self.show_map(next(found for found in maps if found is not None))
            return
        self.result = None
        self.matrix.set_confusion(np.zeros((0, 0), dtype=np.int64), [])
        self.cell_gallery.clear("Run an evaluation, then click a cell of the matrix to see its images.")
        self.mistakes.clear()
        self.numbers.clear()
        self.calibration.clear()
        self.robustness.clear()
        self.setWindowTitle("Evaluate — Digit Lab")
        self._update_controls()

    @Slot()
    def _update_controls(self, *_args) -> None:
        running = self.runner.is_running
        ready = self.model is not None and self.set_box.count() > 0
        has_previous = bool(self.description and self.description.get("previous_source_path"))
        self.run_button.setEnabled(ready and not running)
        self.report_button.setEnabled(not running and self.result is not None)
        self.stop_button.setEnabled(running)
        self.set_box.setEnabled(not running)
        self.browse_button.setEnabled(not running and self.set_box.findData("folder") >= 0)
        self.calibration.set_calibrate_enabled(ready and not running and self.result is not None)
        self.robustness.set_buttons_enabled(ready and not running, ready and not running and has_previous,
                                            ready and not running)  # fmt: skip
        self.compare_view.set_buttons_enabled(ready and not running and has_previous, ready and not running)
        self.map_view.draw_button.setEnabled(ready and not running)
        self.progress_bar.setVisible(running)
        if not running:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
