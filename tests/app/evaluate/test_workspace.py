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
    assert not workspace.progress_bar.isHidden()  # shown only while a job runs, not as an empty box
    with qtbot.waitSignal(workspace.runner.stopped, timeout=60_000):
        workspace.stop_button.click()
    qtbot.waitUntil(lambda: not workspace.runner.is_running, timeout=10_000)
    assert workspace.runner.shutdown(10_000)
    assert len(workspace.runner.cache) == 0 and workspace.result is None
    assert workspace.message_label.text() == "Stopped; nothing of that run was kept."
    assert workspace.run_button.isEnabled() and not workspace.stop_button.isEnabled()
    assert workspace.progress_bar.isHidden()


def test_a_folder_whose_classes_the_model_does_not_score_gets_a_clear_message(qtbot, workspace, shape_folder):
    with qtbot.waitSignal(workspace.runner.failed, timeout=JOB_TIMEOUT_MS) as failed:
        workspace.set_folder(str(shape_folder))
        workspace.run_evaluation()
    qtbot.waitUntil(lambda: not workspace.runner.is_running, timeout=10_000)
    message = failed.args[0]
    assert "labels outside digitlab-best's classes" in message and "circle" in message
    assert "Traceback" not in message
    assert workspace.message_label.text() == message and workspace.result is None


def test_the_workspace_fits_a_small_screen_whatever_the_folder_path(workspace, tmp_path):
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 12)
    deep.mkdir(parents=True)
    workspace.set_folder(str(deep))
    assert workspace.minimumSizeHint().width() <= 1024


def test_the_workspace_opens_within_the_screens_free_area(workspace):
    """It opened at 1180x820 whatever the screen: on a 1366x768 laptop its bottom (the gallery, Save report) was off
    the screen. The offscreen screen is 800x600."""
    free = workspace.screen().availableGeometry()
    assert workspace.width() <= free.width() and workspace.height() <= free.height()


def test_sets_that_no_longer_fit_the_model_are_not_offered(qtbot, workspace):
    assert workspace.set_box.currentData() == "mnist-test"
    workspace.set_model(bundled_description(display_name="shapes", evaluation_sets=["folder"]))
    assert [workspace.set_box.itemData(i) for i in range(workspace.set_box.count())] == ["folder"]
    assert "MNIST test (10,000 images) does not fit shapes" in workspace.message_label.text()


def test_the_set_a_model_did_not_fit_comes_back_for_the_next_model_and_the_old_warning_goes(workspace):
    """Opening a 2-class model moved the set to "An image folder…" with a warning naming it; opening a digit
    classifier next kept both: the warning about the other model and the folder, instead of MNIST test."""
    workspace.set_model(
        bundled_description(display_name="two_class", source_path="/models/two_class.keras", evaluation_sets=["folder"])
    )
    assert "does not fit two_class" in workspace.message_label.text()

    workspace.set_model(bundled_description(display_name="mobilenet32", source_path="/models/mobilenet32.keras"))

    assert workspace.set_box.currentData() == "mnist-test"
    assert "two_class" not in workspace.message_label.text() and workspace.message_label.isHidden()


def test_a_workspace_opened_on_a_model_of_its_own_classes_offers_mnist_to_the_next_digit_model(qtbot, settings):
    """Evaluate opened with a 2-class model shows "An image folder…", its only set; the next model, a digit
    classifier, was still offered the folder instead of MNIST test."""
    window = EvaluationWorkspace(settings)
    qtbot.addWidget(window)
    window.set_model(
        bundled_description(display_name="two_class", source_path="/models/two_class.keras", evaluation_sets=["folder"])
    )
    assert window.set_box.currentData() == "folder"

    window.set_model(bundled_description(display_name="nested", source_path="/models/nested.keras"))

    assert window.set_box.currentData() == "mnist-test"


def test_an_image_folder_the_user_chose_stays_chosen_for_the_next_model(workspace, tmp_path):
    workspace.set_folder(str(tmp_path))
    workspace.set_model(bundled_description(display_name="nested", source_path="/models/nested.keras"))
    assert workspace.set_box.currentData() == "folder"
    assert workspace.set_box.currentText() == f"Image folder: {tmp_path}"


