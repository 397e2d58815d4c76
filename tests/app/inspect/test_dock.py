"""The Look inside dock in the window, with real models: layers and evidence follow the drawing, clicks, toggles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtWidgets import QApplication, QMainWindow

from app.inspect.dock import LookInsideDock, dock_area
from app.main_window import MainWindow
from ml.assets import bundled_model_path
from tests.app.inspect.layer_data import cnn_trace, mlp_trace
from tests.app.test_main_window import (
    LOAD_TIMEOUT_MS,
    PREDICTION_TIMEOUT_MS,
    canvas_point,
    wait_until_model_loaded,
)

ROOT = Path(__file__).resolve().parents[3]
LEGACY_MLP = ROOT / "tests" / "fixtures" / "tutorial_mlp_28x28_tfkeras2.h5"

pytestmark = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")

SEVEN = [(80, 50), (200, 50), (170, 140), (130, 240)]
ONE = [(140, 30), (142, 250)]


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory, settings_factory):
    """One window with the bundled model and the Look inside tab raised."""
    shown = MainWindow(settings_factory(tmp_path_factory.mktemp("look-inside")))
    shown.resize(1600, 1000)
    shown.show()
    wait_until_model_loaded(shown)
    shown.look_inside.open()
    yield shown
    shown.shutdown()
    shown.close()


@pytest.fixture
def dock(window, qtbot):
    """The dock on a blank canvas, explaining the winner with Grad-CAM, batch norm folded."""
    dock = window.look_inside
    window.canvas.clear()
    dock.open()
    dock.evidence_bar.show_check.setChecked(True)
    dock.evidence_bar.set_method("gradcam")
    dock.network.fold_check.setChecked(True)
    dock.explain_class(None)
    qtbot.waitUntil(lambda: not window.models.is_busy and not window.models.is_inspecting, timeout=LOAD_TIMEOUT_MS)
    return dock


def inspected(qtbot, dock, action, wanted=lambda result: True) -> dict:
    """Run ``action`` and wait for an inspection result that shows layers or evidence and passes ``wanted``."""
    with qtbot.waitSignal(
        dock.inspected, timeout=PREDICTION_TIMEOUT_MS, check_params_cb=lambda result: result["final"] and wanted(result)
    ) as blocker:
        action()
    return blocker.args[0]


def largest_alpha(image) -> int:
    """The most opaque pixel of an RGBA8888 QImage."""
    pixels = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * image.height())
    return int(pixels.reshape(image.height(), -1)[:, 3 : image.width() * 4 : 4].max())


def draw(window: MainWindow, points) -> None:
    window.canvas.clear()
    window.canvas.draw_stroke(points, width=24)


def test_drawing_shows_every_layer_and_the_evidence_and_both_follow_the_drawing(qtbot, window, dock):
    result = inspected(qtbot, dock, lambda: draw(window, SEVEN), lambda r: r["layers"] and r["evidence"])
    rows = dock.network.rows
    conv = next(row for row in dock.network.visible_rows if row.kind == "conv")
    assert conv.mosaic.count == 32 and conv.mosaic.color_image() is not None
    assert rows[-1].kind == "softmax" and np.argmax(rows[-1].layer["values"]) == 7
    assert {row.layer["tower"] for row in rows} >= {"tower 1", "tower 2", "tower 3"}
    assert dock.network.tower_picker.count() == 3
    assert len(dock.filters.rows) == 12 and dock.filters.rows[0].mosaic.count == 32  # 3 towers x 4 conv layers
    assert (
        result["evidence"]["class_index"] == 7
        and "Explaining <b>7</b> (the winner)" in dock.evidence_bar.class_label.text()
    )
    canvas_overlay, input_overlay = window.canvas.overlay, window.prediction.model_input.overlay
    assert canvas_overlay is not None and input_overlay is not None and input_overlay.width() == 28
    thumbnails = conv.mosaic.color_image().copy()

    inspected(qtbot, dock, lambda: draw(window, ONE), lambda r: r["layers"] and r["evidence"])
    assert dock.network.rows == rows  # the same rows, recoloured
    assert conv.mosaic.color_image() != thumbnails
    assert window.canvas.overlay != canvas_overlay


def test_the_evidence_overlay_lies_on_the_ink(qtbot, window, dock):
    inspected(qtbot, dock, lambda: draw(window, ONE), lambda r: r["evidence"])
    picture_positive = dock.evidence_maps[0]
    assert picture_positive.shape == (140, 140)  # 2x2 canvas pixels each
    ink = window.canvas.image_array().reshape(140, 2, 140, 2).mean(axis=(1, 3)) < 0.5
    columns = picture_positive.sum(axis=0)
    centre = float(np.average(np.arange(140) * 2 + 1, weights=columns))
    assert abs(centre - 141) < 40  # centred on the stroke at x = 141
    assert picture_positive[ink].mean() > picture_positive[~ink].mean()


def test_guided_gradcam_from_the_method_picker_follows_the_drawing_and_sits_closer_on_the_strokes(qtbot, window, dock):
    def on_ink(positive: np.ndarray) -> float:
        ink = window.canvas.image_array().reshape(140, 2, 140, 2).mean(axis=(1, 3)) < 0.5
        return float(positive[ink].sum() / positive.sum())

    inspected(qtbot, dock, lambda: draw(window, SEVEN), lambda r: r["evidence"])
    gradcam_share = on_ink(dock.evidence_maps[0])
    index = dock.evidence_bar.method_picker.findData("guided-gradcam")
    assert dock.evidence_bar.method_picker.itemText(index) == "Guided Grad-CAM"
    result = inspected(
        qtbot,
        dock,
        lambda: dock.evidence_bar.method_picker.setCurrentIndex(index),
        lambda r: r["evidence"] and r["evidence"]["method"] == "guided-gradcam",
    )
    assert result["evidence"]["class_index"] == 7 and window.canvas.overlay is not None
    assert on_ink(dock.evidence_maps[0]) > gradcam_share
    overlay = window.canvas.overlay
    inspected(
        qtbot,
        dock,
        lambda: draw(window, ONE),
        lambda r: bool(r["evidence"]) and r["evidence"]["method"] == "guided-gradcam",
    )
    assert window.canvas.overlay != overlay  # live while drawing, not only at a stroke's end


@pytest.mark.qt_log_ignore("This plugin does not support raise", "This plugin does not support grabbing the keyboard")
def test_clicking_a_probability_bar_explains_that_class_until_the_winner_is_asked_for(qtbot, window, dock):
    inspected(qtbot, dock, lambda: draw(window, SEVEN), lambda r: r["evidence"])
    bars = window.prediction.bars
    point = bars.mapFromScene(bars.getPlotItem().getViewBox().mapViewToScene(QPointF(0.3, 3)))
    result = inspected(
        qtbot,
        dock,
        lambda: qtbot.mouseClick(bars.viewport(), Qt.MouseButton.LeftButton, pos=point),
        lambda r: r["evidence"] and r["evidence"]["class_index"] == 3,
    )
    popup = QApplication.activePopupWidget()  # the teach room offers its correction menu on the same click
    if popup is not None:
        popup.close()
    assert dock.explained_class == 3 and "Explaining <b>3</b>" in dock.evidence_bar.class_label.text()
    assert not dock.evidence_bar.winner_button.isHidden()
    assert result["evidence"]["positive"] is not None
    inspected(
        qtbot,
        dock,
        dock.evidence_bar.winner_button.click,
        lambda r: r["evidence"] and r["evidence"]["class_index"] == 7,
    )
    assert dock.explained_class is None and dock.evidence_bar.winner_button.isHidden()


def test_the_fold_toggle_lists_batch_norm_and_activations_as_their_own_rows(qtbot, window, dock):
    inspected(qtbot, dock, lambda: draw(window, SEVEN), lambda r: r["layers"])
    folded_rows = len(dock.network.rows)
    assert not any(row.kind in ("norm", "activation") for row in dock.network.rows)
    inspected(qtbot, dock, lambda: dock.network.fold_check.setChecked(False), lambda r: r["layers"])
    kinds = [row.kind for row in dock.network.rows]
    assert "norm" in kinds and "activation" in kinds and len(kinds) > folded_rows
    assert not any("folded" in row.note.text() for row in dock.network.rows)


def test_the_off_switch_and_the_opacity_slider_change_the_overlay_without_asking_again(qtbot, window, dock):
    inspected(qtbot, dock, lambda: draw(window, SEVEN), lambda r: r["evidence"])
    strong = window.canvas.overlay
    dock.evidence_bar.opacity_slider.setValue(20)
    faint = window.canvas.overlay
    assert faint is not None and faint != strong
    assert largest_alpha(faint) < largest_alpha(strong)
    dock.evidence_bar.show_check.setChecked(False)
    assert window.canvas.overlay is None and window.prediction.model_input.overlay is None


def test_a_blank_canvas_clears_the_overlay(qtbot, window, dock):
    inspected(qtbot, dock, lambda: draw(window, SEVEN), lambda r: r["evidence"])
    assert window.canvas.overlay is not None
    window.canvas.clear()
    assert window.canvas.overlay is None and window.prediction.model_input.overlay is None


def test_integrated_gradients_waits_for_the_stroke_to_end(qtbot, window, dock):
    dock.evidence_bar.set_method("integrated-gradients")
    sent: list[dict] = []
    original = window.models.request_inspection
    window.models.request_inspection = lambda image, options: (sent.append(options), original(image, options))[1]
    try:
        canvas = window.canvas
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(window, 140, 30))
        for y in range(40, 250, 30):
            qtbot.mouseMove(canvas, canvas_point(window, 141, y))
            qtbot.waitUntil(lambda: not window.models.is_busy, timeout=PREDICTION_TIMEOUT_MS)
        during = list(sent)
        result = inspected(
            qtbot,
            dock,
            lambda: qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(window, 141, 250)),
            lambda r: r["evidence"],
        )
    finally:
        del window.models.request_inspection
    assert during and all(options["method"] is None for options in during)  # layers only while drawing
    assert result["evidence"]["method"] == "integrated-gradients" and result["evidence"]["positive"] is not None


@pytest.fixture
def own_window(started_window):
    """A window of its own (another model becomes active in it), closed afterwards."""
    return started_window


def test_on_an_mlp_grad_cam_gives_way_to_integrated_gradients_and_says_why_when_picked(qtbot, own_window):
    window = own_window
    dock = window.look_inside
    dock.open()
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS):
        window.open_model_file(LEGACY_MLP)
    result = inspected(
        qtbot, dock, lambda: draw(window, SEVEN), lambda r: r["evidence"] and r["evidence"]["message"] is None
    )
    assert result["evidence"]["method"] == "integrated-gradients" and window.canvas.overlay is not None
    assert dock.evidence_bar.message.text() == (
        "Grad-CAM needs a conv layer and this model has none: showing Integrated Gradients instead."
    )
    assert all(row.mosaic.maps.shape[1:] == (1, 1) for row in dock.network.rows if row.kind != "input")
    assert dock.filters.rows == [] and "no convolution layers" in dock.filters.message.text()
    inspected(qtbot, dock, lambda: dock.evidence_bar.set_method("gradcam"), lambda r: r["evidence"])  # the user's
    assert dock.evidence_bar.message.text().startswith("Grad-CAM needs a conv layer; this model has none")
    assert window.canvas.overlay is None and dock.evidence_bar.method == "gradcam"
    with qtbot.waitSignal(window.models.model_loaded, timeout=LOAD_TIMEOUT_MS):
        window.models.switch_to_previous()  # back to the bundled model, the drawing still there and the dock open
    qtbot.waitUntil(lambda: len(dock.filters.rows) == 12, timeout=PREDICTION_TIMEOUT_MS)  # its filters, not lost
    qtbot.waitUntil(lambda: window.canvas.overlay is not None, timeout=PREDICTION_TIMEOUT_MS)  # its Grad-CAM
    assert dock.evidence_bar.message.isHidden()


def test_a_hidden_dock_computes_nothing(qtbot, window, dock):
    window.training_dock.raise_()
    qtbot.waitUntil(lambda: not dock.on_screen)
    sent: list[dict] = []
    window.models.inspection_finished.connect(sent.append)
    try:
        draw(window, SEVEN)
        qtbot.waitUntil(lambda: not window.models.is_busy, timeout=PREDICTION_TIMEOUT_MS)
        qtbot.wait(200)
    finally:
        window.models.inspection_finished.disconnect(sent.append)
    assert sent == [] and window.canvas.overlay is None
    dock.open()


def test_the_dock_starts_closed_as_a_tab_beside_training_and_opens_from_the_view_menu(qtbot, own_window):
    window = own_window
    dock = window.look_inside
    assert not dock.isVisible() and not dock.on_screen and not dock.action.isChecked()
    assert dock.action in window.view_menu.actions() and dock.action.shortcut().toString() == "Ctrl+L"
    draw(window, SEVEN)
    qtbot.waitUntil(lambda: not window.models.is_busy, timeout=PREDICTION_TIMEOUT_MS)
    assert not window.models.is_inspecting and window.canvas.overlay is None
    with qtbot.waitSignal(dock.inspected, timeout=PREDICTION_TIMEOUT_MS):
        dock.action.trigger()  # opening it catches up with the drawing
    assert dock.on_screen and window.tabifiedDockWidgets(window.training_dock) == [dock]
    assert window.canvas.overlay is not None
    dock.action.trigger()
    assert not dock.on_screen and window.canvas.overlay is None


def test_the_drawing_goes_to_training_and_the_trained_filters_come_to_the_dock(qtbot, window, dock):
    inspected(qtbot, dock, lambda: draw(window, SEVEN), lambda r: r["layers"])
    held = window.training_panel.run.latest_drawing.get()
    assert held is not None and held.shape == (28, 28)
    assert np.array_equal(held, dock.network.rows[0].layer["values"][..., 0])  # the same 28x28 the model sees
    kernels = np.random.default_rng(0).normal(size=(16, 3, 3)).astype(np.float32)
    window.training_panel.filters_trained.emit(
        [{"layer": "conv", "tower": None, "kernels": kernels, "note": ""}], "epoch 1"
    )
    assert [row.mosaic.count for row in dock.filters.rows] == [16] and dock.filters.caption.text() == "epoch 1"
    window.canvas.clear()
    assert window.training_panel.run.latest_drawing.get() is None  # a run started now re-scores nothing


def test_when_a_run_ends_its_kernels_give_way_to_the_active_models(qtbot, window, dock):
    """After a run the Filters tab kept its last kernels, captioned "The model being trained, after epoch 1", though
    nothing was being trained any more and the active model (kept, or about to be replaced) was another."""
    kernels = np.random.default_rng(0).normal(size=(16, 3, 3)).astype(np.float32)
    training = "The model being trained, after epoch 1"
    window.training_panel.filters_trained.emit(
        [{"layer": "conv", "tower": None, "kernels": kernels, "note": ""}], training
    )
    assert dock.filters.caption.text() == training
    with qtbot.waitSignal(window.models.inspection_finished, timeout=PREDICTION_TIMEOUT_MS, raising=False):
        window.training_panel.running_changed.emit(False)  # the run ended; the window keeps its active model
    assert dock.filters.caption.text() == f"{dock._model_name}: the active model's kernels"
    assert len(dock.filters.rows) == 12 and dock.filters.rows[0].mosaic.count == 32


def test_fast_drawing_is_inspected_at_most_ten_times_a_second_and_the_newest_drawing_wins(qtbot, window, dock):
    sent: list[np.ndarray] = []
    window.models.request_inspection = lambda image, options: sent.append(image) or len(sent)
    try:
        qtbot.wait(150)
        for level in range(20):  # twenty predictions shown within a few milliseconds
            image = np.full((28, 28), level / 20, np.float32)
            dock.show_prediction(
                {"blank": False, "error": None, "image": image, "stages": [], "probabilities": np.eye(10)[1]}
            )
        assert len(sent) == 1 and sent[0][0, 0] == 0.0
        qtbot.waitUntil(lambda: len(sent) == 2, timeout=1000)
        qtbot.wait(150)
    finally:
        del window.models.request_inspection
    assert len(sent) == 2 and sent[1][0, 0] == pytest.approx(19 / 20)  # then only the newest


def test_an_opened_photo_gets_its_evidence_on_its_own_pixels(qtbot, window, dock, tmp_path):
    from PIL import Image

    paper = np.full((300, 200), 235, np.uint8)  # a tall scan: dark ink on light paper, the digit low and left
    paper[150:260, 50:62] = 30
    path = tmp_path / "one.png"
    Image.fromarray(paper).save(path)
    inspected(qtbot, dock, lambda: window.images.open_file(path), lambda r: r["evidence"])
    picture_positive = dock.evidence_maps[0]
    assert picture_positive.shape == (140, 94)  # the photo's own frame (300x200), at most 140 px on a side
    rows, columns = np.nonzero(picture_positive > 0.5 * picture_positive.max())
    assert 150 / 300 * 140 - 10 <= rows.mean() <= 260 / 300 * 140 + 10  # where the stroke is in the photo
    assert 50 / 200 * 94 - 10 <= columns.mean() <= 62 / 200 * 94 + 10
    assert window.canvas.overlay is not None


def test_a_calibrated_model_says_its_bars_are_not_its_own_softmax(dock):
    layers = [
        {"name": "image", "kind": "input", "tower": None, "output_shape": (28, 28, 1), "values": None, "note": ""},
        {"name": "out", "kind": "softmax", "tower": None, "output_shape": (10,), "values": None, "note": ""},
    ]
    dock._temperature = None
    assert dock._with_calibration_note(layers) == layers
    dock._temperature = 1.541
    noted = dock._with_calibration_note(layers)
    assert noted[:-1] == layers[:-1] and "calibrated (temperature 1.54)" in noted[-1]["note"]
    dock._temperature = None


def test_a_failing_inspection_is_told_in_one_line_and_drawing_goes_on(qtbot, window, dock):
    tools = window.models._worker._inspection

    def broken_tracer(slot, fold):
        raise RuntimeError("a layer the tracer cannot read")

    tools._tracer = broken_tracer
    try:
        result = inspected(qtbot, dock, lambda: draw(window, ONE), lambda r: r["error"] is not None)
    finally:
        del tools._tracer
    assert result["error"] == "Could not look inside the model: RuntimeError: a layer the tracer cannot read"
    assert dock.network.message.text() == result["error"] and "\n" not in result["error"]
    inspected(qtbot, dock, lambda: draw(window, SEVEN), lambda r: r["layers"])  # the next drawing works again
    assert dock.network.message.isHidden()


def test_a_drawing_the_model_could_not_score_says_so_not_that_no_digit_was_found(dock):
    reason = "the model's output is not a number (NaN or infinite) for this drawing"
    image = np.zeros((28, 28), np.float32)
    dock.show_prediction({"blank": False, "error": None, "image": image, "probabilities": None, "reason": reason})
    assert dock.network.message.text() == f"No prediction: {reason}."
    dock.show_prediction({"blank": True, "error": None, "image": None, "probabilities": None, "reason": "no ink"})
    assert dock.network.message.text() == "No digit found: nothing to look inside."


class SlowModels(QObject):
    """The model controller as the dock sees it, its model thread still reading the layers: nothing is answered
    until the test says so."""

    inspection_finished = Signal(dict)
    model_load_failed = Signal(dict)
    backend_failed = Signal(str)

    def __init__(self, model_ready: bool = True) -> None:
        super().__init__()
        self.is_model_ready = model_ready
        self.requests: list[dict] = []

    def request_inspection(self, image28, options: dict) -> int:
        self.requests.append(dict(options))
        return len(self.requests)

    def cancel_inspections(self) -> None:
        pass

    def answer_last(self) -> None:
        """The model thread has read the layers (and the filters): the newest request's result."""
        self.answer(len(self.requests))

    def answer(self, request_id: int, layers: list[dict] | None = None, layer_name: str = "conv", error=None) -> None:
        """Answer request ``request_id`` (a late one, say) with ``layers`` and a filter bank of ``layer_name``."""
        kernels = np.random.default_rng(0).normal(size=(8, 3, 3)).astype(np.float32)
        self.inspection_finished.emit(
            {
                "request_id": request_id,
                "layers": None if error else cnn_trace() if layers is None else layers,
                "evidence": None,
                "filters": None if error else [{"layer": layer_name, "tower": None, "kernels": kernels, "note": ""}],
                "error": error,
                "model_name": "bundled",
                "final": True,
            }
        )


