"""ParameterCounter: preset parameter counts built in a worker thread, remembered, for the panel's dataset shape."""

from __future__ import annotations

import pytest

from app.train.parameter_counter import ParameterCounter, folder_class_count, model_input
from ml.models.presets import PRESETS


@pytest.fixture
def counter(qtbot):
    instance = ParameterCounter()
    yield instance
    assert instance.shutdown(30_000)


def test_counts_match_the_presets_and_are_computed_off_the_gui_thread(qtbot, counter, monkeypatch):
    import threading

    import ml.models.presets

    threads: list[str] = []
    original = ml.models.presets.parameter_count

    def remember_thread(*args):
        threads.append(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(ml.models.presets, "parameter_count", remember_thread)
    keys = [("lenet5x5", (28, 28, 1), 10), ("mlp-digits", (64,), 10), ("cnn3x3", (28, 28, 1), 10)]
    counter.request(keys)
    assert counter.is_counting
    qtbot.waitUntil(lambda: all(counter.is_known(key) for key in keys), timeout=120_000)
    assert len(threads) == 3 and threading.main_thread().name not in threads
    assert counter.parameters(keys[0]) == 3_274_634 == PRESETS["lenet5x5"].parameter_count()
    assert counter.parameters(keys[1]) == PRESETS["mlp-digits"].parameter_count()
    assert counter.parameters(keys[2]) == 1_199_882
    qtbot.waitUntil(lambda: not counter.is_counting)
    counter.request(keys)  # all known: nothing to build
    assert not counter.is_counting


def test_a_preset_that_cannot_take_the_input_has_no_count(qtbot, counter):
    key = ("vgg", (64,), 10)  # a VGG needs images
    with qtbot.waitSignal(counter.counted, timeout=120_000) as counted:
        counter.request([key])
    assert counted.args == ["vgg"] and counter.is_known(key) and counter.parameters(key) is None


def test_model_input_follows_the_dataset_choice(tmp_path):
    assert model_input("cnn3x3", "mnist") == ((28, 28, 1), 10)
    assert model_input("mlp", "fashion-mnist") == ((28, 28, 1), 10)
    assert model_input("mlp-digits", "sklearn-digits") == ((64,), 10)
    assert model_input("mlp-digits", "mnist") == ((784,), 10)
    for name in ("cat", "dog", "fish"):
        (tmp_path / name).mkdir()
    assert model_input("vgg", "folder", str(tmp_path), 48, "rgb") == ((48, 48, 3), 3)
    assert model_input("vgg", "folder", str(tmp_path)) == ((32, 32, 1), 3)
    assert folder_class_count(str(tmp_path / "missing")) == 10


def test_shutdown_stops_between_models(qtbot):
    counter = ParameterCounter()
    counter.request([(name, (28, 28, 1), 10) for name in ("cnn3x3", "lenet5x5", "vgg", "best")])
    assert counter.shutdown(30_000)
    assert not counter.is_counting
    counter.request([("cnn3x3", (28, 28, 1), 7)])  # a stopped counter starts nothing
    assert not counter.is_counting


def test_the_panels_fixed_inputs_are_all_shipped_so_nothing_is_built_at_launch():
    from ml.models.preset_parameter_counts import KNOWN_PARAMETER_COUNTS

    for dataset in ("mnist", "fashion-mnist", "sklearn-digits"):
        for name in PRESETS:
            shape, classes = model_input(name, dataset)
            assert (name, tuple(shape), classes) in KNOWN_PARAMETER_COUNTS