def test_choosing_an_image_folder_does_not_show_the_last_sets_results_under_its_name(workspace, tmp_path):
    """Browse… to a folder the model does not fit: the set box read "Image folder: …/badfolder" while every tab (and
    Save report…) still showed MNIST test's evaluation."""
    from types import SimpleNamespace

    from app.evaluate.worker import JobResult

    evaluation = SimpleNamespace(labels=np.array([0, 1]), predictions=np.array([0, 1]),
                                 confidence=np.array([0.9, 0.8]), class_names=["0", "1"])  # fmt: skip
    eval_set = SimpleNamespace(images=np.zeros((2, 28, 28), dtype=np.float32))
    workspace.result = JobResult(workspace.current_request(), eval_set, {"evaluation": evaluation})
    workspace.matrix.set_confusion(np.array([[1, 0], [0, 1]]), ["0", "1"])
    workspace._update_controls()
    assert workspace.report_button.isEnabled()

    workspace.set_folder(str(tmp_path))

    assert workspace.set_box.currentData() == "folder"
    assert workspace.result is None and workspace.matrix.confusion.size == 0
    assert not workspace.report_button.isEnabled()


def test_choosing_another_set_drops_the_last_sets_warning(workspace):
    """Back on MNIST test after a folder the model did not fit, its results came back under the folder's red line:
    "The image folder …/badfolder has labels outside weak's classes"."""
    workspace.show_message("The image folder /tmp/bad has labels outside digitlab-best's classes: cat.", warning=True)
    index = workspace.set_box.findData("digits-test")

    workspace.set_box.setCurrentIndex(index)
    workspace.set_box.activated.emit(index)

    assert workspace.message_label.isHidden() and "bad" not in workspace.message_label.text()


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


def test_a_refused_calibration_is_said_and_nothing_is_stored(qtbot, workspace):
    from app.evaluate.worker import JobResult
    from ml.inference.calibration import CalibrationResult

    refused = CalibrationResult(1.0, 20, "validation", 0.1, 0.1, 0.3, 0.3, "only 20 validation images (at least 100)")
    request = workspace.current_request()
    fitted = []
    workspace.calibration_fitted.connect(lambda *args: fitted.append(args))
    workspace._on_calibrated(JobResult(request, None, {"calibration": refused, "evaluation": None}))
    assert fitted == []
    assert workspace.calibration.status_label.text().startswith("Not calibrated: only 20 validation images")


def test_the_robustness_sweep_starts_from_the_plain_accuracy_and_overlays_another_model(qtbot, workspace, tmp_path):
    import shutil

    workspace.image_limit = 200
    run_and_wait(qtbot, workspace)
    accuracy = workspace.result.payload["evaluation"].report.accuracy
    run_and_wait(qtbot, workspace, workspace.robustness.sweep_button.click)
    curves = {kind: item.getData() for kind, item in workspace.robustness.active_curves.items()}
    rotation_levels, rotation_accuracy = curves["rotation"]
    assert rotation_accuracy[list(rotation_levels).index(0.0)] == pytest.approx(accuracy)
    assert rotation_accuracy.min() < accuracy  # 45° costs something
    assert "200 images, each scored as is and at 37 distortions" in workspace.robustness.status_label.text()

    copy = tmp_path / "copy-of-best.keras"
    shutil.copy(bundled_model_path(), copy)
    from app.evaluate.worker import model_ref

    run_and_wait(qtbot, workspace, lambda: workspace.overlay_robustness(model_ref(str(copy), "copy-of-best")))
    overlay_levels, overlay_accuracy = workspace.robustness.other_curves["rotation"].getData()
    assert np.allclose(overlay_accuracy, rotation_accuracy)  # the same weights: the same curve
    assert "copy-of-best" in workspace.robustness.legend_label.text()


def test_comparing_with_the_same_weights_finds_no_difference_in_plain_words(qtbot, workspace, tmp_path):
    import shutil

    from app.evaluate.worker import model_ref

    copy = tmp_path / "twin.keras"
    shutil.copy(bundled_model_path(), copy)
    workspace.image_limit = 300
    workspace.set_model(bundled_description(display_name="trained fast · mnist · 99.1 %"))  # not its file's stem
    run_and_wait(qtbot, workspace)
    assert "Evaluate trained fast · mnist · 99.1 % on" in workspace.windowTitle()  # not the file's stem
    assert workspace.result.payload["evaluation"].model_name == "trained fast · mnist · 99.1 %"
    started = workspace.runner.jobs_started
    run_and_wait(qtbot, workspace, lambda: workspace.compare_with(model_ref(str(copy), "twin")))
    assert workspace.runner.jobs_started == started + 1
    text = workspace.compare_view.summary.text()
    assert "they predict differently on 0" in text and "nothing tells them apart" in text
    assert workspace.compare_view.gallery.count() == 0