DESCRIPTION = {"class_names": [str(digit) for digit in range(10)], "display_name": "bundled", "temperature": None}
SEVEN_SHOWN = {"blank": False, "error": None, "image": np.eye(28, dtype=np.float32), "stages": []}
SEVEN_SHOWN["probabilities"] = np.eye(10)[7]


@pytest.fixture
def slow_dock(qtbot):
    """A closed Look inside dock in a window of its own, over a model thread that answers only when told."""
    models = SlowModels()
    main = QMainWindow()
    qtbot.addWidget(main)
    main.resize(1200, 800)
    look_inside = LookInsideDock(models, main)  # type: ignore[arg-type]
    main.addDockWidget(dock_area(), look_inside)
    look_inside.hide()
    main.show()
    yield look_inside  # the window kept alive meanwhile
    main.close()


def says_nothing_false(dock: LookInsideDock) -> None:
    network, filters = dock.network.message, dock.filters.message
    assert network.text() == "Reading the model's layers…" and not network.isHidden()
    assert filters.text() == "Reading the model's filters…" and not filters.isHidden()
    assert dock.network.rows == [] and dock.filters.rows == []
    assert dock.network.summary.text() == ""  # not the previous model's "15 layers shown"


def test_opening_the_dock_over_a_drawing_says_the_layers_are_being_read_not_draw_a_digit(qtbot, slow_dock):
    dock = slow_dock
    dock.set_model(DESCRIPTION)  # a blank canvas when the model loaded
    assert dock.network.message.text() == "Draw a digit to see what every layer makes of it."
    dock.show_prediction(SEVEN_SHOWN)  # drawn while the dock was closed
    dock.open()
    qtbot.waitUntil(lambda: dock.on_screen)
    assert dock.models.requests and dock.models.requests[-1]["layers"]
    says_nothing_false(dock)
    dock.models.answer_last()
    assert len(dock.network.rows) == len(cnn_trace()) and dock.network.message.isHidden()
    assert len(dock.filters.rows) == 1 and dock.filters.message.isHidden()


