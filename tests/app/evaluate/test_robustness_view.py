"""The robustness tab: what it says before a sweep, after one, and once the sweep shown no longer applies."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

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


def test_the_hint_says_the_undistorted_point_is_the_samples_accuracy_not_the_sets(qtbot):
    """It called the undistorted level "the plain accuracy", though the sweep scores a sample of 1,000 images, whose
    accuracy need not be the Numbers tab's accuracy of all 10,000."""
    view = RobustnessView()
    qtbot.addWidget(view)
    hints = [label.text() for label in view.findChildren(QLabel) if "undistorted level" in label.text()]
    assert len(hints) == 1
    assert "plain accuracy" not in hints[0]
    assert f"the same {ROBUSTNESS_SAMPLE:,} images" in hints[0] and "every level" in hints[0]
    assert "Numbers tab" in hints[0]  # where the accuracy of every image is, and why the two may differ