def test_the_map_places_every_image_and_a_click_opens_one(qtbot, workspace):
    run_and_wait(qtbot, workspace)
    run_and_wait(qtbot, workspace, lambda: workspace.run_map("pca"))
    points = workspace.map_view.scatter.data
    assert len(points) == 500 and np.isfinite(points["x"]).all()
    assert "PCA of" in workspace.map_view.status_label.text()
    spot = workspace.map_view.scatter.points()[3]
    with qtbot.waitSignal(workspace.image_chosen) as chosen:
        workspace.map_view._on_clicked(workspace.map_view.scatter, [spot], None)
    image, words = chosen.args
    assert np.array_equal(image, workspace.map_result.eval_set.images[3]) and words.startswith("MNIST test #3: true ")


def test_the_mistakes_filter_by_true_and_predicted_class(qtbot, workspace):
    run_and_wait(qtbot, workspace)
    evaluation = workspace.result.payload["evaluation"]
    wrong = np.flatnonzero(evaluation.labels != evaluation.predictions)
    true_class = int(evaluation.labels[wrong[0]])
    workspace.mistakes.set_filters(true_class, None)
    shown = workspace.mistakes.gallery.dataset_indices()
    assert shown and all(evaluation.labels[i] == true_class and evaluation.predictions[i] != true_class for i in shown)
    workspace.mistakes.set_filters(None, None)
    assert workspace.mistakes.gallery.count() == len(wrong)


def test_save_report_writes_the_pictures_and_the_page_in_a_worker(qtbot, workspace, tmp_path):
    from PIL import Image

    assert not workspace.report_button.isEnabled()  # nothing evaluated yet
    workspace.image_limit = 200
    run_and_wait(qtbot, workspace)
    assert workspace.report_button.isEnabled()
    started = len(workspace.runner.cache)
    run_and_wait(qtbot, workspace, lambda: workspace.save_report(str(tmp_path / "report")))
    written = sorted(path.name for path in (tmp_path / "report").iterdir())
    assert written == ["confusion.png", "index.html", "mistakes.png", "reliability.png", "robustness.png"]
    for name in [name for name in written if name.endswith(".png")]:
        with Image.open(tmp_path / "report" / name) as picture:
            picture.verify()
    assert " of 200)" in (tmp_path / "report" / "index.html").read_text()  # the 200 images judged
    assert "open index.html" in workspace.message_label.text() and len(workspace.runner.cache) == started


def test_a_report_that_cannot_be_written_says_why_and_leaves_nothing(qtbot, workspace, tmp_path):
    workspace.image_limit = 100
    run_and_wait(qtbot, workspace)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with qtbot.waitSignal(workspace.runner.failed, timeout=JOB_TIMEOUT_MS) as failed:
        workspace.save_report(str(blocker))
    assert "is a file, not a folder" in failed.args[0]
    assert blocker.read_text() == "not a folder"


def test_an_empty_folder_gets_a_clear_message(qtbot, workspace, tmp_path):
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    with qtbot.waitSignal(workspace.runner.failed, timeout=JOB_TIMEOUT_MS) as failed:
        workspace.set_folder(str(empty))
        workspace.run_evaluation()
    qtbot.waitUntil(lambda: not workspace.runner.is_running, timeout=10_000)
    assert "has no class subfolders" in failed.args[0] and workspace.message_label.text() == failed.args[0]
    assert workspace.result is None


def test_the_scikit_learn_digits_test_split_is_judged_at_the_models_size(qtbot, workspace):
    workspace.set_box.setCurrentIndex(workspace.set_box.findData("digits-test"))
    run_and_wait(qtbot, workspace)
    eval_set = workspace.result.eval_set
    assert eval_set.images.shape[1:] == (28, 28) and workspace.matrix.confusion.sum() == len(eval_set) > 0
    assert "scikit-learn" in workspace.windowTitle()


