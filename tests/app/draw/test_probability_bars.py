"""ProbabilityBars with a model of many classes: the top few bars, their names, clicks and caption."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.draw.probability_bars import (
    MOST_BARS,
    NAME_ROOM,
    OTHER_COLOR,
    TOP_BARS,
    WINNER_COLOR,
    ProbabilityBars,
    format_probability,
)

DIGITS = [str(digit) for digit in range(10)]
THOUSAND = [f"class {index}" for index in range(1000)]


def shown_bars(qtbot) -> ProbabilityBars:
    """Bars at the panel's usual size, in a window as in the panel (a top-level plot warns of clicks it ignores)."""
    window = QWidget()
    qtbot.addWidget(window)
    widget = ProbabilityBars()
    layout = QVBoxLayout(window)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    window.resize(250, 300)
    window.show()
    qtbot.waitExposed(window)
    widget.window_kept = window  # qtbot holds a weak reference only
    return widget


@pytest.fixture
def bars(qtbot) -> ProbabilityBars:
    return shown_bars(qtbot)


def dirichlet(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(count))


def class_ticks(bars: ProbabilityBars) -> list[str]:
    """The names on the class axis, top to bottom."""
    levels = bars.getPlotItem().getAxis("left")._tickLevels
    return [name for _, name in sorted(levels[0])] if levels else []


def percent_labels(bars: ProbabilityBars) -> list[pg.TextItem]:
    return [item for item in bars.getPlotItem().items if isinstance(item, pg.TextItem)]


def test_a_model_of_1000_classes_shows_its_10_likeliest_largest_first_under_a_caption(bars):
    bars.set_class_names(THOUSAND)
    probabilities = dirichlet(1000, 0)
    bars.set_probabilities(probabilities)
    top = np.argsort(-probabilities)[:TOP_BARS]
    assert class_ticks(bars) == [THOUSAND[index] for index in top]  # not a smear of 1000 overlapping names
    assert len(percent_labels(bars)) == TOP_BARS
    percentages = [format_probability(value) for value in probabilities[top]]
    assert [label.textItem.toPlainText() for label in bars._labels] == percentages
    assert bars.shown_classes == top.tolist()
    assert np.allclose(bars._bars.opts["width"], probabilities[top])
    colors = [brush.color().name() for brush in bars._bars.opts["brushes"]]
    assert colors == [WINNER_COLOR.name()] + [OTHER_COLOR.name()] * (TOP_BARS - 1)  # the winner on top
    assert bars.caption == "top 10 of 1000 classes"
    title = bars.getPlotItem().titleLabel
    assert title.isVisible() and "top 10 of 1000 classes" in title.text
    assert bars.class_names == THOUSAND and np.array_equal(bars.probabilities, probabilities)  # all kept


def test_the_top_bars_follow_each_prediction_with_the_same_few_items(bars):
    bars.set_class_names(THOUSAND)
    items = list(bars.getPlotItem().items)
    for winner in (637, 4, 999):
        probabilities = np.full(1000, 0.5 / 999)
        probabilities[winner] = 0.5
        bars.set_probabilities(probabilities)
        assert class_ticks(bars)[0] == f"class {winner}" and bars.shown_classes[0] == winner
        assert bars._labels[0].textItem.toPlainText() == "50.0 %"
        assert list(bars.getPlotItem().items) == items  # updated in place: no TextItems made per prediction


def test_clicking_a_top_bar_emits_its_true_class_index_not_its_row(qtbot, bars):
    bars.set_class_names(THOUSAND)
    probabilities = dirichlet(1000, 1)
    bars.set_probabilities(probabilities)
    top = np.argsort(-probabilities)[:TOP_BARS]
    view_box = bars.getPlotItem().getViewBox()
    for row in (0, 3):
        point = bars.mapFromScene(view_box.mapViewToScene(QPointF(0.3, row)))
        with qtbot.waitSignal(bars.class_clicked) as clicked:
            qtbot.mouseClick(bars.viewport(), Qt.MouseButton.LeftButton, pos=point)
        assert clicked.args == [int(top[row])]
    assert bars.class_at(view_box.mapViewToScene(QPointF(0.3, TOP_BARS))) is None


def test_long_class_names_are_shortened_with_an_ellipsis(bars):
    names = [f"a very long class name for a flower, number {index}" for index in range(102)]
    names[5] = "sweet pea"
    bars.set_class_names(names)
    probabilities = np.full(102, 0.1 / 100)
    probabilities[[5, 40]] = [0.6, 0.3]
    bars.set_probabilities(probabilities)
    shown = class_ticks(bars)
    assert shown[0] == "sweet pea" and shown[1].endswith("…") and names[40].startswith(shown[1][:-1])
    room = NAME_ROOM * QFontMetrics(bars._tick_font).horizontalAdvance("100%")
    assert all(QFontMetrics(bars._tick_font).horizontalAdvance(name) <= room for name in shown)
    assert bars.getPlotItem().getAxis("left").width() <= room + 12  # the bars keep the rest of the width


@pytest.mark.parametrize("count", [MOST_BARS, MOST_BARS + 1])
def test_a_dozen_classes_each_keep_a_bar_and_more_show_the_top_ones(bars, count):
    names = [f"shape {index}" for index in range(count)]
    bars.set_class_names(names)
    probabilities = dirichlet(count, 2)
    bars.set_probabilities(probabilities)
    if count <= MOST_BARS:
        assert class_ticks(bars) == names and bars.caption == ""
        assert not bars.getPlotItem().titleLabel.isVisible()
    else:
        assert class_ticks(bars) == [names[index] for index in np.argsort(-probabilities)[:TOP_BARS]]
        assert bars.caption == f"top {TOP_BARS} of {count} classes"


def test_with_no_prediction_the_top_bars_are_empty_and_name_no_class(bars):
    bars.set_class_names(THOUSAND)
    bars.set_probabilities(dirichlet(1000, 3))
    bars.set_probabilities(None)
    assert class_ticks(bars) == [] and bars.shown_classes == []
    assert [label.textItem.toPlainText() for label in bars._labels] == [""] * TOP_BARS
    assert len(bars._bars.opts["width"]) == 0 and not bars.probabilities.any()
    assert bars.class_at(bars.getPlotItem().getViewBox().mapViewToScene(QPointF(0.3, 0))) is None
    assert bars.caption == "top 10 of 1000 classes"  # the panel keeps its rows while the user draws


def test_back_to_the_ten_digits_the_bars_look_as_they_always_did(qtbot, bars):
    probabilities = np.full(10, 0.02)
    probabilities[7] = 0.82
    fresh = shown_bars(qtbot)
    for widget in (fresh, bars):
        if widget is bars:
            bars.set_class_names(THOUSAND)
            bars.set_probabilities(dirichlet(1000, 4))
            qtbot.wait(10)
        widget.set_class_names(DIGITS)
        widget.set_probabilities(probabilities)
        qtbot.wait(10)
    assert class_ticks(bars) == DIGITS and bars.shown_classes == list(range(10)) and bars.caption == ""
    assert bars.getPlotItem().getAxis("left").fixedWidth is None and not bars.getPlotItem().titleLabel.isVisible()
    assert bars.grab().toImage() == fresh.grab().toImage()
