"""Unsaved trained models: which ones an action drops, and the question asked before it does."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from app.common.errors import unbreakable_path
from app.common.user_folders import trained_models_folder
from app.models.unsaved_models import ask_before_quitting, confirm_dropping, unsaved_models_dropped


def description(active_unsaved: bool, previous_unsaved: bool) -> dict:
    return {
        "display_name": "trained fast · mnist · 98.7 % · 09:41" if active_unsaved else "digitlab-best",
        "unsaved": active_unsaved,
        "previous_name": "trained fast · mnist · 97.9 % · 09:20" if previous_unsaved else "digitlab-best",
        "previous_unsaved": previous_unsaved,
    }


def test_replacing_the_model_drops_only_an_unsaved_previous_model():
    assert unsaved_models_dropped(None) == []
    assert unsaved_models_dropped(description(active_unsaved=True, previous_unsaved=False)) == []  # becomes previous
    assert unsaved_models_dropped(description(active_unsaved=False, previous_unsaved=True)) == [
        "trained fast · mnist · 97.9 % · 09:20"
    ]


def test_quitting_drops_both_unsaved_models():
    names = unsaved_models_dropped(description(active_unsaved=True, previous_unsaved=True), quitting=True)
    assert names == ["trained fast · mnist · 98.7 % · 09:41", "trained fast · mnist · 97.9 % · 09:20"]


def record_questions(monkeypatch, answer) -> list[str]:
    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return asked


def test_dropping_asks_first_names_the_model_and_says_where_its_file_stays(qapp, monkeypatch):
    asked = record_questions(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert confirm_dropping(["trained fast · mnist · 97.9 % · 09:20"], "Using the bundled model") is False
    assert "trained fast · mnist · 97.9 % · 09:20 has not been saved" in asked[0]
    assert "Using the bundled model will remove it" in asked[0]
    assert unbreakable_path(trained_models_folder()) in asked[0]  # whole on its line, never broken at "/"
    record_questions(monkeypatch, QMessageBox.StandardButton.Yes)
    assert confirm_dropping(["x"], "Opening m.keras") is True


def test_nothing_unsaved_asks_nothing(qapp, monkeypatch):
    asked = record_questions(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert confirm_dropping([], "Opening m.keras") is True
    assert ask_before_quitting(description(active_unsaved=False, previous_unsaved=False)) == "quit"
    assert asked == []


def test_quitting_with_only_an_unsaved_previous_model_asks_too(qapp, monkeypatch):
    asked = record_questions(monkeypatch, QMessageBox.StandardButton.Discard)
    assert ask_before_quitting(description(active_unsaved=False, previous_unsaved=True)) == "quit"
    assert "97.9 % · 09:20 has not been saved. Quitting will remove it" in asked[0]
    record_questions(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert ask_before_quitting(description(active_unsaved=False, previous_unsaved=True)) == "cancel"
    record_questions(monkeypatch, QMessageBox.StandardButton.Save)
    assert ask_before_quitting(description(active_unsaved=True, previous_unsaved=False)) == "save"