def open_over_a_drawing(qtbot, dock) -> None:
    """The dock opened on screen with a model and a drawn 7 shown (its layers and filters asked for)."""
    dock.canvas_has_drawing = lambda: True
    dock.set_model(DESCRIPTION)
    dock.open()
    qtbot.waitUntil(lambda: dock.on_screen)
    dock.show_prediction(SEVEN_SHOWN)


def test_a_new_model_over_a_drawing_says_its_layers_are_being_read_until_they_come(qtbot, slow_dock):
    dock = slow_dock
    open_over_a_drawing(qtbot, dock)
    dock.models.answer_last()
    assert dock.network.rows and dock.filters.rows
    dock.set_model({**DESCRIPTION, "display_name": "trained"})  # the drawing stays; the window scores it again
    says_nothing_false(dock)
    asked = len(dock.models.requests)
    dock.show_prediction(SEVEN_SHOWN)  # the new model's answer, then its layers asked for
    says_nothing_false(dock)
    qtbot.waitUntil(lambda: len(dock.models.requests) > asked)  # at most ten requests a second
    dock.models.answer_last()
    assert dock.network.rows and dock.network.message.isHidden() and dock.filters.rows


def test_draw_a_digit_only_on_a_blank_canvas_and_no_model_only_without_one(qtbot, slow_dock):
    dock = slow_dock
    dock.models.is_model_ready = False
    dock.open()
    dock.show_prediction(SEVEN_SHOWN)  # answered before the model has loaded (the start-up fast path)
    assert dock.network.message.text() == "Loading the model…"
    assert dock.filters.message.text() == "Loading the model…"
    dock.models.model_load_failed.emit({"startup": True, "path": "bundled.keras", "message": "broken"})
    assert dock.network.message.text() == "No model yet." and dock.filters.message.text() == "No model yet."
    dock.models.is_model_ready = True
    dock.canvas_has_drawing = lambda: False
    dock.set_model(DESCRIPTION)
    assert dock.network.message.text() == "Draw a digit to see what every layer makes of it."
    dock.models.answer_last()  # the filters, asked for at once on a blank canvas
    assert dock.filters.rows and dock.filters.message.isHidden()
    dock.show_prediction(SEVEN_SHOWN)
    assert dock.network.message.text() == "Reading the model's layers…"
    dock.drawing_cleared()  # erased before the layers came
    assert dock.network.message.text() == "Draw a digit to see what every layer makes of it."


