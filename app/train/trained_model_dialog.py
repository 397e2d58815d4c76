"""The question asked before a run's model replaces a better (or a stopped run's model replaces any) active model."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QMessageBox, QWidget


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
