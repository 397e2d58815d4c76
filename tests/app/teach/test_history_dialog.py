"""Model ▸ History: every version's figures in view, without scrolling sideways."""

from __future__ import annotations

from app.teach.history_dialog import HistoryDialog
from ml.teach.versions import ModelVersion

RECORD = {
    "date": "2026-12-07T20:11",
    "samples_per_class": {str(digit): 5 for digit in range(10)},
    "samples_before": 0.9,
    "samples_after": 1.0,
    "test_before": 0.997,
    "test_after": 0.995,
}


class Versions:
    """What the dialog reads of a VersionStore: an original and one taught version."""

    def __init__(self) -> None:
        self.versions = [
            ModelVersion("a", "/models/digitlab-best.keras", "digitlab-best", "2026-12-07T20:00"),
            ModelVersion("b", "/versions/b.keras", "digitlab-best · taught 1", "2026-12-07T20:11", "a", RECORD),
        ]

    def find_path(self, path):
        return next((version for version in self.versions if version.path == path), None)

    def get(self, version_id):
        return next(version for version in self.versions if version.id == version_id)


def test_a_taught_versions_test_set_figures_are_in_view_without_scrolling_sideways(qtbot):
    dialog = HistoryDialog(Versions())
    qtbot.addWidget(dialog)
    dialog.set_active_path("/versions/b.keras")
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.table.item(0, 4).text() == "99.7 → 99.5 %"
    table = dialog.table
    assert table.horizontalScrollBar().maximum() == 0  # nothing hides to the right
    for column in (3, 4):  # your samples, the test set: whole
        assert table.columnWidth(column) >= table.sizeHintForColumn(column)
        assert table.columnViewportPosition(column) + table.columnWidth(column) <= table.viewport().width()
    assert "0:5, 1:5" in table.item(0, 2).toolTip()  # the samples per class, when the column ends in "…"
