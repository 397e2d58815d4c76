"""PredictionPanel, ProbabilityBars, PixelImageView and StageStrip."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.draw.prediction_view import (
    PixelImageView,
    PredictionPanel,
    ProbabilityBars,
    format_percent,
    format_probability,
)
from app.draw.probability_bars import OTHER_COLOR, WINNER_COLOR

DIGITS = [str(digit) for digit in range(10)]


@pytest.fixture
def panel(qtbot) -> PredictionPanel:
    widget = PredictionPanel()
    qtbot.addWidget(widget)
    widget.set_class_names(DIGITS)
    widget.resize(900, 420)
    widget.show()
    return widget


def shown_percent_labels(bars) -> list[str]:
    """The tick labels the bars' percent axis draws (pyqtgraph hides those that would not fit)."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = bars.getPlotItem().getAxis("bottom").generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _, _, text in texts]


def probabilities_with_winner(winner: int, count: int = 10) -> np.ndarray:
    values = np.full(count, 0.02)
    values[winner] = 1.0 - 0.02 * (count - 1)
    return values


def test_bars_are_created_once_and_updated_in_place(qtbot):
    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    bars.set_class_names(DIGITS)
    item = bars._bars
    for winner in (3, 7):
        bars.set_probabilities(probabilities_with_winner(winner))
        assert bars._bars is item
        assert np.allclose(item.opts["width"], probabilities_with_winner(winner))
        colors = [brush.color().name() for brush in item.opts["brushes"]]
        assert colors[winner] == WINNER_COLOR.name()
        assert colors.count(OTHER_COLOR.name()) == 9
    assert bars.getPlotItem().listDataItems().count(item) <= 1
    assert [item for item in bars.getPlotItem().items if item is bars._bars] == [item]


def test_bars_are_labelled_with_the_models_class_names(qtbot):
    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    names = ["T-shirt", "Trouser", "Pullover"]
    bars.set_class_names(names)
    ticks = bars.getPlotItem().getAxis("left")._tickLevels
    assert [label for _, label in ticks[0]] == names
    bars.set_probabilities([0.1, 0.7, 0.2])
    assert [label.textItem.toPlainText() for label in bars._labels] == ["10.0 %", "70.0 %", "20.0 %"]
    with pytest.raises(ValueError):
        bars.set_probabilities([0.5, 0.5])


def test_panel_shows_the_winner_large_with_its_confidence(panel):
    image = np.zeros((28, 28), dtype=np.float32)
    image[8:20, 12:16] = 1.0
    panel.show_prediction(image, probabilities_with_winner(4), [("input", image), ("centred", image)])
    assert panel.predicted_class.text() == "4"
    assert panel.confidence.text() == "82.0 % confident"
    assert not panel.message.isVisibleTo(panel)
    assert np.array_equal(panel.model_input.pixels, image)
    assert panel.stages.stage_names == ["input", "centred"]


def test_blank_shows_no_prediction(panel):
    panel.show_prediction(np.zeros((28, 28)), probabilities_with_winner(1), [])
    panel.show_message("Draw a digit")
    assert panel.predicted_class.text() == ""
    assert panel.message.text() == "Draw a digit" and panel.message.isVisibleTo(panel)
    assert panel.confidence.text() == ""
    assert panel.model_input.pixels is None
    assert not panel.bars.probabilities.any()


def test_model_input_is_magnified_by_a_whole_number_with_crisp_pixels(qtbot):
    view = PixelImageView(side=200, grid=True)
    qtbot.addWidget(view)
    view.resize(200, 200)
    image = np.zeros((28, 28), dtype=np.float32)
    image[::2, ::2] = 1.0  # a checkerboard would blur to grey with smoothing
    view.set_image(image)
    rect = view.image_rect()
    assert rect.width() == 28 * 7
    grabbed = view.grab().toImage()
    origin_x, origin_y = int(rect.x()), int(rect.y())
    assert grabbed.pixelColor(origin_x + 3, origin_y + 3).value() == 255  # inside pixel (0, 0): white
    assert grabbed.pixelColor(origin_x + 7 + 3, origin_y + 3).value() == 0  # inside pixel (0, 1): black


