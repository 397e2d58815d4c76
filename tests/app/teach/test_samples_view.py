"""My samples: deleting or moving drawings that cannot be written says so in plain words, with no traceback."""

from __future__ import annotations

import numpy as np

from app.teach.samples_view import SamplesView
from ml.teach.samples import SampleStore


def _view_with_two_sevens(qtbot, tmp_path) -> SamplesView:
    store = SampleStore(tmp_path / "samples")
    for _ in range(2):
        store.add("7", np.eye(28, dtype=np.float32))
    view = SamplesView(store)
    qtbot.addWidget(view)
    view.gallery.selectAll()
    return view


def test_a_delete_that_cannot_write_the_index_is_reported_and_the_gallery_is_unchanged(qtbot, tmp_path, monkeypatch):
    view = _view_with_two_sevens(qtbot, tmp_path)

    def refuse(*_args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("ml.teach.samples.write_bytes_atomically", refuse)
    with qtbot.waitSignal(view.status_changed) as said:
        view.delete_selected()
    assert "Could not delete" in said.args[0] and "Permission denied" in said.args[0]
    assert view.gallery.count() == 2 and len(SampleStore(tmp_path / "samples")) == 2
    view.gallery.selectAll()
    with qtbot.waitSignal(view.status_changed) as said:
        view.move_selected("1")
    assert "Could not move" in said.args[0]
    assert SampleStore(tmp_path / "samples").counts() == {"7": 2}
