"""The window's layout at the sizes people use: the training charts fit in the dock, whole, with a result shown."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget

from app.draw.canvas import DEFAULT_BRUSH_SIZE
from app.main_window import MainWindow

LONG_DETAILS = "fast · 2 epochs · 0:41 · CPU · best epoch (2) saved to " + "/a/rather/long/folder" * 8 + "/best.keras"


DRAWING_STAGES = [
    "input (grayscale)",
    "background removed",
    "cropped",
    "stroke width normalised",
    "scaled to 20 px",
    "centred 28x28",
]  # a drawing's; each digit of a number read from it has the last four


@pytest.fixture
def window(qtbot, settings):
    """A window without TensorFlow (layout only), shown, closed afterwards."""
    window = MainWindow(settings)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown()
    window.close()


def rect_in(widget: QWidget, ancestor: QWidget, rect: QRect | None = None) -> QRect:
    """``rect`` (default: the whole widget) in ``ancestor``'s coordinates."""
    rect = rect if rect is not None else widget.rect()
    return QRect(widget.mapTo(ancestor, rect.topLeft()), rect.size())


def resize_and_settle(qtbot, window: MainWindow, width: int, height: int) -> None:
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.width() == width and window.height() == height, timeout=5_000)

    def layout() -> tuple:
        charts = window.training_panel.run.curves
        return window.training_dock.geometry().getRect(), charts.loss_plot.geometry().getRect()

    shown = None
    for _ in range(30):  # the dock follows the window a turn or two of the event loop later (more on a busy machine)
        qtbot.wait(100)
        if layout() == shown:
            return
        shown = layout()


def assert_charts_whole_in_the_dock(window: MainWindow) -> list[int]:
    """The plot areas and their x axes lie inside the dock's visible area, nothing scrolls; their heights."""
    scroller = window.training_dock.widget()
    viewport = scroller.viewport()
    visible = viewport.rect()
    assert scroller.verticalScrollBar().maximum() == 0, "the dock scrolls"
    heights = []
    for plot in (window.training_panel.run.curves.loss_plot, window.training_panel.run.curves.accuracy_plot):
        item = plot.getPlotItem()
        view = plot.mapFromScene(item.getViewBox().sceneBoundingRect()).boundingRect()
        axis = plot.mapFromScene(item.getAxis("bottom").sceneBoundingRect()).boundingRect()
        for part in (view, axis):
            assert visible.contains(rect_in(plot, viewport, part)), (part, visible)
        assert view.height() >= 100, "the curve has too little height to read"
        heights.append(view.height())
    form = window.training_panel.form
    last_row = form.training_limit_spin
    assert visible.contains(rect_in(last_row, viewport)), "the setup form's last row is cut"
    return heights


def test_the_charts_fit_at_1024x700_and_1600x1000_with_a_result_shown(qtbot, window):
    window.training_panel.run._show_result_text("Test accuracy 98.21 %", LONG_DETAILS)
    window.training_panel.run.show_message("Training stopped early: the loss stopped improving.", "warning")
    resize_and_settle(qtbot, window, 1024, 700)
    small = assert_charts_whole_in_the_dock(window)
    resize_and_settle(qtbot, window, 1600, 1000)
    large = assert_charts_whole_in_the_dock(window)
    assert min(large) >= min(small) + 60, "a larger window must give the charts more height too"
    resize_and_settle(qtbot, window, 1024, 700)
    assert_charts_whole_in_the_dock(window)


def test_the_charts_still_fit_at_1024x700_once_a_drawing_shows_its_preprocessing_stages(qtbot, window):
    """The stages' strip takes its height from the panel's margins, not the dock (which scrolled by 15 px)."""
    resize_and_settle(qtbot, window, 1024, 700)
    names = DRAWING_STAGES  # the longest a photo gets, each caption on two lines
    window.prediction.show_input(np.zeros((28, 28), np.float32), [(name, np.ones((40, 40))) for name in names])
    qtbot.waitUntil(lambda: window.prediction.stages.stage_names == names, timeout=2_000)
    qtbot.wait(100)
    assert_charts_whole_in_the_dock(window)


def test_the_result_line_does_not_take_height_from_the_charts(qtbot, window):
    resize_and_settle(qtbot, window, 1024, 700)
    before = assert_charts_whole_in_the_dock(window)
    window.training_panel.run._show_result_text("Test accuracy 98.21 %", LONG_DETAILS)
    qtbot.wait(50)
    assert assert_charts_whole_in_the_dock(window) == before
    assert window.training_panel.run.result_details_label.text() == LONG_DETAILS  # the tooltip holds it all


def test_tab_goes_from_the_canvas_to_the_setup_form_over_nothing_unmarked(qtbot, window):
    import pyqtgraph as pg
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QScrollArea, QTabBar

    window.activateWindow()
    window.canvas.setFocus()
    qtbot.waitUntil(lambda: window.canvas.hasFocus())
    stops = []
    for _ in range(30):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        qtbot.wait(5)  # a parked dock tab bar passes the focus on in the next turn of the event loop
        focused = QApplication.focusWidget()
        if focused is window.canvas:
            break
        stops.append(focused)
    assert stops and not any(isinstance(stop, pg.PlotWidget | QScrollArea) for stop in stops)  # no unmarked stops
    for stop in stops:
        if isinstance(stop, QTabBar):
            assert window.rect().intersects(QRect(stop.mapTo(window, stop.rect().topLeft()), stop.size()))
    assert window.brush_slider in stops  # the tool bar's slider is reached too


