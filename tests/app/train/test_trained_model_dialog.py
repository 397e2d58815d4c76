"""The question before a run's model replaces the active one: when it is asked, what it says, and its buttons."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.train.trained_model_dialog import (
    RunEndsOnHold,
    TrainedModelDialog,
    ask_to_use_trained_model,
    trained_model_question,
)

ACTIVE = {"display_name": "digitlab-best", "source_path": "/m/best.keras", "test_accuracy": 0.997, "dataset": "mnist"}


def run_summary(**overrides) -> dict:
    """What the training worker reports for a finished run compared with the active model on its test set."""
    summary = {
        "path": "/cache/trained/fast.keras",
        "test_accuracy": 0.9912,
        "dataset": "mnist",
        "epochs_completed": 2,
        "stopped_by_user": False,
        "reference_path": ACTIVE["source_path"],
        "reference_accuracy": 0.9905,
        "reference_dataset": "mnist",
        "reference_same_test_set": True,
    }
    return {**summary, **overrides}


def test_a_finished_run_that_tests_at_least_as_well_is_not_asked_about():
    assert trained_model_question(run_summary(), ACTIVE) is None
    assert trained_model_question(run_summary(test_accuracy=0.9905), ACTIVE) is None  # a tie installs too
    assert trained_model_question(run_summary(stopped_by_user=True), None) is None  # no model to lose


def test_a_stopped_run_is_asked_about_even_when_it_tests_better():
    question = trained_model_question(run_summary(stopped_by_user=True, epochs_completed=1), ACTIVE)
    assert question.text == "Use the new model (99.12 %) or keep digitlab-best (99.05 %)?"
    assert "You stopped the run during epoch 1" in question.reasons and question.kept_name == "digitlab-best"
    assert "Switch to previous model" in question.reasons


def test_a_worse_run_names_both_accuracies_on_the_same_test_set():
    question = trained_model_question(run_summary(test_accuracy=0.2743), ACTIVE)
    assert question.text == "Use the new model (27.43 %) or keep digitlab-best (99.05 %)?"
    assert "worse than digitlab-best on the same test set" in question.reasons


def test_accuracies_on_different_datasets_are_compared_and_say_so():
    summary = run_summary(
        test_accuracy=0.4296,
        dataset="sklearn-digits",
        reference_accuracy=0.9909,
        reference_dataset="mnist",
        reference_same_test_set=False,
    )
    question = trained_model_question(summary, ACTIVE)
    assert "(42.96 %)" in question.text and "(99.09 %)" in question.text
    assert "measured on mnist, the new model's on sklearn-digits" in question.reasons


def test_a_model_opened_during_the_run_is_compared_by_its_recorded_accuracy():
    other = {**ACTIVE, "source_path": "/models/opened-meanwhile.keras", "test_accuracy": 0.995}
    question = trained_model_question(run_summary(), other)
    assert question is not None and "keep digitlab-best (99.50 %)" in question.text
    assert trained_model_question(run_summary(), {**other, "test_accuracy": None}) is None  # nothing to compare


def click_later(button_name: str) -> None:
    """Click a button of the TrainedModelDialog as soon as it is shown (its ``exec()`` runs the event loop)."""

    def click() -> None:
        shown = [widget for widget in QApplication.topLevelWidgets() if widget.isVisible()]
        dialog = next(widget for widget in shown if isinstance(widget, TrainedModelDialog))
        getattr(dialog, button_name).click()

    QTimer.singleShot(0, click)


def test_the_dialog_keeps_by_default_and_uses_the_new_model_when_asked_to(qtbot):
    question = trained_model_question(run_summary(test_accuracy=0.2743), ACTIVE)
    dialog = TrainedModelDialog(question)
    qtbot.addWidget(dialog)
    assert dialog.defaultButton() is dialog.keep_button and dialog.escapeButton() is dialog.keep_button
    assert dialog.keep_button.text() == "Keep digitlab-best" and dialog.text() == question.text
    click_later("use_button")
    assert ask_to_use_trained_model(question) is True
    click_later("keep_button")
    assert ask_to_use_trained_model(question) is False


def test_a_run_ending_while_quitting_is_asked_is_held_asked_about_once_and_handed_on_if_the_window_stays(
    qtbot, monkeypatch
):
    asked: list[tuple[str, str]] = []
    answers: list[QMessageBox.StandardButton] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append((title, text))
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    handed_on: list[dict] = []
    context = QObject()
    run_ends = RunEndsOnHold(handed_on.append, context)
    assert run_ends.hold(run_summary()) is False  # no one is asked whether to quit: the run's end goes on at once
    answers[:] = [QMessageBox.StandardButton.No]
    with run_ends.holding():
        assert run_ends.confirm_quitting(training_running=True) is False
        assert run_ends.hold(run_summary()) is True
        answers[:] = [QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Discard]
        assert run_ends.confirm_quitting(training_running=True) is True
        assert run_ends.confirm_quitting() is True  # agreed once: not asked again
    assert [title for title, _ in asked] == ["Training is running", "Training is running", "Unsaved model"]
    assert "The new model from this run (99.12 %) has not been saved. Quitting will remove it" in asked[2][1]
    assert run_ends.hold(run_summary()) is False  # the questions are over
    run_ends.release()  # yet the window stays open
    assert handed_on == []  # not inside the close event
    qtbot.waitUntil(lambda: handed_on == [run_summary()])
    assert run_ends.confirm_quitting() is True and len(asked) == 3  # nothing is held any more
