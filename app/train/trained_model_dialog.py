"""A run's model and the user: asked before it replaces a better (or a stopped run's model replaces any) active model,
and held back, never dropped unasked, while the user is asked whether to quit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from app.common.widgets import ask_yes_or_no
from app.models.unsaved_models import where_unsaved_models_stay


@dataclass(frozen=True)
class TrainedModelQuestion:
    """What to ask: the question with both accuracies, why it is asked, and the name of the model kept."""

    text: str
    reasons: str
    kept_name: str


def format_accuracy(value: float | None) -> str:
    """``0.2743`` → ``27.43 %`` (two decimals: runs often differ by less than a tenth of a point)."""
    return "accuracy unknown" if value is None else f"{value * 100:.2f} %"


def trained_model_question(summary: dict, active: dict | None) -> TrainedModelQuestion | None:
    """The question to ask before ``summary``'s model replaces the ``active`` one; None: install it as before.

    Asked when the user stopped the run (its model is partial) or when it tests worse than the active model:
    measured on the run's own test set by the training worker, else the active model's recorded accuracy.
    """
    if active is None:
        return None
    new = summary.get("test_accuracy")
    if summary.get("reference_path") and summary.get("reference_path") == active.get("source_path"):
        reference = summary.get("reference_accuracy")
        same_test_set = bool(summary.get("reference_same_test_set"))
        reference_dataset = summary.get("reference_dataset")
    else:  # the active model changed during the run: only its recorded figure is known
        reference = active.get("test_accuracy")
        same_test_set = False
        reference_dataset = active.get("dataset")
    stopped = bool(summary.get("stopped_by_user"))
    worse = new is not None and reference is not None and new < reference
    if not stopped and not worse:
        return None
    name = active["display_name"]
    reasons = []
    if stopped:
        epochs = int(summary.get("epochs_completed") or 0)
        reasons.append(f"You stopped the run during epoch {epochs}, so the new model is only partly trained.")
    if worse and same_test_set:
        reasons.append(f"The new model tests worse than {name} on the same test set.")
    elif worse:
        reasons.append(f"The new model tests worse than {name} did.")
    if reference is not None and not same_test_set:
        where = f" on {reference_dataset}" if reference_dataset else ""
        reasons.append(
            f"({name}'s {format_accuracy(reference)} was measured{where}, "
            f"the new model's on {summary.get('dataset') or 'its own test set'}.)"
        )
    reasons.append("Either way, the other model stays one click away: Model ▸ Switch to previous model.")
    return TrainedModelQuestion(
        text=f"Use the new model ({format_accuracy(new)}) or keep {name} ({format_accuracy(reference)})?",
        reasons=" ".join(reasons),
        kept_name=name,
    )


class TrainedModelDialog(QMessageBox):
    """Asks whether the run's model replaces the active one; keeping is the default and the escape."""

    def __init__(self, question: TrainedModelQuestion, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TrainedModelDialog")
        self.setIcon(QMessageBox.Icon.Question)
        self.setWindowTitle("Use the new model?")
        self.setText(question.text)
        self.setInformativeText(question.reasons)
        self.use_button = self.addButton("Use the new model", QMessageBox.ButtonRole.AcceptRole)
        self.keep_button = self.addButton(f"Keep {question.kept_name}", QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.keep_button)
        self.setEscapeButton(self.keep_button)

    def use_new_model(self) -> bool:
        """After ``exec()``: True when the user chose the new model."""
        return self.clickedButton() is self.use_button


def ask_to_use_trained_model(question: TrainedModelQuestion, parent: QWidget | None = None) -> bool:
    """Show the dialog; True to use the new model, False to keep the active one."""
    dialog = TrainedModelDialog(question, parent)
    dialog.exec()
    return dialog.use_new_model()


class RunEndsOnHold:
    """Runs that end while the user is asked whether to quit: their end-of-run flow waits for the answers.

    Run at once, it would open its own question over the quit question (swallowing that answer) or load a model that
    quitting then drops unasked. Held, a run's model is asked about before quitting (Discard or Cancel) and, when the
    window stays open, handed on to the end-of-run flow as if the run had ended then.
    """

    def __init__(self, hand_on: Callable[[dict], None], context: QObject) -> None:
        self._hand_on = hand_on
        self._context = context  # the delayed hand-on is dropped if this (the window) is deleted first
        self._holding = False
        self._summaries: list[dict] = []
        self._agreed = 0  # how many of them the user agreed to quit without

    @contextmanager
    def holding(self) -> Iterator[None]:
        """While inside (the questions asked on quitting), the runs that end are held."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def hold(self, summary: dict) -> bool:
        """True when the run of ``summary`` is held (the user is being asked whether to quit); False: go on now."""
        if self._holding:
            self._summaries.append(summary)
        return self._holding

    def confirm_quitting(self, parent: QWidget | None = None, training_running: bool = False) -> bool:
        """Ask "Stop it and quit?" while a run goes on, then about the held runs' models not asked about yet;
        True to quit."""
        if training_running:
            if not ask_yes_or_no(parent, "Training is running", "Training is still running. Stop it and quit?"):
                return False
        waiting = self._summaries[self._agreed :]
        if not waiting:
            return True
        accuracies = ", ".join(format_accuracy(summary.get("test_accuracy")) for summary in waiting)
        text = (
            f"Training ended while you were asked. The new model from this run ({accuracies}) has not been saved. "
            f"Quitting will remove it from Digit Lab.\n\n{where_unsaved_models_stay()} "
            "Choose Cancel to stay and decide about the new model now."
        )
        buttons = QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
        answer = QMessageBox.question(parent, "Unsaved model", text, buttons, QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Discard:
            return False
        self._agreed = len(self._summaries)
        return True

    def release(self) -> None:
        """The window stays open: hand the held runs on once the close event has been handled."""
        self._agreed = 0
        if self._summaries:
            QTimer.singleShot(0, self._context, self._hand_on_held)

    def _hand_on_held(self) -> None:
        summaries, self._summaries = self._summaries, []
        self._agreed = 0
        for summary in summaries:
            self._hand_on(summary)
