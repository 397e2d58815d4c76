"""The personal dataset: saved with the right label, survives a restart, undo, move, import and export."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ml.errors import DatasetError
from ml.teach.samples import SampleStore, read_class_folder


def _digit(value: float = 1.0) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = value
    return image


def _canvas() -> np.ndarray:
    canvas = np.zeros((280, 280), np.float32)
    canvas[60:220, 120:160] = 1.0
    return canvas


def test_a_correction_is_saved_with_its_label_and_survives_a_restart(tmp_path):
    store = SampleStore(tmp_path)
    sample = store.add("7", _digit(), _canvas(), source="correction")
    reopened = SampleStore(tmp_path)
    assert [(s.id, s.label, s.source) for s in reopened.samples] == [(sample.id, "7", "correction")]
    assert reopened.counts() == {"7": 1}
    np.testing.assert_allclose(reopened.digit_image(reopened.samples[0]), _digit(), atol=1 / 255)
    with Image.open(tmp_path / sample.canvas_file) as canvas:
        assert canvas.size == (280, 280)


def test_undo_removes_the_sample_and_its_images(tmp_path):
    store = SampleStore(tmp_path)
    kept = store.add("1", _digit())
    undone = store.add("7", _digit(), _canvas())
    store.remove(undone.id)
    assert [s.id for s in SampleStore(tmp_path).samples] == [kept.id]
    assert not (tmp_path / undone.digit_file).exists() and not (tmp_path / undone.canvas_file).exists()
    with pytest.raises(KeyError):
        store.remove(undone.id)


def test_move_changes_the_class_and_counts(tmp_path):
    store = SampleStore(tmp_path)
    sample = store.add("1", _digit())
    store.add("1", _digit())
    store.move(sample.id, "4")
    assert SampleStore(tmp_path).counts() == {"1": 1, "4": 1}


def test_the_index_is_written_atomically_and_a_broken_one_is_refused_not_overwritten(tmp_path):
    store = SampleStore(tmp_path)
    store.add("3", _digit())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    (tmp_path / "index.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DatasetError, match="index"):
        SampleStore(tmp_path)
    assert (tmp_path / "index.json").read_text(encoding="utf-8") == "{not json"


def test_arrays_map_labels_to_the_models_classes_and_count_unknown_and_unreadable_ones(tmp_path):
    store = SampleStore(tmp_path)
    store.add("2", _digit())
    store.add("cat", _digit())
    broken = store.add("5", _digit())
    (tmp_path / broken.digit_file).write_bytes(b"<svg onload=alert(1)>")
    images, labels, unknown, unreadable = store.arrays([str(d) for d in range(10)])
    assert images.shape == (1, 28, 28) and labels.tolist() == [2] and unknown == ["cat"] and unreadable == 1


def test_export_then_import_round_trips_and_unreadable_files_are_skipped_and_counted(tmp_path):
    store = SampleStore(tmp_path / "store")
    store.add("5", _digit(), _canvas())
    store.add("8", _digit())
    exported = tmp_path / "exported"
    assert store.export_folder(exported) == 2
    assert sorted(p.parent.name for p in exported.rglob("*.png")) == ["5", "8"]
    (exported / "5" / "broken.png").write_bytes(b"\x89PNG not really")
    (exported / "8" / "script.png").write_bytes(b"#!/bin/sh\necho hi\n")
    other = SampleStore(tmp_path / "other")
    report = other.import_folder(exported)
    assert (report.added, report.skipped) == (2, 2)
    assert "skipped 2" in report.message()
    assert other.counts() == {"5": 1, "8": 1}


def test_an_empty_folder_is_refused_with_a_clear_message(tmp_path):
    (tmp_path / "3").mkdir()
    with pytest.raises(DatasetError, match="no readable images"):
        read_class_folder(tmp_path)
    with pytest.raises(DatasetError, match="no class subfolders"):
        read_class_folder(tmp_path / "3")


def test_the_index_lists_every_sample_with_its_label(tmp_path):
    store = SampleStore(tmp_path)
    store.add("0", _digit())
    data = json.loads((tmp_path / "index.json").read_text(encoding="utf-8"))
    assert [entry["label"] for entry in data["samples"]] == ["0"]


def test_a_missing_folder_is_named_missing_not_a_file(tmp_path):
    with pytest.raises(DatasetError, match="^There is no folder at .*nonexist"):
        read_class_folder(tmp_path / "nonexist")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(DatasetError, match="file.png is not a folder"):
        read_class_folder(tmp_path / "file.png")


def test_a_correction_made_while_an_import_writes_keeps_both_and_an_import_keeps_the_correction(tmp_path):
    window = SampleStore(tmp_path)  # the window's store; an import runs through a store of its own (its thread)
    before = window.add("1", _digit())
    importing = SampleStore(tmp_path)
    imported = importing.add("4", _digit(0.5), source="imported")
    corrected = window.add("7", _digit(), _canvas(), source="correction")  # the window has not re-read the index
    importing.add("4", _digit(0.6), source="imported")
    ids = {sample.id for sample in SampleStore(tmp_path).samples}
    assert {before.id, imported.id, corrected.id} <= ids and len(ids) == 4
    window.remove(before.id)  # deleting in My samples keeps what the import added meanwhile
    assert SampleStore(tmp_path).counts() == {"4": 2, "7": 1}
