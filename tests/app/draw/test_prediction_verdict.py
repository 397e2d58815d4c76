"""The prediction panel says "Not a digit" (top guess greyed out) and "4 or 9" when unsure; in the window, a drawn
letter is refused."""

from __future__ import annotations

import numpy as np
import pytest

from app.draw.prediction_view import PredictionPanel
from ml.assets import bundled_model_path
from tests.app.test_main_window import final_prediction


def result_with(verdict: dict | None, probabilities: np.ndarray) -> dict:
    return {
        "request_id": 1,
        "final": True,
        "blank": False,
        "reason": None,
        "image": np.zeros((28, 28), np.float32),
        "stages": [],
        "model_view": None,
        "probabilities": probabilities,
        "error": None,
        "number": None,
        "verdict": verdict,
    }


def verdict(status: str, prediction: int, runner_up=None, reason=None) -> dict:
    return {
        "status": status,
        "prediction": prediction,
        "runner_up": runner_up,
        "confidence": 0.9,
        "score": 0.99,
        "threshold": 0.95,
        "reason": reason,
        "calibrated": True,
    }


@pytest.fixture
def panel(qtbot):
    view = PredictionPanel()
    qtbot.addWidget(view)
    view.show()
    return view


def test_not_a_digit_greys_the_top_guess_and_says_why(panel):
    probabilities = np.eye(10)[4] * 0.97 + 0.003
    shown = panel.show_result(result_with(verdict("not_a_digit", 4, reason="looks like a letter"), probabilities))
    assert shown["verdict"] == "not_a_digit" and shown["predicted_index"] == 4
    assert panel.predicted_class.text() == "4" and not panel.predicted_class.isEnabled()
    assert panel.confidence.text() == "Not a digit"
    assert panel.message.isVisibleTo(panel) and panel.message.text().startswith("Looks like a letter.")
    assert "Top guess 4" in panel.message.text() and "not fitted" not in panel.message.text()
    uncalibrated = dict(verdict("not_a_digit", 4, reason="noise"), calibrated=False)
    panel.show_result(result_with(uncalibrated, probabilities))
    assert panel.message.text().endswith("(Default check: not fitted for this model.)")


def test_unsure_names_both_close_classes(panel):
    probabilities = np.full(10, 0.05 / 8)
    probabilities[4], probabilities[9] = 0.55, 0.40
    panel.show_result(result_with(verdict("unsure", 4, runner_up=9, reason="4 and 9 are close"), probabilities))
    assert panel.predicted_class.text() == "4 or 9" and panel.predicted_class.isEnabled()
    assert panel.confidence.text() == "Unsure: 4 or 9"


def test_a_digit_and_a_result_without_a_verdict_look_as_before(panel):
    probabilities = np.eye(10)[7] * 0.99 + 0.001
    panel.show_result(result_with(verdict("not_a_digit", 7, reason="noise"), probabilities))
    for plain in (verdict("digit", 7), None):
        shown = panel.show_result(result_with(plain, probabilities))
        assert panel.predicted_class.text() == "7" and panel.predicted_class.isEnabled()
        assert panel.confidence.text().endswith("confident") and not panel.message.isVisibleTo(panel)
        assert shown["verdict"] == (None if plain is None else "digit")


@pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")
def test_a_letter_drawn_in_the_window_is_not_a_digit(qtbot, started_window):
    canvas = started_window.canvas  # an "A" in two strokes
    final_prediction(qtbot, started_window, lambda: canvas.draw_stroke([(60, 240), (140, 40), (220, 240)]))
    shown = final_prediction(qtbot, started_window, lambda: canvas.draw_stroke([(95, 160), (185, 160)]))
    assert shown["verdict"] == "not_a_digit"
    panel = started_window.prediction
    assert panel.confidence.text() == "Not a digit" and not panel.predicted_class.isEnabled()
    assert "Top guess" in panel.message.text()
    canvas.clear()
    shown = final_prediction(qtbot, started_window, lambda: canvas.draw_stroke([(140, 40), (140, 240)]))
    assert shown["verdict"] in ("digit", "unsure") and panel.predicted_class.isEnabled()


@pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")
@pytest.mark.parametrize("pen", [20.0, 8.0])  # the thin pen's tap was dropped as a speck: a sure "1"
def test_an_exclamation_mark_drawn_in_the_window_is_not_a_one_and_the_panel_names_the_dot(qtbot, started_window, pen):
    canvas = started_window.canvas
    canvas.set_brush_size(pen)
    shown = final_prediction(qtbot, started_window, lambda: canvas.draw_stroke([(140, 40), (140, 190)]))
    assert shown["verdict"] in ("digit", "unsure") and shown["predicted_index"] == 1  # the stem alone is a "1"
    shown = final_prediction(qtbot, started_window, lambda: canvas.draw_stroke([(140, 235), (141, 236)]))  # a tap
    assert shown["verdict"] == "not_a_digit"
    message = started_window.prediction.message.text()
    assert message.startswith("A separate dot above or below the stroke") and "Top guess 1" in message