def test_hovering_a_point_of_the_map_shows_its_image(qtbot, workspace):
    workspace.image_limit = 100
    run_and_wait(qtbot, workspace)
    run_and_wait(qtbot, workspace, lambda: workspace.run_map("pca"))
    spot = workspace.map_view.scatter.points()[5]
    workspace.map_view._on_hovered(workspace.map_view.scatter, [spot], None)
    assert workspace.map_view.preview.pixmap().width() == 112
    assert workspace.map_view.preview_text.text().startswith("#5: true ")


def test_an_empty_cell_of_the_matrix_says_it_has_no_images_not_to_click_a_cell(workspace):
    from types import SimpleNamespace

    from app.evaluate.worker import JobResult

    labels, predictions = np.array([0, 0, 1, 1]), np.array([0, 0, 1, 0])
    evaluation = SimpleNamespace(
        labels=labels, predictions=predictions, confidence=np.array([0.9, 0.8, 0.7, 0.6]), class_names=["0", "1"]
    )
    eval_set = SimpleNamespace(images=np.zeros((4, 28, 28), dtype=np.float32))
    workspace.result = JobResult(workspace.current_request(), eval_set, {"evaluation": evaluation})
    workspace.matrix.set_confusion(np.array([[2, 0], [1, 1]]), ["0", "1"])

    workspace.show_cell(0, 1)  # no 0 was read as a 1
    title = workspace.cell_gallery.title.text()
    assert workspace.cell_gallery.count() == 0
    assert title == "True 0, predicted 1: 0 images (0.0 % of the 2 images of 0).\nNo images in this cell."
    workspace.show_cell(0, 0)
    assert workspace.cell_gallery.count() == 2 and "most confident first" in workspace.cell_gallery.title.text()


def test_a_second_model_of_the_same_name_is_told_apart_by_its_file(workspace, tmp_path, monkeypatch):
    from app.evaluate import workspace as workspace_module
    from app.evaluate.worker import model_ref

    export = tmp_path / "exports" / "digitlab-best.h5"  # an export of the active model, named as its file is
    monkeypatch.setattr(workspace_module, "ask_model_file", lambda *_args: model_ref(str(export), export.stem))
    assert workspace._other_model("file").name == "digitlab-best.h5"
    copy = tmp_path / "copies" / "digitlab-best.keras"
    workspace.set_model(bundled_description(previous_source_path=str(copy), previous_name="digitlab-best"))
    assert workspace._other_model("previous").name == "digitlab-best.keras"
    other = tmp_path / "other.keras"
    monkeypatch.setattr(workspace_module, "ask_model_file", lambda *_args: model_ref(str(other), other.stem))
    assert workspace._other_model("file").name == "other"  # a name of its own is kept


def test_told_apart_names_the_folder_when_the_file_name_is_the_same_too():
    from app.evaluate.choosers import told_apart
    from app.evaluate.worker import ModelRef

    same = told_apart(ModelRef("/a/runs/m.keras", "m.keras"), "m.keras")
    assert same.name == "m.keras in runs"
    assert told_apart(ModelRef("/a/m.keras", "m"), "digitlab-best").name == "m"


# ------------------------------------------------------------------ results that end after the model changed

CURVES_A = {"rotation": [(-15.0, 0.90), (0.0, 0.99), (15.0, 0.91)]}
CURVES_B = {"rotation": [(-15.0, 0.50), (0.0, 0.95), (15.0, 0.52)]}


def other_model() -> dict:
    return bundled_description(display_name="model-b", source_path="/models/model-b.keras")


def sweep_result(request, curves: dict):
    from app.evaluate.worker import JobResult

    return JobResult(request, None, {"curves": curves, "images": 1000})


def drawn(curves: dict) -> list[float]:
    _levels, accuracy = curves["rotation"].getData()
    return [] if accuracy is None else [round(float(value), 2) for value in accuracy]


def test_a_sweep_that_ends_after_the_model_changed_is_kept_for_its_model_not_drawn_over_the_next(workspace):
    """Sweep model A, open model B meanwhile and sweep it: A's late curves were drawn dashed, labelled A, over B's."""
    sweep_a = workspace.current_request("robustness")
    workspace.set_model(other_model())
    workspace.runner._on_result(sweep_result(workspace.current_request("robustness"), CURVES_B))

    workspace.runner._on_result(sweep_result(sweep_a, CURVES_A))  # A's, late

    assert drawn(workspace.robustness.active_curves) == [0.50, 0.95, 0.52]
    assert drawn(workspace.robustness.other_curves) == []
    assert "digitlab-best" not in workspace.robustness.legend_label.text()
    workspace.set_model(bundled_description())  # back to A: its sweep is there, from the cache
    started = workspace.runner.jobs_started
    workspace.run_robustness()
    assert workspace.runner.jobs_started == started and drawn(workspace.robustness.active_curves) == [0.9, 0.99, 0.91]


