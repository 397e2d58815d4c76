"""Reading a whole number in the window: boxes on the canvas, the number large, one digit in detail."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEventLoop, QPointF, Qt, QTimer
from PySide6.QtTest import QSignalSpy

from app.draw.canvas import DrawingCanvas
from app.draw.number_view import NumberView
from app.draw.prediction_view import PredictionPanel
from ml.assets import bundled_model_path
from ml.doubt.drawing import smooth_stroke
from ml.doubt.templates import LETTERS
from tests.app.canvas_drawing import draw_stroke, wait_for_final_prediction

LOAD_TIMEOUT_MS = 120_000


def digit_entry(label: str, box: tuple[int, int, int, int], confidence: float, status: str = "digit") -> dict:
    probabilities = np.full(10, (1.0 - confidence) / 9)
    probabilities[int(label)] = confidence
    image = np.zeros((28, 28), dtype=np.float32)
    image[4:24, 10 + int(label) % 5 : 14 + int(label) % 5] = 1.0
    return {
        "box": box,
        "image": image,
        "stages": [("cropped", image[4:24, 8:20]), ("centred 28x28", image)],
        "probabilities": probabilities,
        "prediction": int(label),
        "label": label,
        "confidence": confidence,
        "verdict": {"status": status, "reason": "looks like a shape, not a digit" if status != "digit" else None},
    }


def result_with(number: dict | None) -> dict:
    return {"request_id": 1, "final": True, "error": None, "number": number}


@pytest.fixture
def view(qtbot):
    canvas, panel = DrawingCanvas(), PredictionPanel()
    for widget in (canvas, panel):
        qtbot.addWidget(widget)
    canvas.resize(420, 420)
    canvas.show()
    canvas.draw_stroke([(70, 80), (70, 200)], 16)
    canvas.draw_stroke([(140, 90), (220, 90), (140, 200), (220, 200)], 16)
    return NumberView(canvas, panel), canvas, panel


def twelve() -> dict:
    digits = [digit_entry("1", (60, 70, 20, 140), 0.97), digit_entry("2", (130, 80, 100, 130), 0.999)]
    return {"number": "12", "reason": None, "split": False, "digits": digits}


def tab_point(canvas: DrawingCanvas, index: int):
    """Widget coordinates of the middle of a box's caption tab."""
    from app.draw.number_boxes import tab_rect

    rect = canvas.document_rect()
    scale = rect.width() / 280
    tab = tab_rect(canvas.number_boxes[index], canvas.font(), scale)
    return QPointF(rect.x() + tab.center().x() * scale, rect.y() + tab.center().y() * scale).toPoint()


def test_a_number_boxes_each_digit_and_shows_the_number_and_the_first_digit(view):
    numbers, canvas, panel = view
    numbers.show_result(result_with(twelve()))
    assert len(canvas.number_boxes) == 2
    assert [box.caption for box in canvas.number_boxes] == ["1 97%", "2 >99%"]
    first = canvas.number_boxes[0].rect
    assert first.left() < 60 and first.right() > 80 and first.top() < 70 and first.bottom() > 210
    assert panel.predicted_class.text() == "12" and panel.predicted_class.isEnabled()
    assert panel.confidence.text() == "digit 1 of 2: 1 · 97.0 %"
    assert np.array_equal(panel.model_input.pixels, twelve()["digits"][0]["image"])
    assert np.allclose(panel.bars.probabilities, twelve()["digits"][0]["probabilities"])


def test_clicking_a_box_tab_shows_that_digit_and_draws_nothing(qtbot, view):
    numbers, canvas, panel = view
    numbers.show_result(result_with(twelve()))
    strokes_before = len(canvas.drawing.strokes)
    changed = QSignalSpy(canvas.changed)
    with qtbot.waitSignal(numbers.digit_chosen) as chosen:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=tab_point(canvas, 1))
    assert chosen.args == [1] and numbers.chosen == 1
    assert panel.confidence.text() == "digit 2 of 2: 2 · 99.9 %"
    assert np.allclose(panel.bars.probabilities, twelve()["digits"][1]["probabilities"])
    assert len(canvas.drawing.strokes) == strokes_before and changed.count() == 0


def test_another_image_opened_shows_its_first_digit_not_the_last_numbers_choice(view):
    numbers, canvas, panel = view
    numbers.show_result(result_with(twelve()))
    numbers.choose(1)
    opened = np.full((60, 120), 255, dtype=np.uint8)
    opened[10:50, 20:26] = opened[10:50, 70:76] = 0  # a number's ink: the boxes stay until its reading comes
    canvas.set_image(opened)
    numbers.show_result(result_with(twelve()))  # the new image's number: as many digits, an unrelated number
    assert numbers.chosen == 0 and panel.confidence.text() == "digit 1 of 2: 1 · 97.0 %"
    canvas.draw_stroke([(20, 20), (40, 40)], 8)  # drawing over it keeps the reader's choice
    numbers.choose(1)
    numbers.show_result(result_with(twelve()))
    assert numbers.chosen == 1


def test_a_part_that_is_not_a_digit_greys_the_number_and_says_which(view):
    numbers, canvas, panel = view
    number = twelve()
    number["digits"][1] = digit_entry("2", (130, 80, 100, 130), 0.9, status="not_a_digit")
    number.update(number=None, reason="part 2 of 2 is not a digit (looks like a shape, not a digit)")
    numbers.show_result(result_with(number))
    assert panel.predicted_class.text() == "1?" and not panel.predicted_class.isEnabled()
    assert panel.message.text() == "Part 2 of 2 is not a digit (looks like a shape, not a digit)."
    assert [box.refused for box in canvas.number_boxes] == [False, True]