def test_the_pixel_grid_lies_on_the_cell_borders_and_is_drawn_once_per_size(qtbot):
    view = PixelImageView(side=200, grid=True)
    qtbot.addWidget(view)
    view.resize(200, 200)
    view.set_image(np.zeros((28, 28), dtype=np.float32))
    rect = view.image_rect()
    grabbed = view.grab().toImage()
    left, top = round(rect.x()), round(rect.y())
    assert grabbed.pixelColor(left + 7, top + 10).value() > 0  # the border between columns 0 and 1: a faint line
    assert grabbed.pixelColor(left + 10, top + 10).value() == 0  # inside a cell: the black image
    grid = view._grid_lines
    view.set_image(np.ones((28, 28), dtype=np.float32))  # a new drawing: the same grid, not drawn again
    view.grab()
    assert view._grid_lines is grid
    view.resize(150, 150)
    view.grab()
    assert view._grid_lines is not grid and view._grid_lines.width() <= 150


def test_format_percent():
    assert format_percent(0.9731) == "97.3 %"
    assert format_percent(0.00001) == "<0.1 %"
    assert format_percent(0.0) == "0.0 %"
    assert format_percent(0.99996) == ">99.9 %" and format_percent(1.0) == "100.0 %"  # a test accuracy can be exact


def test_a_probability_rounded_to_one_never_reads_100_percent():
    assert format_probability(1.0) == ">99.9 %" == format_probability(np.float32(0.99999994))
    assert format_probability(0.9731) == "97.3 %" and format_probability(0.00001) == "<0.1 %"


def test_a_long_class_name_is_shown_smaller_than_a_digit(qtbot):
    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.set_class_names(["Sneaker", "7"])
    panel.show_prediction(np.zeros((28, 28)), np.array([0.9, 0.1]), [])
    word_size = panel.predicted_class.font().pointSizeF()
    panel.show_prediction(np.zeros((28, 28)), np.array([0.1, 0.9]), [])
    assert panel.predicted_class.text() == "7"
    assert word_size < panel.predicted_class.font().pointSizeF()


def test_percent_ticks_never_run_together_on_a_narrow_panel(qtbot):
    from PySide6.QtGui import QFontMetrics

    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    bars.set_class_names(DIGITS)
    bars.show()
    for width, expected in ((200, (0.5, 1.0)), (600, (0.25, 0.5, 0.75, 1.0))):
        bars.resize(width, 300)
        qtbot.waitUntil(lambda width=width: bars.width() == width)
        assert bars.percent_ticks == expected
        axis = bars.getPlotItem().getAxis("bottom")
        label_width = QFontMetrics(axis.style["tickFont"]).horizontalAdvance("100%")
        gap = axis.width() * (bars.percent_ticks[1] - bars.percent_ticks[0]) / 1.08
        assert gap >= label_width + 12  # each label keeps a clear gap before the next one


def test_what_the_model_sees_is_its_own_input_when_it_has_one(panel):
    image28 = np.zeros((28, 28), dtype=np.float32)
    seen = np.eye(8, dtype=np.float32)
    result = {
        "request_id": 1,
        "final": True,
        "blank": False,
        "error": None,
        "image": image28,
        "model_view": seen,
        "stages": [("resized to 8x8", seen)],
        "probabilities": probabilities_with_winner(3),
    }
    panel.show_result(result)
    assert panel.model_input.pixels.shape == (8, 8)
    panel.show_result({**result, "model_view": None})
    assert panel.model_input.pixels.shape == (28, 28)


def test_the_panel_keeps_its_layout_between_blank_predicted_and_message_states(panel, qtbot):
    def layout() -> tuple:
        qtbot.wait(20)
        parts = (panel.model_input, panel.stages_section, panel.predicted_class, panel.confidence, panel.message)
        return tuple(part.geometry().getRect() for part in parts)

    panel.show_message("Draw a digit")
    blank = layout()
    panel.show_prediction(np.zeros((28, 28), dtype=np.float32), probabilities_with_winner(7), [])
    assert layout() == blank
    panel.show_message("No digit found: only specks or shading, no ink, in a message long enough to wrap twice")
    assert layout() == blank
    panel.set_class_names(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                           "Bag", "Ankle boot"])  # fmt: skip
    panel.show_prediction(np.zeros((28, 28), dtype=np.float32), probabilities_with_winner(9), [])
    assert layout() == blank


