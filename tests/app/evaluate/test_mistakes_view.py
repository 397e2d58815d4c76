"""MistakesView: the gallery of wrong predictions, titled with how many it shows (one in the singular)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from app.evaluate.mistakes_view import MistakesView, mistakes_title


def evaluation(labels: list[int], predictions: list[int]) -> SimpleNamespace:
    """The fields of an ``ml.evaluation.run.Evaluation`` the view reads."""
    confidence = np.linspace(0.9, 0.5, len(labels))
    return SimpleNamespace(
        labels=np.array(labels), predictions=np.array(predictions), confidence=confidence, class_names=["0", "1", "2"]
    )


def test_titles_read_in_the_singular_for_one_mistake():
    assert mistakes_title(30, 30, False).startswith("All 30 mistakes, the most confident first")
    assert mistakes_title(1, 30, True) == "1 of the 30 mistakes (caption: true → predicted, confidence)."
    assert mistakes_title(1, 1, False) == "The only mistake (caption: true → predicted, confidence)."
    assert mistakes_title(1, 1, True) == "The only mistake (caption: true → predicted, confidence)."
    assert mistakes_title(0, 1, True) == "No mistakes of this kind (1 mistake in all)."
    assert mistakes_title(0, 0, False) == "Every image was classified correctly."


def test_one_mistake_in_the_gallery_is_not_called_mistakes(qtbot):
    view = MistakesView()
    qtbot.addWidget(view)
    view.set_evaluation(evaluation([0, 1, 2, 2], [0, 1, 2, 1]), np.zeros((4, 28, 28), np.float32))
    assert view.gallery.count() == 1
    assert view.gallery.title.text() == "The only mistake (caption: true → predicted, confidence)."
    view.set_filters(0, None)
    assert view.gallery.count() == 0
    assert view.gallery.title.text().startswith("No mistakes of this kind (1 mistake in all).")
    assert "1 mistakes" not in view.gallery.title.text()