@pytest.mark.parametrize("late_error", [None, "Could not look inside the model: RuntimeError: gone"])
def test_a_late_answer_for_the_previous_model_is_ignored_and_the_new_models_is_shown(qtbot, slow_dock, late_error):
    """An answer asked for before the model changed, arriving after, showed the old model's layers and filters
    (captioned with the new model's name) in place of the new model's."""
    dock = slow_dock
    open_over_a_drawing(qtbot, dock)
    old_request = len(dock.models.requests)  # the old model's layers and filters, still being read
    assert dock.models.requests[-1]["layers"] and dock.models.requests[-1]["filters"]
    dock.set_model({**DESCRIPTION, "display_name": "trained"})  # its filters are asked for at once
    asked = len(dock.models.requests)
    dock.show_prediction(SEVEN_SHOWN)  # the window scored the drawing again: its layers are asked for
    qtbot.waitUntil(lambda: len(dock.models.requests) > asked)  # at most ten requests a second
    new_request = len(dock.models.requests)

    dock.models.answer(old_request, mlp_trace(), layer_name="old_conv", error=late_error)  # late: the old model's
    assert [row.layer["name"] for row in dock.network.rows] == [], "the previous model's layers are shown"
    assert [row.key[0] for row in dock.filters.rows] == [], "the previous model's filters are shown"
    says_nothing_false(dock)
    assert dock.network.message.text() != late_error

    dock.models.answer(new_request, cnn_trace(seed=1))
    assert [row.layer["name"] for row in dock.network.rows] == [layer["name"] for layer in cnn_trace()]
    assert [row.key[0] for row in dock.filters.rows] == ["conv"]
    assert dock.filters.caption.text().startswith("trained")