def test_new_verdicts_and_stages_while_drawing_never_resize_the_bars_or_the_model_input(panel, qtbot):
    """Each relayout resized the bars' plot (20-40 ms of the window's thread): results differing in their stages and
    verdict texts, as strokes grow into a digit, keep every part where it was."""
    image = np.zeros((28, 28), dtype=np.float32)

    def stages(count: int) -> list:
        return [(f"stage {index}", np.zeros((28, 28), np.float32)) for index in range(count)]

    panel.show_prediction(image, probabilities_with_winner(7), stages(6))
    qtbot.wait(20)
    shown = (panel.bars.geometry().getRect(), panel.model_input.geometry().getRect())
    for count, verdict in [(5, {"status": "not_a_digit", "reason": "noise or scattered specks, a long reason"}),
                           (6, {"status": "unsure", "runner_up": 1}), (4, None), (0, None), (6, None)]:  # fmt: skip
        panel.show_prediction(image, probabilities_with_winner(7), stages(count), verdict)
        qtbot.wait(20)
        assert (panel.bars.geometry().getRect(), panel.model_input.geometry().getRect()) == shown, (count, verdict)


def test_clicking_a_probability_bar_asks_to_explain_that_class(qtbot, panel):
    panel.show_prediction(np.zeros((28, 28), np.float32), probabilities_with_winner(7), [])
    bars = panel.bars
    view_box = bars.getPlotItem().getViewBox()
    for index in (3, 7):
        scene_point = view_box.mapViewToScene(QPointF(0.3, index))
        widget_point = bars.mapFromScene(scene_point)
        with qtbot.waitSignal(panel.class_clicked) as clicked:
            qtbot.mouseClick(bars.viewport(), Qt.MouseButton.LeftButton, pos=widget_point)
        assert clicked.args == [index]
    assert bars.class_at(view_box.mapViewToScene(QPointF(0.3, 12))) is None


def test_the_28x28_carries_an_evidence_overlay_until_the_drawing_is_blank(panel):
    panel.show_prediction(np.zeros((28, 28), np.float32), probabilities_with_winner(1), [])
    panel.set_overlay(np.ones((28, 28), np.float32), None, 0.5)
    assert panel.model_input.overlay is not None and panel.model_input.overlay.width() == 28
    panel.show_message("Draw a digit")
    assert panel.model_input.overlay is None


def test_a_saturated_softmax_reads_above_99_9_percent_in_the_panel_and_its_bar(panel):
    image = np.zeros((28, 28), dtype=np.float32)
    image[8:20, 12:16] = 1.0
    probabilities = np.zeros(10, dtype=np.float32)
    probabilities[7] = 1.0  # what a float32 softmax gives for a clear 7
    panel.show_prediction(image, probabilities, [("input", image)])
    assert panel.confidence.text() == ">99.9 % confident"
    assert ">99.9 %" in [label.textItem.toPlainText() for label in panel.bars._labels]


def test_a_rehearsed_answer_leaves_the_blank_state_with_its_stage_columns_built(qtbot):
    """Start-up shows the warm-up answer on the hidden panel: afterwards it reads as before (no class, the blank
    message, empty bars and stages), and the first real answer finds its stage columns and their room ready."""
    panel = PredictionPanel()
    qtbot.addWidget(panel)
    assert panel.stages.minimumHeight() == 0  # nothing shown yet: no room kept for stages
    stages = [(f"stage {index}", np.full((28, 28), 0.5, np.float32)) for index in range(6)]
    result = {"request_id": 0, "final": True, "blank": False, "error": None, "image": np.zeros((28, 28), np.float32),
              "model_view": None, "stages": stages, "probabilities": probabilities_with_winner(1)}  # fmt: skip
    panel.rehearse(result)
    assert panel.message.text() == "Draw a digit" and not panel.message.isHidden()
    assert panel.predicted_class.text() == "" and panel.confidence.text() == ""
    assert not panel.bars.probabilities.any() and panel.model_input.pixels is None
    assert panel.stages.stage_names == [] and panel.stages.minimumHeight() > 0
    columns = list(panel.stages._columns)
    panel.show_result({**result, "request_id": 1})
    assert panel.stages._columns == columns  # reused, not built at the first answer
    assert panel.stages.stage_names == [name for name, _ in stages] and panel.predicted_class.text() == "1"


