"""Look inside's wiring for numbers: the digit chosen on the (wide) canvas is the one looked inside."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, Qt

from app.draw.number_boxes import tab_rect
from app.inspect.evidence_geometry import map_to_picture
from app.look_inside import number_digit_prediction
from ml.assets import bundled_model_path
from tests.app.canvas_drawing import canvas_point, draw_stroke, wait_for_final_prediction

INSPECTION_TIMEOUT_MS = 60_000


def test_a_number_digit_is_inspected_as_its_own_prediction_and_its_evidence_lands_on_its_box():
    image = np.zeros((28, 28), dtype=np.float32)
    image[4:24, 12:16] = 1.0  # a "1" in the model's input
    digit = {"box": (500, 60, 30, 150), "image": image, "stages": [("cropped", np.ones((150, 30)))]}
    digit["probabilities"] = np.eye(10)[1]
    prediction = number_digit_prediction(digit, (280, 840))
    assert prediction["image"] is image and prediction["stages"][1][0] == "cropped"
    evidence = np.zeros((28, 28), dtype=np.float32)
    evidence[4:24, 12:16] = 1.0  # evidence on the digit's own ink
    placed = map_to_picture(evidence, prediction["image"], prediction["stages"])
    step = 840 / placed.shape[1]
    columns = np.flatnonzero(placed.max(axis=0) > 0.5) * step
    rows = np.flatnonzero(placed.max(axis=1) > 0.5) * step
    assert 490 <= columns.min() and columns.max() <= 535  # over the digit's box on the wide canvas, nowhere else
    assert 50 <= rows.min() and rows.max() <= 215


@pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")
def test_drawing_12_on_the_wide_canvas_boxes_two_digits_and_a_click_looks_inside_the_one_clicked(qtbot, started_window):
    window = started_window
    canvas = window.canvas
    window.wide_canvas.action.setChecked(True)
    window.look_inside.open()
    QCoreApplication.processEvents()

    def point(x: float, y: float):
        return canvas_point(canvas, x, y)

    def draw(points: list[tuple[float, float]]) -> None:
        draw_stroke(qtbot, canvas, points)

    def final_shown(action) -> None:
        wait_for_final_prediction(qtbot, window, action)

    canvas.set_brush_size(16)
    final_shown(lambda: draw([(300 + i, 90 - i) for i in range(0, 26, 5)] + [(325, 90 + 10 * i) for i in range(12)]))
    assert canvas.number_boxes == []  # one digit on the wide canvas: as today
    assert window.prediction.predicted_class.text() == "1"
    two = [(480, 110), (490, 85), (515, 72), (540, 80), (550, 105), (540, 130), (510, 160), (475, 200)]
    final_shown(lambda: draw([*two, (510, 200), (540, 200), (565, 200)]))
    assert len(canvas.number_boxes) == 2
    assert window.prediction.predicted_class.text() == "12"
    digits = window.numbers.number["digits"]
    assert [digit["label"] for digit in digits] == ["1", "2"]

    tab = tab_rect(canvas.number_boxes[1], canvas.font(), canvas.document_rect().height() / 280)
    with qtbot.waitSignal(
        window.look_inside.inspected,
        timeout=INSPECTION_TIMEOUT_MS,
        check_params_cb=lambda result: result.get("layers") is not None,
    ):
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=point(tab.center().x(), tab.center().y()))
    assert window.numbers.chosen == 1
    assert window.prediction.confidence.text().startswith("digit 2 of 2: 2")
    assert np.array_equal(window.prediction.model_input.pixels, digits[1]["image"])
    assert np.allclose(window.prediction.bars.probabilities, digits[1]["probabilities"])
    first_layer = window.look_inside.network  # the network view shows the clicked digit's layers
    assert first_layer.isVisible()
    assert np.array_equal(window.look_inside._latest["image"], digits[1]["image"])
