"""The figures of an evaluation: accuracy with its Wilson 95 % interval, top-2 accuracy, and a per-class table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.common.widgets import hint_label

COLUMNS = ("class", "precision", "recall", "F1", "support")


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
        f"Accuracy {percent(accuracy)} on {n:,} images ({errors:,} {'error' if errors == 1 else 'errors'})",
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
            hint_label(
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
            values = (entry["class"], entry["precision"], entry["recall"], entry["f1"], entry["support"])
            for column, value in enumerate(values):
                item = QTableWidgetItem()
                if column == 0:
                    item.setText(str(value))
                elif column == 4:
                    item.setData(Qt.ItemDataRole.DisplayRole, int(value))
                else:
                    item.setData(Qt.ItemDataRole.DisplayRole, round(float(value) * 100, 2))
                    item.setToolTip(percent(float(value)))
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        self.table.setHorizontalHeaderLabels(["class", "precision %", "recall %", "F1 %", "support"])

    def clear(self) -> None:
        """No figures."""
        self.summary.setText("Run an evaluation to see its figures.")
        self.table.setRowCount(0)