def test_a_refused_part_chosen_is_named_a_part_not_a_digit(view):
    numbers, canvas, panel = view
    number = twelve()
    number["digits"][1] = digit_entry("2", (130, 80, 100, 130), 0.9, status="not_a_digit")
    number.update(number=None, reason="part 2 of 2 is not a digit (looks like a shape, not a digit)")
    numbers.show_result(result_with(number))
    numbers.choose(1)
    assert panel.confidence.text() == "part 2 of 2: not a digit"  # as the reason below names it, never "digit 2"
    assert np.array_equal(panel.model_input.pixels, number["digits"][1]["image"])


def test_an_unsure_digit_says_which_two_it_may_be(view):
    numbers, _, panel = view
    number = twelve()
    number["digits"][0]["verdict"] = {"status": "unsure", "runner_up": 7, "reason": None}
    numbers.show_result(result_with(number))
    assert panel.confidence.text() == "digit 1 of 2: unsure, 1 or 7"
    assert panel.predicted_class.text() == "12"


def test_a_number_with_an_unsure_digit_says_so_whichever_digit_is_shown(view):
    numbers, _, panel = view
    number = twelve()
    number["digits"][1]["verdict"] = {"status": "unsure", "runner_up": 7, "reason": None}
    numbers.show_result(result_with(number))
    assert panel.confidence.text() == "digit 1 of 2: 1 · 97.0 %"  # the sure digit in detail
    assert panel.message.isVisibleTo(panel)
    assert panel.message.text() == "Unsure: digit 2 (2 or 7). Click a digit's tab on the canvas to see it here."
    numbers.show_result(result_with(twelve()))  # every digit sure: no doubt named
    assert panel.message.text() == "Click a digit's tab on the canvas to see it here."


def test_one_digit_or_a_cleared_canvas_takes_the_boxes_away(view):
    numbers, canvas, panel = view
    numbers.show_result(result_with(twelve()))
    numbers.show_result(result_with(None))  # a single digit: the panel shows it as always
    assert canvas.number_boxes == [] and numbers.number is None
    numbers.show_result(result_with(twelve()))
    canvas.clear()
    assert canvas.number_boxes == [] and numbers.number is None


def test_an_error_keeps_what_is_shown(view):
    numbers, canvas, _ = view
    numbers.show_result(result_with(twelve()))
    numbers.show_result({**result_with(None), "error": "Prediction failed"})
    assert len(canvas.number_boxes) == 2


# ------------------------------------------------------------------ the window with the bundled model


@pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")
def test_drawing_12_in_the_window_shows_two_boxes_and_the_number_12(qtbot, settings):
    from app.main_window import MainWindow

    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    try:
        loop = QEventLoop()
        window.models.model_loaded.connect(loop.quit)
        QTimer.singleShot(LOAD_TIMEOUT_MS, loop.quit)
        window.start()
        loop.exec()  # lets the model thread run Python meanwhile
        assert window.model_description is not None, "the model did not load"
        canvas = window.canvas

        def draw(points: list[tuple[float, float]]) -> None:
            draw_stroke(qtbot, canvas, points)

        def final_shown(action) -> None:
            wait_for_final_prediction(qtbot, window, action)

        canvas.set_brush_size(16)
        final_shown(lambda: draw([(60 + i, 90 - i) for i in range(0, 26, 5)] + [(85, 90 + 10 * i) for i in range(12)]))
        assert canvas.number_boxes == []  # one digit: as today
        assert window.prediction.predicted_class.text() == "1"
        two = [(140, 110), (150, 85), (175, 72), (200, 80), (210, 105), (200, 130), (170, 160), (135, 200)]
        final_shown(lambda: draw([*two, (170, 200), (200, 200), (225, 200)]))
        assert len(canvas.number_boxes) == 2
        assert window.prediction.predicted_class.text() == "12"
        digits = window.numbers.number["digits"]
        assert [digit["label"] for digit in digits] == ["1", "2"]
        held = window.training_panel.run.latest_drawing  # what a training run re-scores: the digit in detail
        assert np.array_equal(held.get(), digits[0]["image"])
        window.numbers.choose(1)
        assert np.array_equal(held.get(), digits[1]["image"])
        canvas.clear()
        letter = [(20 + 240 * u, 40 + 200 * v) for u, v in smooth_stroke(LETTERS["M"][0])]  # "14" before the check
        final_shown(lambda: draw(letter))
        assert canvas.number_boxes == [] and window.numbers.number is None  # its parts are not whole digits
        assert window.prediction.confidence.text() == "Not a digit"
    finally:
        window.shutdown()
        window.close()
        deadline = time.monotonic() + 5
        while window.models.thread.isRunning() and time.monotonic() < deadline:
            QCoreApplication.processEvents()
    assert Path(bundled_model_path()).is_file()


def test_a_point_between_the_digits_shows_in_the_number(view):
    numbers, canvas, panel = view
    number = twelve()
    number.update(number="1.2", separators=[{"mark": ".", "after": 1}])
    numbers.show_result(result_with(number))
    assert panel.predicted_class.text() == "1.2" and len(canvas.number_boxes) == 2
    assert panel.confidence.text() == "digit 1 of 2: 1 · 97.0 %"  # the digits are counted without the point
