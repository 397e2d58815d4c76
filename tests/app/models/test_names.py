"""Names of models in the window: two runs of one preset are told apart; a continued model is named after itself."""

from __future__ import annotations

from datetime import datetime

from app.models.names import file_name_for, format_model_status, source_name, trained_model_name
from ml.models.metadata import ModelMetadata


def run_metadata(**changes) -> ModelMetadata:
    values = {
        "preset": "fast",
        "dataset": "mnist",
        "test_accuracy": 0.9871,
        "created": "2026-12-03T09:41:07+00:00",
        "hyperparameters": {"preset": "fast", "fine_tune_from": None},
    }
    return ModelMetadata(**{**values, **changes})


def local_clock(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone().strftime("%H:%M")


def test_a_runs_model_is_named_by_preset_dataset_accuracy_and_time():
    name = trained_model_name(run_metadata(), "sequential")
    assert name == f"trained fast · mnist · 98.7 % · {local_clock('2026-12-03T09:41:07+00:00')}"


def test_two_runs_of_one_preset_get_different_names():
    first = trained_model_name(run_metadata(), "m")
    later = trained_model_name(run_metadata(created="2026-12-03T09:58:30+00:00"), "m")
    worse = trained_model_name(run_metadata(test_accuracy=0.2743), "m")
    assert len({first, later, worse}) == 3


def test_a_continued_model_is_named_after_the_model_it_continues_not_the_picker_preset():
    metadata = run_metadata(
        preset=None,  # a legacy model records no preset; the picker said mlp-digits
        hyperparameters={"preset": "mlp-digits", "fine_tune_from": "/models/legacy-logits.h5"},
    )
    name = trained_model_name(metadata, "sequential")
    assert name.startswith("continued legacy-logits · mnist · ")
    assert "mlp-digits" not in name


def test_a_cache_files_time_stamp_is_not_part_of_the_source_name():
    assert source_name("/cache/trained/fast-20261203-094107-123456.keras") == "fast"
    assert source_name("/models/digitlab-best.keras") == "digitlab-best"


def test_an_image_folder_dataset_shows_the_folder_name_only():
    assert " · shapes · " in trained_model_name(run_metadata(dataset="/home/me/data/shapes"), "m")


def test_file_names_made_from_model_names_are_plain():
    assert file_name_for("trained fast · mnist · 98.7 % · 09:41") == "trained-fast-mnist-98.7-09-41"
    assert file_name_for("digitlab-best") == "digitlab-best"
    assert file_name_for(" · ") == "model"


def test_the_status_line_does_not_repeat_a_runs_accuracy():
    saved = {"display_name": "digitlab-best", "test_accuracy": 0.997, "unsaved": False}
    assert format_model_status(saved) == "digitlab-best · 99.7 % test accuracy"
    unsaved = {"display_name": "trained fast · mnist · 98.7 % · 09:41", "test_accuracy": 0.987, "unsaved": True}
    assert format_model_status(unsaved) == "trained fast · mnist · 98.7 % · 09:41 · not saved"
