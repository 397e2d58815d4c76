"""Unsaved trained models: which ones an action would drop from the window, where their files stay, and asking first."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.common.errors import unbreakable_path
from app.common.user_folders import trained_models_folder


def unsaved_models_dropped(description: dict | None, quitting: bool = False) -> list[str]:
    """Names of the unsaved models that replacing the active model (or quitting) would remove from the window.

    Another model becoming active pushes the active one into the "previous" slot, so the model dropped is the
    previous one; quitting drops both.
    """
    if description is None:
        return []
    names = [description["display_name"]] if quitting and description.get("unsaved") else []
    if description.get("previous_unsaved") and description.get("previous_name"):
        names.append(description["previous_name"])
    return names


def where_unsaved_models_stay() -> str:
    """A sentence on where a run's model is kept until the user saves it."""
    return (
        f"Until you save it, a run's model is a file in {unbreakable_path(trained_models_folder())}, where the newest "
        "runs are kept (Model ▸ Open model… opens it)."
    )


def dropping_question(names: list[str], action: str) -> tuple[str, str]:
    """The question's text and its explanation for dropping ``names`` by ``action`` ("Opening model.keras")."""
    listed = " and ".join(names)
    verb = "has" if len(names) == 1 else "have"
    text = f"{listed} {verb} not been saved. {action} will remove {'it' if len(names) == 1 else 'them'} from Digit Lab."
    how_to_keep = "To keep one for good, choose Cancel, switch to it (Model ▸ Switch to previous model) and save it."
    return text, f"{where_unsaved_models_stay()} {how_to_keep}"


def confirm_dropping(names: list[str], action: str, parent: QWidget | None = None) -> bool:
    """Ask before ``action`` drops unsaved models; True to go ahead (at once when there are none)."""
    if not names:
        return True
    text, details = dropping_question(names, action)
    answer = QMessageBox.question(
        parent,
        "Unsaved model",
        f"{text} Go ahead?\n\n{details}",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def ask_before_quitting(description: dict | None, parent: QWidget | None = None) -> str:
    """``"quit"``, ``"save"`` (save the active model first) or ``"cancel"``, asked only when a model is unsaved."""
    names = unsaved_models_dropped(description, quitting=True)
    if not names:
        return "quit"
    assert description is not None
    active_unsaved = bool(description.get("unsaved"))
    text, _ = dropping_question(names, "Quitting")
    buttons = QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
    if active_unsaved:
        buttons |= QMessageBox.StandardButton.Save
        text += f" Save {description['display_name']} before quitting?"
    default = QMessageBox.StandardButton.Save if active_unsaved else QMessageBox.StandardButton.Cancel
    answer = QMessageBox.question(parent, "Unsaved model", f"{text}\n\n{where_unsaved_models_stay()}", buttons, default)
    if answer == QMessageBox.StandardButton.Save:
        return "save"
    return "quit" if answer == QMessageBox.StandardButton.Discard else "cancel"
