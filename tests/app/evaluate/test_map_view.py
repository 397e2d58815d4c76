"""The map of the data: points coloured by class, and a cleared map that says nothing of the last one."""

from __future__ import annotations

import numpy as np

from app.evaluate.map_view import MapView


def test_a_cleared_map_does_not_keep_the_last_maps_title(qtbot):
    """After switching models the empty map still read "PCA of the inputs of tower0_probabilities, … (128 + 128 +
    128 features): 10,000 images of MNIST test", the bundled model's layer, under the weak model."""
    view = MapView()
    qtbot.addWidget(view)
    placeholder = view.status_label.text()
    points = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    images = np.zeros((3, 28, 28), dtype=np.float32)
    view.show_map(points, np.arange(3), images, np.array([0, 1, 1]), None, ["0", "1"], "PCA of dense_1: 3 images.")
    assert view.status_label.text() == "PCA of dense_1: 3 images." and len(view.scatter.points()) == 3

    view.clear()

    assert view.status_label.text() == placeholder and len(view.scatter.points()) == 0


def test_hovering_a_map_drawn_before_any_evaluation_claims_no_prediction(qtbot):
    """Draw the map without running an evaluation: hovering a 4 said "#1: true 4, predicted 4", a prediction the model
    was never asked for (the true class stood in for it)."""
    view = MapView()
    qtbot.addWidget(view)
    points = np.array([[0.0, 0.0], [1.0, 1.0]])
    images = np.zeros((2, 28, 28), dtype=np.float32)
    names = [str(digit) for digit in range(10)]
    view.show_map(points, np.arange(2), images, np.array([7, 4]), None, names, "PCA of dense_1: 2 images.")
    assert view.describe(1) == "#1: true 4"

    view.show_map(points, np.arange(2), images, np.array([7, 4]), np.array([7, 9]), names, "PCA of dense_1: 2 images.")
    assert view.describe(1) == "#1: true 4, predicted 9"