NO_CONV = "Grad-CAM needs a conv layer; this model has none. Try Integrated Gradients."  # ml.inspect.evidence's
ONE_CELL = "Grad-CAM reads the last conv layer's map, which is 1x1 in this model (…). Try Guided Grad-CAM or …"


def answer_evidence(dock: LookInsideDock, message: str | None = None, error: str | None = None, empty=False) -> None:
    """Answer the newest request: evidence by the method it asked for (``message``: the method does not apply;
    ``empty``: maps of zeros)."""
    request_id = len(dock.models.requests)
    method = dock.models.requests[-1]["method"]
    evidence_map = None if message else np.zeros((28, 28), np.float32) if empty else np.eye(28, dtype=np.float32)
    explained = dock.models.requests[-1]["class_index"]
    evidence = {"method": method, "class_index": 7 if explained is None else explained}
    evidence.update(positive=evidence_map, negative=evidence_map)
    unsupported = {NO_CONV: "no-conv-layer", ONE_CELL: "one-cell-map"}.get(message)  # the model's, not the drawing's
    dock.models.inspection_finished.emit(
        {
            "request_id": request_id,
            "layers": None if error else cnn_trace(),
            "evidence": None if error else {**evidence, "message": message, "towers": (), "unsupported": unsupported},
            "filters": None,
            "error": error,
            "model_name": "bundled",
            "final": True,
        }
    )