def test_in_a_tall_window_the_hint_stays_under_the_canvas_and_no_gap_opens_under_the_stages(qtbot, window):
    from PySide6.QtWidgets import QDockWidget, QLabel

    for dock in window.findChildren(QDockWidget):
        dock.hide()
    resize_and_settle(qtbot, window, 1600, 1000)
    canvas = window.canvas
    paper = canvas.document_rect().toRect()
    hint = next(label for label in window.findChildren(QLabel) if label.text().startswith("Draw with the left button"))
    paper_bottom = rect_in(canvas, window, paper).bottom()
    hint_top = rect_in(hint, window).top()
    assert 0 <= hint_top - paper_bottom <= 24, (paper_bottom, hint_top)  # right under the drawing, not at the foot
    panel = window.prediction
    stages_bottom = rect_in(panel.stages_section, panel).bottom()
    bars_bottom = rect_in(panel.bars, panel).bottom()
    assert bars_bottom - stages_bottom <= 40  # the stages end where the bars end: no empty band under them
    assert panel.model_input.image_rect().width() > 196  # the room went to what the model sees


def test_a_remembered_wide_canvas_opens_with_most_of_the_width_and_the_bars_whole(qtbot, settings, monkeypatch):
    """The wide canvas, switched on in a session that ended before the window's layout was saved, gets its room."""
    monkeypatch.setattr("app.main_window.first_window_size", lambda screen: (1360, 860))  # a 1600x1000 screen's
    settings.setValue("canvas/wide", True)
    window = MainWindow(settings)
    window.show()
    qtbot.waitExposed(window)
    try:
        drawing, panel = window.splitter.sizes()
        assert window.canvas.wide and drawing > panel, (window.width(), drawing, panel)
        bars = window.prediction.bars
        assert bars.width() >= bars.minimumWidth() > 0
    finally:
        window.shutdown()
        window.close()


def number_reading(digits: str) -> dict:
    """What the model thread answers for a drawing of ``digits``: the whole ink as one digit, and the number."""
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = 1.0
    probabilities = np.full(10, 0.001, np.float32)
    probabilities[int(digits[0])] = 0.991
    verdict = {"status": "digit", "reason": None}
    entries = [
        dict(
            box=(40 + 60 * index, 60, 40, 140),
            image=image,
            probabilities=probabilities,
            stages=[(name, image) for name in DRAWING_STAGES[2:]],
            prediction=int(digit),
            label=digit,
            confidence=0.991,
            verdict=verdict,
        )
        for index, digit in enumerate(digits)
    ]
    return dict(
        request_id=1,
        final=True,
        blank=False,
        error=None,
        reason=None,
        image=image,
        model_view=None,
        stages=[(name, image) for name in DRAWING_STAGES],
        probabilities=probabilities,
        verdict=verdict,
        number={"number": digits, "reason": None, "split": False, "digits": entries},
    )


def test_reading_a_number_beside_the_wide_canvas_leaves_the_canvas_its_width(qtbot, settings, monkeypatch):
    """The first reading's preprocessing stages widened the prediction panel: the wide canvas lost about 100 px."""
    monkeypatch.setattr("app.main_window.first_window_size", lambda screen: (1360, 860))
    settings.setValue("canvas/wide", True)
    window = MainWindow(settings)
    window.show()
    qtbot.waitExposed(window)
    try:
        qtbot.wait(50)
        width = window.canvas.width()
        window.models.prediction_finished.emit(number_reading("2026"))
        assert window.prediction.predicted_class.text() == "2026"
        assert window.prediction.confidence.text().startswith("digit 1 of 4: 2")
        qtbot.wait(100)
        assert abs(window.canvas.width() - width) <= 4, (width, window.canvas.width())
    finally:
        window.shutdown()
        window.close()


def test_a_damaged_settings_file_opens_the_window_at_its_first_size(qtbot, settings):
    settings.setValue("window/geometry", "garbage")  # text where Qt saved bytes: an edited or damaged file
    settings.setValue("window/state", "12")
    settings.setValue("window/splitter", "0")
    settings.setValue("canvas/brush_size", "abc")
    window = MainWindow(settings)  # used to raise TypeError: the app exited at start with status 1 and no word
    qtbot.addWidget(window)
    free = window.screen().availableGeometry()
    assert 0 < window.width() <= free.width() and 0 < window.height() <= free.height()
    assert window.training_dock.isVisibleTo(window)
    assert window.canvas.brush_size == DEFAULT_BRUSH_SIZE  # not the thinnest pen
    window.shutdown()


def test_quitting_takes_the_window_off_the_screen_before_its_threads_are_joined(qtbot, window, monkeypatch):
    seen = []
    joining = window.models.shutdown
    monkeypatch.setattr(window.models, "shutdown", lambda timeout_ms: seen.append(window.isVisible()) or joining())
    window.quit_action.trigger()  # the joins may take seconds (a model loading): a shown window sat frozen meanwhile
    assert seen == [False]
