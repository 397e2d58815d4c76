"""The robustness tab: what it says before a sweep, after one, and once the sweep shown no longer applies."""

from __future__ import annotations

from app.evaluate.robustness_view import RobustnessView
from app.evaluate.worker import ROBUSTNESS_SAMPLE

CURVES = {"rotation": [(-15, 0.9), (0, 0.99), (15, 0.92)], "noise": [(0, 0.99), (0.3, 0.8)]}


def test_before_a_sweep_it_names_how_many_images_it_scores_not_every_image(qtbot):
    view = RobustnessView()
    qtbot.addWidget(view)
    assert "every image" not in view.status_label.text()
    assert f"{ROBUSTNESS_SAMPLE:,} images" in view.status_label.text()


def test_clearing_the_curves_also_clears_the_figures_of_the_sweep_they_came_from(qtbot):
    view = RobustnessView()
    qtbot.addWidget(view)
    placeholder = view.status_label.text()
    view.show_curves(CURVES, "digitlab-best", 1000)
    assert view.status_label.text() == "digitlab-best: 1,000 images, each scored as is and at 3 distortions."
    view.clear()  # another model or set: its curves are gone, and so is the line that described them
    assert view.status_label.text() == placeholder and view.legend_label.text() == ""