def asked_again(qtbot, dock: LookInsideDock, action) -> dict:
    """Run ``action`` and wait for the dock's next request (at most ten a second); its options."""
    asked = len(dock.models.requests)
    action()
    qtbot.waitUntil(lambda: len(dock.models.requests) > asked)
    return dock.models.requests[-1]


def test_a_method_that_does_not_apply_gives_way_to_integrated_gradients_unless_picked_for_this_model(qtbot, slow_dock):
    """On an MLP (or a model whose last conv map is one cell) Grad-CAM only said it needs a conv layer, for good."""
    dock = slow_dock
    bar = dock.evidence_bar
    open_over_a_drawing(qtbot, dock)
    assert dock.models.requests[-1]["method"] == "gradcam"  # the default, not picked by the user
    answer_evidence(dock, NO_CONV)
    assert bar.method == "integrated-gradients", "Grad-CAM stayed on a model without a conv layer"
    assert asked_again(qtbot, dock, lambda: None)["method"] == "integrated-gradients"
    assert (
        bar.message.text()
        == "Grad-CAM needs a conv layer and this model has none: showing Integrated Gradients instead."
    )
    answer_evidence(dock)
    assert dock.evidence_maps is not None and not bar.message.isHidden()  # the note stays beside the evidence shown

    options = asked_again(qtbot, dock, lambda: bar.set_method("gradcam"))  # the user's own pick: kept and explained
    assert options["method"] == "gradcam" and bar.message.isHidden()
    answer_evidence(dock, NO_CONV)
    assert bar.method == "gradcam" and bar.message.text() == NO_CONV and dock.evidence_maps is None

    dock.set_model({**DESCRIPTION, "display_name": "one cell"})  # a new model: not picked for it, so it may fall back
    asked_again(qtbot, dock, lambda: dock.show_prediction(SEVEN_SHOWN))
    asked_again(qtbot, dock, lambda: answer_evidence(dock, ONE_CELL))
    assert bar.method == "integrated-gradients"
    assert bar.message.text() == (
        "Grad-CAM cannot tell where in this model (its last conv map is 1x1): showing Integrated Gradients instead."
    )
    dock.set_model({**DESCRIPTION, "display_name": "cnn"})  # the fallback was for that model only
    assert bar.method == "gradcam" and bar.message.isHidden()
    bar.set_method("guided-gradcam")
    dock.set_model({**DESCRIPTION, "display_name": "another"})  # the user's last pick stays
    assert bar.method == "guided-gradcam"


