"""The workspace's explanations under its views: muted, and wrapped so that they never widen the window."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from app.common.widgets import hint_label


def wrapped_hint(text: str) -> QLabel:
    """A muted explanation that wraps to the width it is given."""
    label = hint_label(text)
    label.setWordWrap(True)
    return label