def test_an_overlay_is_drawn_over_the_model_it_was_asked_for_only(workspace, monkeypatch):
    from app.evaluate.worker import ModelRef

    started = []
    monkeypatch.setattr(workspace.runner, "start", lambda request: started.append(request) or True)
    workspace.overlay_robustness(ModelRef("/models/other.keras", "other"))
    workspace.runner._on_result(sweep_result(started[0], CURVES_B))
    assert drawn(workspace.robustness.other_curves) == [0.50, 0.95, 0.52]  # over A, as asked

    workspace.overlay_robustness(ModelRef("/models/third.keras", "third"))
    workspace.set_model(other_model())
    workspace.runner._on_result(sweep_result(started[1], CURVES_A))  # asked over A, ended over B
    assert drawn(workspace.robustness.other_curves) == [] and "third" not in workspace.robustness.legend_label.text()


def test_a_calibration_that_ends_after_the_model_changed_is_not_announced_on_the_next_models_tab(workspace):
    """Calibrate A, open B meanwhile: B's Calibration tab said "Calibrated: … Stored in the model", though the model
    thread stores a temperature only in the file it was fitted for, and B had none."""
    from app.evaluate.worker import JobResult
    from ml.inference.calibration import CalibrationResult

    calibrate_a = workspace.current_request("calibrate")
    workspace.set_model(other_model())
    fitted = []
    workspace.calibration_fitted.connect(lambda *args: fitted.append(args))
    applied = CalibrationResult(1.4, 5000, "validation", 0.02, 0.01, 0.05, 0.04)

    workspace.runner._on_result(JobResult(calibrate_a, None, {"calibration": applied, "evaluation": None}))

    assert fitted == [] and workspace.calibration.status_label.text() == ""
    assert "Calibrating digitlab-best ended after it was set aside" in workspace.message_label.text()


@pytest.mark.parametrize("kind", ["evaluate", "compare", "map"])
def test_an_evaluation_comparison_or_map_that_ends_after_the_model_changed_is_not_shown(workspace, kind):
    from types import SimpleNamespace

    from app.evaluate.worker import JobResult, ModelRef

    request = workspace.current_request(kind, other=ModelRef("/models/other.keras", "other"))
    workspace.set_model(other_model())
    evaluation = SimpleNamespace(labels=np.zeros(3), predictions=np.zeros(3), confidence=np.ones(3))
    payload = {"evaluation": evaluation, "points": np.zeros((3, 2)), "indices": np.arange(3), "method": "pca"}

    workspace.runner._on_result(JobResult(request, SimpleNamespace(images=np.zeros((3, 28, 28))), payload))

    assert workspace.result is None and workspace.comparison is None and workspace.map_result is None
    assert workspace.matrix.confusion.size == 0 and workspace.runner.cache.get(request) is not None


def test_the_last_models_calibration_is_not_reported_on_the_next_models_tab(qtbot, workspace, tmp_path):
    """Calibrate A, then open B, evaluated before: B's Calibration tab still said "Calibrated: temperature 1.54 …
    Stored in the model: every probability shown is now calibrated", though B has no temperature."""
    import shutil

    from app.evaluate.worker import JobResult
    from ml.inference.calibration import CalibrationResult

    copy = tmp_path / "model-b.keras"
    shutil.copy(bundled_model_path(), copy)
    model_b = bundled_description(display_name="model-b", source_path=str(copy))
    workspace.image_limit = 100
    workspace.set_model(model_b)
    run_and_wait(qtbot, workspace)  # B's evaluation, cached
    workspace.set_model(bundled_description())
    applied = CalibrationResult(1.4, 5000, "validation", 0.02, 0.01, 0.05, 0.04)
    workspace._on_calibrated(JobResult(workspace.current_request("calibrate"), None,
                                       {"calibration": applied, "evaluation": None}))  # fmt: skip
    assert workspace.calibration.status_label.text().startswith("Calibrated: ")

    workspace.set_model(model_b)

    assert workspace.result is not None  # B's evaluation is shown again, from the cache
    assert workspace.calibration.status_label.text() == ""
