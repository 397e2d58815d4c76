"""Corrections: the "That's a …" texts read as English, and Undo says what it did."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QWidget

from app.teach.corrections import Corrections
from ml.teach.samples import SampleStore


def _corrections(qtbot, tmp_path) -> Corrections:
    parent = QWidget()
    qtbot.addWidget(parent)
    corrections = Corrections(SampleStore(tmp_path / "samples"), parent)
    digit = np.zeros((28, 28), np.float32)
    digit[6:22, 12:16] = 1.0
    corrections.follow_prediction({"image": digit, "probabilities": np.eye(10)[3]})
    return corrections


def test_an_8_is_an_8_in_the_menu_the_key_action_and_the_note(qtbot, tmp_path):
    corrections = _corrections(qtbot, tmp_path)
    menu = [action.text() for action in corrections.menu.actions()]
    assert "That's an 8" in menu and "That's a 7" in menu and "That's a 3 (as the model reads it)" in menu
    assert corrections.key_actions[8].text() == "That's an 8"
    corrections.correct(8)
    assert corrections.note.label.text() == "Saved as an 8 in My samples (1 of 8, 1 in all)."


def test_undo_of_a_sample_already_deleted_in_my_samples_does_not_claim_to_remove_it(qtbot, tmp_path):
    corrections = _corrections(qtbot, tmp_path)
    sample = corrections.correct(7)
    corrections.store.remove(sample.id)  # deleted in the My samples dock meanwhile
    corrections.undo_last()
    assert "Removed" not in corrections.note.label.text()
    assert "already" in corrections.note.label.text()
