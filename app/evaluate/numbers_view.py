"""The figures of an evaluation: accuracy with its Wilson 95 % interval, top-2 accuracy, and a per-class table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.evaluate.hints import wrapped_hint
from ml.plurals import plural

COLUMNS = ("class", "precision %", "recall %", "F1 %", "support")


class NumberItem(QTableWidgetItem):
    """A cell shown as text (``99.80``) that sorts by its number."""

    def __init__(self, text: str, value: float) -> None:
        super().__init__(text)
        self.value = value
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        """Compare by number (class names, the first column, by their order in the model)."""
        return self.value < getattr(other, "value", 0.0)


def percent(value: float | None, decimals: int = 2) -> str:
    """``99.70 %`` (``—`` for a missing figure)."""
    return "—" if value is None else f"{value * 100:.{decimals}f} %"


def summary_text(figures: dict) -> str:
    """The headline: accuracy, its interval, top-2 accuracy and the number of errors, from a report's ``as_dict()``."""
    n = int(figures["n"])
    accuracy = float(figures["accuracy"])
    low, high = figures["accuracy_ci95"]
    errors = n - round(accuracy * n)
    lines = [
        f"Accuracy {percent(accuracy)} on {plural(n, 'image')} ({plural(errors, 'error')})",
        f"95 % interval (Wilson): {percent(low)} to {percent(high)}",
        f"Top-2 accuracy: {percent(figures.get('top2_accuracy'))} (the true class among the two most likely)",
    ]
    return "\n".join(lines)


class NumbersView(QWidget):
    """The headline figures over a sortable per-class table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("Run an evaluation to see its figures.")
        font = QFont(self.summary.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.summary.setFont(font)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("PerClassTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(
            wrapped_hint(
                "Precision: of the images predicted as a class, the share that are. Recall: of the images of a "
                "class, the share found. F1: their harmonic mean. Support: images of the class. Click a header "
                "to sort."
            )
        )

    def show_figures(self, figures: dict) -> None:
        """Show a report's ``as_dict()``."""
        self.summary.setText(summary_text(figures))
        rows = figures["per_class"]
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for row, entry in enumerate(rows):
            name = NumberItem(str(entry["class"]), float(row))
            name.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 0, name)
            for column, key in enumerate(("precision", "recall", "f1"), start=1):
                self.table.setItem(row, column, NumberItem(f"{float(entry[key]) * 100:.2f}", float(entry[key])))
            self.table.setItem(row, 4, NumberItem(f"{int(entry['support']):,}", float(entry["support"])))
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the model's class order
        self.table.setSortingEnabled(True)

    def clear(self) -> None:
        """No figures."""
        self.summary.setText("Run an evaluation to see its figures.")
        self.table.setRowCount(0)
