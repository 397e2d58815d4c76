"""The "Look inside" dock: the network view, the filters and the evidence, live for the user's own digit.

It asks the model thread (through the controller, newest drawing wins) only after each prediction has been
shown, so the fast path always answers first; Integrated Gradients waits for the stroke to end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QTabWidget, QVBoxLayout, QWidget

from app.inspect.evidence_bar import METHOD_NAMES, EvidenceBar
from app.inspect.evidence_geometry import map_to_picture
from app.inspect.filters_view import FiltersView
from app.inspect.network_view import NetworkView
from app.models.controller import ModelController

STROKE_END_ONLY = ("integrated-gradients",)  # too slow for every mouse move (about 70 ms), fine at a stroke's end
FALLBACK_METHOD = "integrated-gradients"  # needs only the gradient at the input: it applies to every model
MIN_INTERVAL_S = 0.1  # at most ten inspections a second while drawing: live to the eye, far less work
NO_DRAWING = "Draw a digit to see what every layer makes of it."
READING_LAYERS = "Reading the model's layers…"
READING_FILTERS = "Reading the model's filters…"
LOADING_MODEL = "Loading the model…"
NO_MODEL = "No model yet."


class LookInsideDock(QDockWidget):
    """A dock with the network view and the filters, and the evidence controls above them.

    Emits the overlays for the canvas (on the predicted picture's frame) and for the 28x28; the main window
    connects them to ``DrawingCanvas.set_overlay`` and ``PredictionPanel.set_overlay``.
    """

    picture_overlay_changed = Signal(object, object, float)  # positive, negative (picture frame), opacity
    input_overlay_changed = Signal(object, object, float)  # positive, negative (28x28), opacity
    inspected = Signal(dict)  # each inspection result shown (for tests and benchmarks)

    def __init__(self, models: ModelController, parent: QWidget | None = None) -> None:
        super().__init__("Look inside", parent)
        self.setObjectName("LookInsideDock")
        self.models = models
        self.stroke_in_progress: Callable[[], bool] = lambda: False  # the window hands in the canvas's
        self.canvas_has_drawing: Callable[[], bool] = lambda: False  # the window hands in the canvas's
        self.evidence_bar = EvidenceBar()
        self.network = NetworkView()
        self.filters = FiltersView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.network, "Network")
        self.tabs.addTab(self.filters, "Filters")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.evidence_bar)
        layout.addWidget(self.tabs, 1)
        self.setWidget(body)
        self.action = self.toggleViewAction()
        self.action.setText("&Look inside")
        self.action.setShortcut(QKeySequence("Ctrl+L"))
        self.action.setToolTip("Every layer's output, the filters and the evidence for your drawing (Ctrl+L)")
        self.action.setIconText("Look inside")
        self.action.triggered.connect(lambda checked: checked and self.raise_())  # in front of its tab group

        self._class_names: list[str] = []
        self._chosen_class: int | None = None
        self._latest: dict | None = None  # the latest prediction shown: image, stages, winner
        self._sent: dict[int, dict] = {}  # inspection request id → the prediction it explains
        self._last_request_id = 0
        self._previous_model_through = 0  # requests up to this id asked about an earlier model: their answers are old
        self._evidence: tuple[np.ndarray | None, ...] | None = None  # picture +/-, 28x28 +/- of the latest map
        self._model_name = ""
        self._temperature: float | None = None
        self._filters_owed = False
        self._training_filters_shown = False  # the Filters tab shows a run's kernels, not the active model's
        self._drawing_expected = False  # a drawing is there (or its prediction is on its way) to look inside
        self._model_failed = False  # no model, and none is loading (start-up's failed, or TensorFlow did not start)
        self._on_screen = False  # from visibilityChanged: a dock behind another tab stays isVisible()
        self._preferred_method = self.evidence_bar.method  # the user's last pick: each new model starts with it
        self._method_picked_for_model = False  # the method in use was picked by the user for the active model
        self._fallback_note: str | None = None  # why the dock put the fallback method in place of the preferred one
        self._switching_method = False  # the dock, not the user, is changing the method
        self._sent_at = 0.0
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.timeout.connect(self._request)

        self.evidence_bar.settings_changed.connect(self._on_evidence_settings_changed)
        self.evidence_bar.method_picker.currentIndexChanged.connect(self._on_method_changed)
        self.evidence_bar.method_picker.activated.connect(self._on_method_activated)
        self.evidence_bar.opacity_changed.connect(self._emit_overlays)
        self.evidence_bar.class_reset.connect(lambda: self.explain_class(None))
        self.network.fold_changed.connect(self._request)
        self.tabs.currentChanged.connect(self._request)
        self.visibilityChanged.connect(self._on_visibility_changed)
        models.inspection_finished.connect(self._on_inspection_finished)
        models.model_load_failed.connect(self._on_model_missing)
        models.backend_failed.connect(self._on_model_missing)
        self._say_what_is_coming()

    # ------------------------------------------------------------------------------------------ public

    @property
    def on_screen(self) -> bool:
        """True while the dock can be seen (not closed, not behind another tab)."""
        return self._on_screen

    @property
    def explained_class(self) -> int | None:
        """The class clicked (None: the winner is explained)."""
        return self._chosen_class

    @property
    def evidence_maps(self) -> tuple[np.ndarray | None, ...] | None:
        """The latest overlay maps: picture positive, picture negative, 28x28 positive, 28x28 negative."""
        return self._evidence

    def open(self) -> None:
        """Show the dock in front of its tab group (as its action does)."""
        if not self.action.isChecked():
            self.action.trigger()
        self.raise_()

    @Slot(dict)
    def set_model(self, description: dict) -> None:
        """A new active model: forget its predecessor's rows, read its filters."""
        self._class_names = [str(name) for name in description.get("class_names", [])]
        self._model_name = str(description.get("display_name") or "")
        self._temperature = description.get("temperature")
        self._chosen_class = None
        self._latest = None
        self._model_failed = False
        self._drawing_expected = self.canvas_has_drawing()  # the window scores it again with this model
        self._set_evidence(None)
        self.evidence_bar.show_message(None)  # nothing the previous model said stays
        self.evidence_bar.show_explained(None, False)
        self._method_picked_for_model = False
        self._fallback_note = None
        self._use_method(self._preferred_method)  # a fallback was for the previous model only
        self.network.clear("")
        self.network.set_class_names(self._class_names)
        self._previous_model_through = self._last_request_id  # answers still on their way are the old model's
        self._sent.clear()
        self._ask_for_active_filters()

    @Slot(dict)
    def show_prediction(self, result: dict) -> None:
        """A prediction was shown: inspect the same 28x28 (or clear the views for a blank or failed one)."""
        if result.get("error"):
            return
        if result.get("blank") or result.get("image") is None or result.get("probabilities") is None:
            self.drawing_cleared()
            unscored = not result.get("blank") and result.get("reason")  # the model could not score it (NaN)
            self.network.show_message(
                f"No prediction: {unscored}." if unscored else "No digit found: nothing to look inside."
            )
            return
        self._latest = {
            "image": np.asarray(result["image"], dtype=np.float32),
            "stages": list(result.get("stages") or []),
            "winner": int(np.argmax(result["probabilities"])),
        }
        self._drawing_expected = True
        self._say_what_is_coming()
        self._request()

    @Slot(int)
    def explain_class(self, index: int | None) -> None:
        """Explain class ``index`` (a probability bar was clicked); None goes back to the winner."""
        self._chosen_class = index
        self._request()

    @Slot()
    def drawing_cleared(self) -> None:
        """The drawing is blank now: no overlay, and the next digit is explained for its winner."""
        self._latest = None
        self._chosen_class = None
        self._drawing_expected = False
        self.models.cancel_inspections()
        self._set_evidence(None)
        self.evidence_bar.show_explained(None, False)
        self._say_what_is_coming()

    @Slot(list, str)
    def show_training_filters(self, banks: Sequence[dict], source: str) -> None:
        """The kernels of the model being trained, at an epoch's end."""
        self._training_filters_shown = True
        self.filters.show_filters(banks, source)

    @Slot(bool)
    def training_running_changed(self, running: bool) -> None:
        """A run ended: its kernels give way to the active model's (a trained model made active follows)."""
        if not running and self._training_filters_shown:
            self._ask_for_active_filters()

    # ----------------------------------------------------------------------------------------- helpers

    @Slot()
    def _request(self, *_unused: object) -> None:
        """Ask for what is on show: the layers while the network tab is shown, evidence while it is switched on."""
        latest = self._latest
        if latest is None or not self._on_screen:
            return
        want_layers = self.tabs.currentWidget() is self.network
        method = self.evidence_bar.method if self.evidence_bar.enabled else None
        if method in STROKE_END_ONLY and self.stroke_in_progress():
            method = None  # the last map stays until the stroke ends
        if not want_layers and method is None:
            return
        wait = MIN_INTERVAL_S - (time.monotonic() - self._sent_at)
        if wait > 0:  # the timer asks again for the newest drawing then
            if not self._throttle.isActive():
                self._throttle.start(int(wait * 1000) + 1)
            return
        self._sent_at = time.monotonic()
        class_index = self._chosen_class
        explained = latest["winner"] if class_index is None else class_index
        self._show_explained(explained)
        options = {"layers": want_layers, "fold": self.network.folded, "method": method, "class_index": class_index}
        options["filters"] = self._filters_owed
        request_id = self._ask(latest["image"], options)
        self._sent[request_id] = {**latest, "method": method}
        for old in sorted(self._sent)[:-4]:  # a running request's result is still worth showing; older ones are gone
            del self._sent[old]

    def _ask_for_active_filters(self) -> None:
        """Clear the Filters tab and ask for the active model's kernels (now, or once the dock is on screen)."""
        self._training_filters_shown = False
        self.filters.show_filters([], "")
        self.filters.show_message(READING_FILTERS)
        self._say_what_is_coming()
        self._filters_owed = True  # asked for with the next request, so a drawing's request cannot displace it
        if self._on_screen and self.models.is_model_ready:
            self._ask(None, {"filters": True})

    def _ask(self, image28: np.ndarray | None, options: dict) -> int:
        """Send an inspection request to the model thread; its id tells its answer from an earlier model's."""
        self._last_request_id = self.models.request_inspection(image28, options)
        return self._last_request_id

    @Slot(dict)
    def _on_inspection_finished(self, result: dict) -> None:
        if result["request_id"] <= self._previous_model_through:
            return  # asked before the model changed: its layers, filters or error are the previous model's
        if result.get("filters") is not None:
            self._filters_owed = False
            self._training_filters_shown = False
            self.filters.show_filters(result["filters"], f"{self._model_name}: the active model's kernels")
        prediction = self._sent.pop(result["request_id"], None)
        for old in [request_id for request_id in self._sent if request_id < result["request_id"]]:
            del self._sent[old]  # older results would overwrite a newer drawing's
        if result.get("error"):
            self.network.show_message(result["error"])
            if self._filters_owed:  # asked for with this request, or asked again with the next one
                self.filters.show_message(result["error"])
            if prediction is not None:  # no evidence for this drawing: none of an earlier one (or model) stays
                self._set_evidence(None)
                shown_elsewhere = self.tabs.currentWidget() is self.network
                self.evidence_bar.show_message(None if shown_elsewhere or not prediction["method"] else result["error"])
        if prediction is None or self._latest is None:
            return
        if result.get("layers") is not None:
            self.network.show_layers(self._with_calibration_note(result["layers"]))
        evidence = result.get("evidence")
        if evidence is not None:
            self._show_evidence(evidence, prediction)
        self.inspected.emit(result)

    def _say_what_is_coming(self) -> None:
        """While there are no layers (or filters) to show, say why: no model, the model loading, no drawing, or the
        model's layers being read in the model thread (the first trace of a model builds its layer model)."""
        if not self.models.is_model_ready:
            text = NO_MODEL if self._model_failed else LOADING_MODEL
            self.filters.show_message(text)
            if not self.network.rows:
                self.network.show_message(text)
            return
        if not self.network.rows:
            self.network.show_message(READING_LAYERS if self._drawing_expected else NO_DRAWING)

    @Slot()
    def _on_model_missing(self, *_details: object) -> None:
        """A load failed: without an active model to fall back on, there is none to look inside."""
        if not self.models.is_model_ready:
            self._model_failed = True
            self._say_what_is_coming()

    def _with_calibration_note(self, layers: list[dict]) -> list[dict]:
        """A calibrated model's bars differ from its own softmax: the last row says so."""
        if not self._temperature or not layers or layers[-1]["kind"] != "softmax":
            return layers
        note = layers[-1].get("note") or ""
        temperature = f"{self._temperature:.3g}"
        calibrated = f"the model's own softmax; the probability bars are calibrated (temperature {temperature})"
        return [*layers[:-1], {**layers[-1], "note": f"{note} · {calibrated}" if note else calibrated}]

    def _show_evidence(self, evidence: dict, prediction: dict) -> None:
        method = str(evidence.get("method"))
        name = METHOD_NAMES.get(method, method)
        message = str(evidence.get("message") or "")
        note = fallback_note(method, evidence.get("unsupported"))
        if note and self._falls_back(method):
            self._fallback_note = note
            self._set_evidence(None)
            self.evidence_bar.show_message(note)
            self._use_method(FALLBACK_METHOD)  # asks again
            return
        if message:
            self.evidence_bar.show_message(message if message.startswith(name) else f"{name}: {message}")
            self._set_evidence(None)
            return
        class_index = int(evidence["class_index"])
        self._show_explained(class_index)
        positive, negative = evidence.get("positive"), evidence.get("negative")
        if not any(side is not None and np.any(side) for side in (positive, negative)):  # never a blank overlay
            explained = self._class_name(class_index)
            other = "" if method == FALLBACK_METHOD else f" Try {METHOD_NAMES[FALLBACK_METHOD]}."
            self.evidence_bar.show_message(
                f"{name} finds no evidence for or against {explained} in this drawing.{other}"
            )
            self._set_evidence(None)
            return
        self.evidence_bar.show_message(self._fallback_note)
        image, stages = prediction["image"], prediction["stages"]
        self._set_evidence(
            (map_to_picture(positive, image, stages), map_to_picture(negative, image, stages), positive, negative)
        )

    def _falls_back(self, method: str) -> bool:
        """A method in use that cannot apply to this model gives way to the fallback, unless the user picked it
        for this model (then its message says why it shows nothing)."""
        in_use = method == self.evidence_bar.method
        return in_use and method != FALLBACK_METHOD and not self._method_picked_for_model

    def _use_method(self, method: str) -> None:
        """Put ``method`` in the picker for the user (not a pick of theirs); a change asks again."""
        self._switching_method = True
        try:
            self.evidence_bar.set_method(method)
        finally:
            self._switching_method = False

    @Slot(int)
    def _on_method_changed(self, _index: int) -> None:
        """The user picked a method: it is kept for this model, even where it does not apply, and for the next."""
        if self._switching_method:
            return
        self._preferred_method = self.evidence_bar.method
        self._method_picked_for_model = True
        self._fallback_note = None
        self.evidence_bar.show_message(None)  # the previous method's note or reason

    @Slot(int)
    def _on_method_activated(self, _index: int) -> None:
        """The user picked the method already in use: deliberate too (a change was seen by ``_on_method_changed``)."""
        if self._method_picked_for_model and self._preferred_method == self.evidence_bar.method:
            return
        self._on_method_changed(_index)
        self._request()  # the answer says why it shows nothing, where it cannot apply

    def _set_evidence(self, maps: tuple[np.ndarray | None, ...] | None) -> None:
        self._evidence = maps
        self._emit_overlays()

    @Slot()
    def _emit_overlays(self, _opacity: float | None = None) -> None:
        maps = self._evidence if self.evidence_bar.enabled and self._on_screen else None
        opacity = self.evidence_bar.opacity
        if maps is None:
            self.picture_overlay_changed.emit(None, None, opacity)
            self.input_overlay_changed.emit(None, None, opacity)
            return
        self.picture_overlay_changed.emit(maps[0], maps[1], opacity)
        self.input_overlay_changed.emit(maps[2], maps[3], opacity)

    def _show_explained(self, index: int) -> None:
        self.evidence_bar.show_explained(self._class_name(index), self._chosen_class is not None)

    def _class_name(self, index: int) -> str:
        names = self._class_names
        return names[index] if 0 <= index < len(names) else str(index)

    @Slot()
    def _on_evidence_settings_changed(self) -> None:
        if not self.evidence_bar.enabled:
            self._set_evidence(None)
            return
        self._request()

    @Slot(bool)
    def _on_visibility_changed(self, visible: bool) -> None:
        """Hidden: nothing is computed and the overlay goes; shown again: catch up with the drawing."""
        self._on_screen = visible
        if not visible:
            self.models.cancel_inspections()
            self._emit_overlays()
            return
        if self._filters_owed and self.models.is_model_ready:
            self._ask(None, {"filters": True})
        self._request()


UNSUPPORTED_REASONS = {  # ml.inspect.evidence's Evidence.unsupported codes (not imported: that module loads Keras)
    "no-conv-layer": "needs a conv layer and this model has none",
    "one-cell-map": "cannot tell where in this model (its last conv map is 1x1)",
}


def fallback_note(method: str, unsupported: str | None) -> str | None:
    """One short line: why ``method`` gives way to the fallback for this model (``unsupported``: the evidence's
    code); None when the method applies to the model (a message is then about this drawing or class)."""
    reason = UNSUPPORTED_REASONS.get(str(unsupported))
    if reason is None:
        return None
    return f"{METHOD_NAMES.get(method, method)} {reason}: showing {METHOD_NAMES[FALLBACK_METHOD]} instead."


def dock_area() -> Qt.DockWidgetArea:
    """Where the dock goes: below the drawing and the prediction, as a tab beside Training."""
    return Qt.DockWidgetArea.BottomDockWidgetArea
