"""The evaluation workspace with real jobs: a 500-image MNIST set, the cache, Stop, a set that does not fit, Calibrate.

Every job loads its own copy of the model in its own thread; this thread only ever holds numpy results.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.evaluate.workspace import EvaluationWorkspace
from ml.assets import bundled_model_path

pytestmark = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")

JOB_TIMEOUT_MS = 180_000


def bundled_description(**extra) -> dict:
    """What the model thread says about the bundled model (the keys the workspace reads)."""
    description = {
        "source_path": str(bundled_model_path()),
        "display_name": "digitlab-best",
        "temperature": None,
        "evaluation_sets": ["mnist-test", "digits-test", "folder"],
        "previous_source_path": None,
        "previous_name": None,
        "previous_temperature": None,
    }
    description.update(extra)
    return description


@pytest.fixture
def workspace(qtbot, settings):
    window = EvaluationWorkspace(settings)
    qtbot.addWidget(window)
    window.image_limit = 500
    window.set_model(bundled_description())
    yield window
    assert window.runner.shutdown(30_000)


def run_and_wait(qtbot, workspace, start=None) -> None:
    with qtbot.waitSignal(workspace.runner.running_changed, timeout=5_000, check_params_cb=lambda running: running):
        (start or workspace.run_evaluation)()
    with qtbot.waitSignal(workspace.runner.running_changed, timeout=JOB_TIMEOUT_MS):
        pass


def test_an_evaluation_fills_every_tab_and_a_second_run_comes_from_the_cache(qtbot, workspace):
    run_and_wait(qtbot, workspace)
    assert workspace.message_label.text() == ""
    evaluation = workspace.result.payload["evaluation"]
    confusion = workspace.matrix.confusion
    assert confusion.sum() == 500 and np.trace(confusion) == round(evaluation.report.accuracy * 500)
    assert "on 500 images" in workspace.numbers.summary.text()
    assert workspace.numbers.table.rowCount() == 10
    errors = int(np.count_nonzero(evaluation.labels != evaluation.predictions))
    assert workspace.mistakes.gallery.count() == errors
    assert workspace.calibration.ece_label.text().startswith("ECE ")
    assert workspace.calibration.calibrate_button.isEnabled()

    workspace.show_cell(7, 7)
    sevens = workspace.cell_gallery.dataset_indices()
    assert len(sevens) == confusion[7, 7] and all(evaluation.labels[index] == 7 for index in sevens)
    confidence = evaluation.confidence[sevens]
    assert np.all(np.diff(confidence) <= 0)  # most confident first

    started = workspace.runner.jobs_started
    workspace.matrix.set_confusion(np.zeros((0, 0), dtype=np.int64), [])
    workspace.run_evaluation()
    assert workspace.runner.jobs_started == started and not workspace.runner.is_running
    assert workspace.matrix.confusion.sum() == 500
    assert "from the cache" in workspace.message_label.text()


def test_stop_ends_a_run_cleanly_and_keeps_nothing(qtbot, workspace):
    workspace.image_limit = None  # all 10,000 images: long enough to stop
    with qtbot.waitSignal(workspace.runner.progress, timeout=JOB_TIMEOUT_MS):
        workspace.run_evaluation()
    assert workspace.stop_button.isEnabled() and not workspace.run_button.isEnabled()
    with qtbot.waitSignal(workspace.runner.stopped, timeout=60_000):
        workspace.stop_button.click()
    qtbot.waitUntil(lambda: not workspace.runner.is_running, timeout=10_000)
    assert workspace.runner.shutdown(10_000)
    assert len(workspace.runner.cache) == 0 and workspace.result is None
    assert workspace.message_label.text() == "Stopped; nothing of that run was kept."
    assert workspace.run_button.isEnabled() and not workspace.stop_button.isEnabled()


def test_a_folder_whose_classes_the_model_does_not_score_gets_a_clear_message(qtbot, workspace, shape_folder):
    with qtbot.waitSignal(workspace.runner.failed, timeout=JOB_TIMEOUT_MS) as failed:
        workspace.set_folder(str(shape_folder))
        workspace.run_evaluation()
    qtbot.waitUntil(lambda: not workspace.runner.is_running, timeout=10_000)
    message = failed.args[0]
    assert "labels outside digitlab-best's classes" in message and "circle" in message
    assert "Traceback" not in message
    assert workspace.message_label.text() == message and workspace.result is None


def test_sets_that_no_longer_fit_the_model_are_not_offered(qtbot, workspace):
    assert workspace.set_box.currentData() == "mnist-test"
    workspace.set_model(bundled_description(display_name="shapes", evaluation_sets=["folder"]))
    assert [workspace.set_box.itemData(i) for i in range(workspace.set_box.count())] == ["folder"]
    assert "MNIST test (10,000 images) does not fit shapes" in workspace.message_label.text()


def test_calibrate_fits_a_temperature_on_validation_and_shows_the_ece_after(qtbot, workspace):
    run_and_wait(qtbot, workspace)
    with qtbot.waitSignal(workspace.calibration_fitted, timeout=JOB_TIMEOUT_MS) as fitted:
        workspace.calibration.calibrate_button.click()
    qtbot.waitUntil(lambda: not workspace.runner.is_running, timeout=10_000)
    path, temperature, record = fitted.args
    assert path == str(bundled_model_path()) and 0.2 < temperature < 5 and record["split"] == "validation"
    assert "Stored in the model" in workspace.calibration.status_label.text()
    workspace.set_model(bundled_description(temperature=temperature))  # as the model thread answers
    report = workspace.result.payload["evaluation"].report
    assert report.temperature == temperature and report.ece_calibrated is not None
    assert "after temperature scaling" in workspace.calibration.ece_label.text()