def test_after_a_model_change_or_a_failure_nothing_of_the_previous_model_or_drawing_stays(qtbot, slow_dock):
    """A failed inspection left the previous model's "this model has none" (and the last overlay) on screen."""
    dock = slow_dock
    bar = dock.evidence_bar
    open_over_a_drawing(qtbot, dock)
    bar.method_picker.activated.emit(bar.method_picker.currentIndex())  # Grad-CAM picked: its message stays
    asked_again(qtbot, dock, lambda: dock.show_prediction(SEVEN_SHOWN))
    answer_evidence(dock, NO_CONV)
    assert bar.message.text() == NO_CONV and not bar.message.isHidden()
    dock.set_model({**DESCRIPTION, "display_name": "cnn"})
    assert bar.message.isHidden(), f"the previous model's {bar.message.text()!r} stays"
    assert "Explaining" not in bar.class_label.text()
    asked_again(qtbot, dock, lambda: dock.show_prediction(SEVEN_SHOWN))
    error = "Could not look inside the model: RuntimeError: gone"
    answer_evidence(dock, error=error)
    assert bar.message.isHidden() and dock.network.message.text() == error  # said once, where it is seen

    asked_again(qtbot, dock, lambda: dock.show_prediction(SEVEN_SHOWN))
    answer_evidence(dock)
    assert dock.evidence_maps is not None
    dock.tabs.setCurrentWidget(dock.filters)  # the network's message hidden: the evidence line tells the failure
    asked_again(qtbot, dock, lambda: dock.show_prediction(SEVEN_SHOWN))
    answer_evidence(dock, error=error)
    assert dock.evidence_maps is None and bar.message.text() == error and not bar.message.isHidden()


def test_evidence_of_zeros_says_so_in_words_rather_than_showing_a_blank(qtbot, slow_dock):
    """Guided Grad-CAM keeps only the regions Grad-CAM finds for the class: for a class it finds none for (any class
    of a model whose last conv map is 1x1 and whose score falls there) every pixel was 0, an empty overlay, no word."""
    dock = slow_dock
    bar = dock.evidence_bar
    open_over_a_drawing(qtbot, dock)
    asked_again(qtbot, dock, lambda: bar.set_method("guided-gradcam"))
    answer_evidence(dock)
    assert dock.evidence_maps is not None and bar.message.isHidden()
    asked_again(qtbot, dock, lambda: dock.explain_class(4))  # a class the drawing has nothing of
    answer_evidence(dock, empty=True)
    assert not bar.message.isHidden(), "an empty overlay and not a word"
    assert bar.message.text() == (
        "Guided Grad-CAM finds no evidence for or against 4 in this drawing. Try Integrated Gradients."
    )
    assert dock.evidence_maps is None and bar.method == "guided-gradcam"  # about this class, not the model: no switch
    asked_again(qtbot, dock, lambda: dock.explain_class(None))
    answer_evidence(dock)
    assert dock.evidence_maps is not None and bar.message.isHidden()