@pytest.mark.parametrize("size", [(540, 330), (460, 300)])  # beside the wide canvas, 1380 and 1024 px windows
def test_a_long_reason_in_a_narrow_panel_is_shown_whole(qtbot, panel, size):
    from PySide6.QtCore import QRect

    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    note = (
        "Part 3 of 3 is not a digit (a separate dot above or below the stroke, "
        'as in "!", "?" or "i": no digit has one).'
    )
    panel.show_number("12?", "digit 1 of 3: 1 · >99.9 %", note, readable=False)
    qtbot.wait(10)
    flags = int(Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignHCenter)
    needed = panel.message.fontMetrics().boundingRect(QRect(0, 0, panel.message.width(), 10_000), flags, note)
    assert needed.height() > 3 * panel.message.fontMetrics().lineSpacing()  # more than the three lines it had
    assert needed.height() <= panel.message.height()  # its last lines were cut off, its first hidden under the detail
    assert panel.message.geometry().top() >= panel.confidence.geometry().bottom()


@pytest.mark.parametrize("size", [(540, 330), (460, 300)])  # beside the wide canvas, 1380 and 1024 px windows
def test_beside_the_wide_canvas_the_bars_keep_room_for_their_percentages(qtbot, panel, size):
    from PySide6.QtGui import QFontMetrics

    panel.resize(*size)
    qtbot.waitExposed(panel)
    image = np.zeros((28, 28), dtype=np.float32)
    image[8:20, 12:16] = 1.0
    stages = [(f"stage {index}", image) for index in range(6)]  # a drawing's six preprocessing stages
    panel.show_prediction(image, probabilities_with_winner(7), stages)
    qtbot.wait(10)
    label = QFontMetrics(panel.bars._tick_font).horizontalAdvance("100%")
    view = panel.bars.getPlotItem().getViewBox()
    assert view.width() / view.viewRange()[0][1] >= 2 * label  # a full bar at least twice as long as its label
    assert shown_percent_labels(panel.bars) == [f"{tick:.0%}" for tick in panel.bars.percent_ticks]
    assert "100%" in shown_percent_labels(panel.bars)  # not "50%" alone, the "100%" hidden as past the axis's end
    assert panel.model_input.width() >= panel.model_input.minimumWidth()  # the model's view gave the room up


def test_a_numbers_detail_line_shrinks_to_fit_a_narrow_verdict_column(qtbot, panel):
    from PySide6.QtGui import QFontMetrics

    panel.stages_section.hide()  # their strip keeps a drawing's width: View ▸ Show preprocessing stages is off
    panel.resize(420, 300)  # beside the wide canvas in a small window, the stages hidden
    qtbot.waitExposed(panel)
    panel.show_number("2026", "digit 1 of 4: 2 · >99.9 %", "Click a digit's tab on the canvas to see it here.")
    qtbot.wait(10)
    label = panel.confidence
    assert QFontMetrics(label.font()).horizontalAdvance(label.text()) <= label.contentsRect().width()
    panel.resize(1200, 420)
    qtbot.waitUntil(lambda: label.font().pointSizeF() > panel.message.font().pointSizeF())  # its own size again


def test_a_model_of_1000_classes_shows_its_winner_on_the_top_bar_of_ten(panel):
    probabilities = np.random.default_rng(0).dirichlet(np.ones(1000))
    winner = int(np.argmax(probabilities))
    result = {"request_id": 1, "final": True, "blank": False, "error": None, "image": np.zeros((28, 28), np.float32),
              "model_view": None, "stages": [], "probabilities": probabilities}  # fmt: skip
    shown = panel.show_result(result)
    assert shown["predicted_index"] == winner and panel.predicted_class.text() == str(winner)
    assert len(panel.bars.class_names) == 1000 and panel.bars.shown_classes[0] == winner
    assert len(panel.bars.getPlotItem().getAxis("left")._tickLevels[0]) == 10
