"""Model ▸ History: every version's figures in view, without scrolling sideways."""

from __future__ import annotations

from pathlib import Path

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


def test_a_versions_date_is_shown_in_the_users_time_zone_not_utc(monkeypatch):
    import time

    from app.teach.history_dialog import version_row

    taught = ModelVersion("b", "/v/b.keras", "mine · taught 1", "2026-12-07T22:42:05+00:00", "a", {**RECORD})
    taught.record["date"] = "2026-12-07T22:42:05+00:00"  # what the teach records: UTC, with its offset
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9, no summer time
    time.tzset()
    try:
        assert version_row(taught, False)[1] == "2026-12-08 07:42"
        original = ModelVersion("a", "/m/mine.keras", "mine", "2026-12-07T22:40:00+00:00")
        assert version_row(original, False)[1] == "2026-12-08 07:40"
        assert version_row(Versions().versions[1], False)[1] == "2026-12-07 20:11"  # no offset: shown as it is
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_samples_column_counts_the_held_back_samples_too():
    from app.teach.history_dialog import version_row

    record = {**RECORD, "samples_per_class": {str(digit): 3 for digit in range(10)}, "held_back": 10}
    taught = ModelVersion("b", "/v/b.keras", "mine · taught 1", "2026-12-07T20:11", "a", record)
    assert version_row(taught, False)[2].startswith("40: 30 taught, 10 held back (0:3, 1:3,")  # My samples had 40
    no_held = ModelVersion("c", "/v/c.keras", "mine · taught 2", "2026-12-07T20:12", "a", {**RECORD, "held_back": 0})
    assert version_row(no_held, False)[2].startswith("50 (0:5, 1:5,")


def test_deleting_an_original_kept_as_historys_own_copy_says_the_copy_goes(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    versions = Versions()
    kept = ModelVersion("c", "/versions/c.keras", "trained fast · 17:25", "2026-12-07T20:20", source="/cache/run.keras")
    versions.versions.append(kept)
    dialog = HistoryDialog(versions)
    qtbot.addWidget(dialog)
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda _parent, _title, text: asked.append(text))
    dialog.table.selectRow(0)  # newest first: the copy
    dialog.delete_selected()
    dialog.table.selectRow(2)  # the user's own file
    dialog.delete_selected()
    assert "its file is kept" not in asked[0] and "copy" in asked[0]
    assert "its file is kept" in asked[1]


def _two_versions(tmp_path):
    """A real history: the user's model (active) and a run's model History keeps a copy of."""
    from ml.teach.versions import VersionStore

    for name in ("mine", "run"):
        (tmp_path / f"{name}.keras").write_bytes(b"a model")
    store = VersionStore(tmp_path / "versions")
    mine = store.remember_original(tmp_path / "mine.keras", "mine")
    run = store.remember_original(tmp_path / "run.keras", "trained fast · 17:25", keep_copy=True)
    store.set_active(mine.id)
    return store, mine, run


def test_switching_marks_the_version_active_only_once_the_window_has_loaded_it(qtbot, tmp_path):
    from ml.teach.versions import VersionStore

    store, mine, run = _two_versions(tmp_path)
    dialog = HistoryDialog(store)
    qtbot.addWidget(dialog)
    dialog.set_active_path(mine.path)
    dialog.table.selectRow(0)  # newest first: the run's model
    with qtbot.waitSignal(dialog.switch_requested) as switched:
        dialog.switch_button.click()
    assert switched.args == [run.path, run.name]  # the window loads it...
    assert VersionStore(tmp_path / "versions").active == mine.id  # ...and a load that fails leaves the mark as it was
    assert store.active == mine.id


def test_an_unwritable_history_says_so_and_neither_switches_nor_deletes(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    import ml.teach.versions as versions_module
    from ml.teach.versions import VersionStore

    store, mine, run = _two_versions(tmp_path)
    dialog = HistoryDialog(store)
    qtbot.addWidget(dialog)
    dialog.set_active_path(mine.path)

    def unwritable(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    warned: list[str] = []
    monkeypatch.setattr(versions_module, "write_bytes_atomically", unwritable)
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: warned.append(text))
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    switched: list[tuple] = []
    dialog.switch_requested.connect(lambda *args: switched.append(args))
    dialog.table.selectRow(0)
    dialog.switch_button.click()
    assert switched == []  # not loaded: History could not have marked it
    assert len(warned) == 1 and "Cannot switch to trained fast · 17:25" in warned[0]
    assert "cannot be written" in warned[0] and "Permission denied" in warned[0] and "Nothing was changed" in warned[0]

    dialog.table.selectRow(0)
    dialog.delete_button.click()
    assert len(warned) == 2 and "Cannot delete trained fast · 17:25" in warned[1] and "Nothing was changed" in warned[1]
    assert dialog.table.rowCount() == 2 and "trained fast" in dialog.table.item(0, 0).text()  # still listed
    assert Path(run.path).exists()  # History's copy is kept
    monkeypatch.undo()
    reopened = VersionStore(tmp_path / "versions")
    assert reopened.active == mine.id and [v.id for v in reopened.versions] == [mine.id, run.id]
