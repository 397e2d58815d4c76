"""Model versions: a taught version is saved and listed, any version can be switched back to, deleting is safe."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ml.errors import ModelFileError
from ml.models.files import LoadedModel, load_model, save_model
from ml.models.metadata import ModelMetadata
from ml.teach.versions import VersionStore


def _model(fill: float) -> keras.Model:
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    model.set_weights([np.full(w.shape, fill, np.float32) for w in model.get_weights()])
    return model


RECORD = {
    "samples_per_class": {"3": 4, "7": 2},
    "samples_before": 0.5,
    "samples_after": 1.0,
    "test_before": 0.99,
    "test_after": 0.989,
}


def test_versions_can_be_switched_back_after_a_restart(tmp_path):
    original_path = save_model(_model(0.0), tmp_path / "mine.keras", ModelMetadata())
    store = VersionStore(tmp_path / "versions")
    original = store.remember_original(original_path, "mine")
    taught = store.add_taught(LoadedModel(_model(0.5), ModelMetadata(), None, True), original, RECORD)
    assert store.active == taught.id and taught.parent == original.id
    assert "6 samples" in taught.summary() and "50.0 % → 100.0 %" in taught.summary()

    reopened = VersionStore(tmp_path / "versions")
    assert [v.id for v in reopened.versions] == [original.id, taught.id] and reopened.active == taught.id
    assert float(load_model(reopened.get(taught.id).path).model.get_weights()[0][0, 0]) == 0.5
    reopened.set_active(original.id)
    back = load_model(VersionStore(tmp_path / "versions").get(original.id).path)
    assert float(back.model.get_weights()[0][0, 0]) == 0.0
    assert store.remember_original(original_path, "mine").id == original.id  # listed once


def test_the_active_version_cannot_be_deleted_and_an_original_file_is_never_deleted(tmp_path):
    original_path = save_model(_model(0.0), tmp_path / "mine.keras", ModelMetadata())
    store = VersionStore(tmp_path / "versions")
    original = store.remember_original(original_path, "mine")
    first = store.add_taught(LoadedModel(_model(0.1), ModelMetadata(), None, True), original, RECORD)
    second = store.add_taught(LoadedModel(_model(0.2), ModelMetadata(), None, True), first, RECORD)
    with pytest.raises(ModelFileError, match="active"):
        store.delete(second.id)
    store.delete(first.id)
    assert not (tmp_path / "versions" / f"{first.id}.keras").exists()
    assert VersionStore(tmp_path / "versions").get(second.id).parent == original.id
    store.set_active(second.id)
    store.delete(original.id)
    assert original_path.exists()


def test_a_runs_unsaved_model_is_kept_as_a_copy_that_outlives_the_pruned_cache(tmp_path):
    (tmp_path / "trained").mkdir()
    cached = save_model(_model(0.3), tmp_path / "trained" / "fast-20261207.keras", ModelMetadata())
    store = VersionStore(tmp_path / "versions")
    original = store.remember_original(cached, "trained fast · mnist · 98.1 %", keep_copy=True)
    taught = store.add_taught(LoadedModel(_model(0.5), ModelMetadata(), None, True), original, RECORD)
    cached.unlink()  # the trained-models cache keeps only the newest runs
    reopened = VersionStore(tmp_path / "versions")
    kept = reopened.get(original.id)
    assert kept.is_original and kept.source == str(cached.resolve())
    assert float(load_model(kept.path).model.get_weights()[0][0, 0]) == pytest.approx(0.3)
    assert reopened.find_path(cached).id == original.id  # taught again from the same run: listed once
    reopened.set_active(taught.id)
    reopened.delete(original.id)  # the copy is the store's own, so it goes with its entry
    assert not (tmp_path / "versions" / f"{original.id}.keras").exists()
    assert not reopened.get(taught.id).is_original  # still a taught version (its record shown, its file owned)


def test_a_broken_history_file_is_refused_and_left_alone(tmp_path):
    (tmp_path / "versions.json").write_text("[", encoding="utf-8")
    with pytest.raises(ModelFileError, match="history"):
        VersionStore(tmp_path)
    assert (tmp_path / "versions.json").read_text(encoding="utf-8") == "["


def test_a_versions_file_is_named_as_history_names_it_and_any_other_file_is_not(tmp_path):
    from ml.teach.versions import version_name

    original_path = save_model(_model(0.0), tmp_path / "mine.keras", ModelMetadata())
    store = VersionStore(tmp_path / "versions")
    original = store.remember_original(original_path, "mine")
    taught = store.add_taught(LoadedModel(_model(0.5), ModelMetadata(), None, True), original, RECORD)
    assert version_name(taught.path, tmp_path / "versions") == "mine · taught 1"
    assert version_name(original_path, tmp_path / "versions") is None  # the user's own file keeps its own name
    (tmp_path / "versions" / "versions.json").write_text("{broken")
    assert version_name(taught.path, tmp_path / "versions") is None  # an unreadable history names nothing


def test_a_version_taught_after_an_earlier_one_was_deleted_gets_a_name_of_its_own(tmp_path):
    original_path = save_model(_model(0.0), tmp_path / "mine.keras", ModelMetadata())
    store = VersionStore(tmp_path / "versions")
    original = store.remember_original(original_path, "mine")
    first = store.add_taught(LoadedModel(_model(0.1), ModelMetadata(), None, True), original, RECORD)
    second = store.add_taught(LoadedModel(_model(0.2), ModelMetadata(), None, True), first, RECORD)
    assert (first.name, second.name) == ("mine · taught 1", "mine · taught 2")
    store.delete(first.id)
    third = store.add_taught(LoadedModel(_model(0.3), ModelMetadata(), None, True), second, RECORD)
    assert third.name == "mine · taught 3"  # the count of those kept would name it "taught 2" again


def test_a_taught_version_stays_taught_when_its_original_is_deleted(tmp_path):
    original_path = save_model(_model(0.0), tmp_path / "mine.keras", ModelMetadata())
    store = VersionStore(tmp_path / "versions")
    original = store.remember_original(original_path, "mine")
    first = store.add_taught(LoadedModel(_model(0.1), ModelMetadata(), None, True), original, RECORD)
    second = store.add_taught(LoadedModel(_model(0.2), ModelMetadata(), None, True), first, RECORD)
    store.delete(original.id)
    reopened = VersionStore(tmp_path / "versions")
    kept = reopened.get(first.id)
    assert not kept.is_original and "6 samples" in kept.summary()  # History still shows what the teach measured
    assert reopened.get(second.id).parent == first.id
    reopened.delete(first.id)  # a taught version's file is deleted with it, not left behind as "a file you opened"
    assert not (tmp_path / "versions" / f"{first.id}.keras").exists() and original_path.exists()
    third = reopened.add_taught(LoadedModel(_model(0.3), ModelMetadata(), None, True), second, RECORD)
    assert third.name == "mine · taught 3"


def test_a_history_that_cannot_be_written_switches_and_deletes_nothing(tmp_path, monkeypatch):
    import ml.teach.versions as versions_module

    store = VersionStore(tmp_path / "versions")
    mine = store.remember_original(save_model(_model(0.0), tmp_path / "mine.keras", ModelMetadata()), "mine")
    run = store.remember_original(save_model(_model(0.1), tmp_path / "run.keras", ModelMetadata()), "run", True)
    store.set_active(mine.id)

    def unwritable(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(versions_module, "write_bytes_atomically", unwritable)
    with pytest.raises(OSError):
        store.set_active(run.id)
    assert store.active == mine.id  # not marked here either
    with pytest.raises(OSError):
        store.delete(run.id)
    assert [v.id for v in store.versions] == [mine.id, run.id]  # still listed, and its copy kept
    assert (tmp_path / "versions" / f"{run.id}.keras").exists()
    monkeypatch.undo()
    reopened = VersionStore(tmp_path / "versions")
    assert reopened.active == mine.id and len(reopened.versions) == 2
