"""ModelController and ModelWorker: start-up in a thread, coalesced predictions, failures as signals."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.models.controller import ModelController
from app.models.worker import pin_python_thread_state, unpin_python_thread_state
from ml.assets import bundled_model_path
from ml.preprocess.pipeline import render_mnist_on_canvas

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")


@pytest.fixture
def controller(qtbot):
    instance = ModelController([(str(bundled_model_path()), "bundled")])
    with qtbot.waitSignal(instance.model_loaded, timeout=120_000) as loaded:
        instance.start()
    instance.loaded_description = loaded.args[0]
    yield instance
    assert instance.shutdown(2000)


def mnist_drawing(index: int) -> np.ndarray:
    """MNIST test digit ``index`` as the canvas would hand it over: 280x280, black ink on white, 1 = white."""
    digit = np.load(ROOT / "assets" / "data" / "mnist.npz")["x_test"][index].astype(np.float32) / 255.0
    return render_mnist_on_canvas(digit).astype(np.float32) / 255.0


def report_of_fresh_process(code: str) -> dict:
    """Run ``code`` in a fresh Python (offscreen Qt) and return the JSON object it prints last."""
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_start_up_loads_tensorflow_and_the_bundled_model_in_the_worker_thread(controller):
    description = controller.loaded_description
    assert description["display_name"] == "digitlab-best"
    assert description["class_names"] == [str(digit) for digit in range(10)]
    assert description["unsaved"] is False and description["origin"] == "bundled"
    assert controller.thread.isRunning()
    assert controller.is_model_ready


def test_start_up_says_at_once_when_the_first_drawings_must_wait_for_tensorflow(qtbot):
    instance = ModelController([])  # no start-up model, so no shipped numpy weights to answer with
    events = []
    instance.startup_settled.connect(lambda answering: events.append(("settled", answering)))
    instance.backend_loaded.connect(lambda description: events.append("tensorflow"))
    with qtbot.waitSignal(instance.backend_loaded, timeout=120_000):
        instance.start()
    try:
        assert events == [("settled", False), "tensorflow"]  # said before TensorFlow's import, not after it
    finally:
        assert instance.shutdown(30_000)


def test_a_drawing_waiting_at_start_up_is_answered_by_the_shipped_fast_path_before_the_model_loads(qtbot):
    instance = ModelController([(str(bundled_model_path()), "bundled")])
    events = []
    instance.prediction_finished.connect(lambda result: events.append(result))
    instance.model_loaded.connect(lambda description: events.append("model loaded"))
    request_id = instance.request_prediction(mnist_drawing(0))  # a 7, drawn before TensorFlow is there
    assert instance._in_flight is None  # nothing is sent before a model can answer
    with qtbot.waitSignal(instance.model_loaded, timeout=120_000):
        instance.start()
    try:
        assert instance._fast_path_ready  # the shipped conversion was used
        answer = events[0]  # answered before the model had loaded
        assert isinstance(answer, dict) and answer["request_id"] == request_id and events[1] == "model loaded"
        assert int(np.argmax(answer["probabilities"])) == 7 and answer["verdict"]["status"] == "digit"
    finally:
        assert instance.shutdown(5000)


def test_the_first_drawing_is_answered_without_tensorflow_which_loads_after_the_answer():
    """In a fresh process: the shipped numpy weights answer (preprocessing, doubt judge and number reading
    included) before TensorFlow is imported; TensorFlow and Keras's model load only afterwards."""
    code = """
import json, sys
import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.models.controller import ModelController
from ml.assets import bundled_model_path
from ml.preprocess.pipeline import render_mnist_on_canvas
digit = np.load("assets/data/mnist.npz")["x_test"][0].astype(np.float32) / 255.0  # a 7
controller = ModelController([(str(bundled_model_path()), "bundled")])
report, loop = {"events": []}, QEventLoop()
controller._worker.fast_path_ready.connect(lambda d: report.update(backend=d["backend"]))
def answered(result):
    report["events"].append("answer")
    report.update(label=int(np.argmax(result["probabilities"])), status=result["verdict"]["status"],
                  tensorflow_at_answer="tensorflow" in sys.modules, keras_at_answer="keras" in sys.modules)
controller.prediction_finished.connect(answered)
controller.backend_loaded.connect(lambda d: report["events"].append("tensorflow"))
controller.model_loaded.connect(lambda d: (report["events"].append("model"), loop.quit()))
controller.request_prediction(render_mnist_on_canvas(digit).astype(np.float32) / 255.0, None)
QTimer.singleShot(200_000, loop.quit)
controller.start()
loop.exec()
report["tensorflow_at_end"] = "tensorflow" in sys.modules
controller.shutdown(30_000)
print(json.dumps(report))
"""
    report = report_of_fresh_process(code)
    assert report["backend"] == "numpy" and report["label"] == 7 and report["status"] == "digit"
    assert report["tensorflow_at_answer"] is False and report["keras_at_answer"] is False
    assert report["events"] == ["answer", "tensorflow", "model"] and report["tensorflow_at_end"] is True


def test_the_first_answers_imports_are_paid_before_any_drawing_waits_for_them():
    """Once the numpy answers are ready, a drawing imports nothing new (scipy, Pillow's fonts and the rest came with a
    warm-up answer), so TensorFlow's import behind it cannot hold the first answer back."""
    code = """
import json, sys
import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.models.controller import ModelController
from ml.assets import bundled_model_path
from ml.preprocess.pipeline import render_mnist_on_canvas
digit = np.load("assets/data/mnist.npz")["x_test"][1].astype(np.float32) / 255.0  # a 2
controller = ModelController([(str(bundled_model_path()), "bundled")])
loop, report = QEventLoop(), {}
def ready(_description):
    report["modules"] = set(sys.modules)
    controller.request_prediction(render_mnist_on_canvas(digit).astype(np.float32) / 255.0, None)
def answered(result):
    report.update(label=int(np.argmax(result["probabilities"])), new=sorted(set(sys.modules) - report.pop("modules")))
    loop.quit()
controller._worker.fast_path_ready.connect(ready)  # runs in the model thread, before it takes the drawing
controller.prediction_finished.connect(answered)
QTimer.singleShot(120_000, loop.quit)
controller.start()
loop.exec()
controller.shutdown(30_000)
print(json.dumps(report))
"""
    report = report_of_fresh_process(code)
    assert report["label"] == 2
    assert [name for name in report["new"] if not name.startswith(("tensorflow", "keras"))] == []


def test_altered_numpy_weights_are_refused_and_the_tflite_fallback_still_answers(qtbot, tmp_path, monkeypatch, caplog):
    import ml.inference.shipped_model as shipped_model
    from ml.inference.shipped_numpy import shipped_network_path, shipped_record_path
    from ml.inference.shipped_tflite import shipped_tflite_path

    folder = tmp_path / "models"
    folder.mkdir()
    model_path = bundled_model_path()
    tflite = shipped_tflite_path(model_path)
    for source in (model_path, tflite, tflite.with_name(tflite.name + ".json")):
        shutil.copy(source, folder / source.name)
    for source in (shipped_network_path(model_path), shipped_record_path(model_path)):
        shutil.copy(source, folder / source.name)
    network = folder / shipped_network_path(model_path).name
    data = bytearray(network.read_bytes())
    data[len(data) // 3] ^= 0x04
    network.write_bytes(bytes(data))
    monkeypatch.setattr(shipped_model, "asset_path", lambda *parts: tmp_path.joinpath(*parts))
    instance = ModelController([(str(folder / model_path.name), "bundled")])
    backends, answers = [], []
    instance._worker.fast_path_ready.connect(lambda description: backends.append(description["backend"]))
    instance.prediction_finished.connect(answers.append)
    instance.request_prediction(mnist_drawing(1))  # a 2
    with caplog.at_level(logging.WARNING), qtbot.waitSignal(instance.model_loaded, timeout=120_000):
        instance.start()
    try:
        assert "altered or damaged" in caplog.text  # the refusal is logged in one line
        assert backends == ["tflite"]  # today's path answered instead
        assert int(np.argmax(answers[0]["probabilities"])) == 2
    finally:
        assert instance.shutdown(5000)


def test_a_model_opened_before_tensorflow_is_there_waits_for_it_and_becomes_the_active_one(qtbot, tmp_path):
    mine = tmp_path / "mine.keras"
    shutil.copy(bundled_model_path(), mine)
    instance = ModelController([(str(bundled_model_path()), "bundled")])
    loaded, failures = [], []
    instance.model_loaded.connect(loaded.append)
    instance.model_load_failed.connect(failures.append)
    instance.start()
    qtbot.waitUntil(lambda: instance._fast_path_ready, timeout=60_000)  # the numpy weights answer
    instance.load_model(str(mine))  # before TensorFlow is there: held, and its import starts at once
    assert not instance._backend_settled and instance._held_loads
    try:
        qtbot.waitUntil(lambda: len(loaded) == 2 or bool(failures), timeout=120_000)
        assert failures == []
        assert [description["display_name"] for description in loaded] == ["digitlab-best", "mine"]
        assert loaded[1]["previous_name"] == "digitlab-best"  # the start-up model stays one switch away
    finally:
        assert instance.shutdown(5000)


def test_a_burst_of_requests_runs_at_most_one_at_a_time_and_the_newest_wins(qtbot, controller):
    runs = []
    controller._worker.prediction_finished.connect(lambda result: runs.append(result["request_id"]))
    drawings = [mnist_drawing(index) for index in range(3)]  # 7, 2, 1
    for repeat in range(10):
        last_id = controller.request_prediction(drawings[repeat % 3])
    newest = mnist_drawing(3)  # a 0
    with qtbot.waitSignal(controller.prediction_finished, timeout=30_000, check_params_cb=lambda r: r["final"]) as done:
        last_id = controller.request_prediction(newest)
    result = done.args[0]
    assert result["request_id"] == last_id
    assert int(np.argmax(result["probabilities"])) == 0
    assert len(runs) == 2  # the first request, then only the newest; the eight in between never ran
    assert not controller.is_busy


def test_cancelled_predictions_are_not_reported(qtbot, controller):
    reported = []
    controller.prediction_finished.connect(reported.append)
    controller.request_prediction(mnist_drawing(0))
    controller.cancel_predictions()
    assert controller.is_busy  # the request is still running in the worker
    qtbot.waitUntil(lambda: not controller.is_busy, timeout=30_000)  # its result came back and was dropped
    assert reported == []


def test_a_failing_prediction_is_reported_as_plain_data_and_the_worker_keeps_going(qtbot, controller):
    with qtbot.waitSignal(controller.prediction_finished, timeout=30_000) as failed:
        controller.request_prediction(np.zeros(5, dtype=np.float32))
    assert failed.args[0]["error"].startswith("Prediction failed")
    with qtbot.waitSignal(controller.prediction_finished, timeout=30_000) as succeeded:
        controller.request_prediction(mnist_drawing(1))
    assert int(np.argmax(succeeded.args[0]["probabilities"])) == 2


def test_preprocessing_happens_in_the_worker_and_its_stages_come_back(qtbot, controller):
    with qtbot.waitSignal(controller.prediction_finished, timeout=30_000) as done:
        controller.request_prediction(mnist_drawing(2))
    result = done.args[0]
    assert result["image"].shape == (28, 28)
    assert [name for name, _ in result["stages"]][-1].startswith("centred")
    assert result["probabilities"].sum() == pytest.approx(1.0, abs=1e-5)


def test_only_an_opened_image_is_searched_for_printed_boxes_not_the_canvas_strokes(qtbot, controller, monkeypatch):
    import ml.preprocess.pipeline as pipeline

    searched = []
    real = pipeline.remove_boxes
    monkeypatch.setattr(pipeline, "remove_boxes", lambda ink: searched.append(ink.shape) or real(ink))
    page = mnist_drawing(3).copy()
    page[20:24, 20:260] = page[256:260, 20:260] = 0.3  # a printed box round the digit
    page[20:260, 20:24] = page[20:260, 256:260] = 0.3
    with qtbot.waitSignal(controller.prediction_finished, timeout=30_000) as opened:
        controller.request_prediction(page)  # an opened image: no strokes
    assert searched and "boxes removed" in [name for name, _ in opened.args[0]["stages"]]
    searched.clear()
    with qtbot.waitSignal(controller.prediction_finished, timeout=30_000) as drawn:
        controller.request_prediction(mnist_drawing(3), ())  # the canvas's own strokes (none here)
    assert searched == [] and int(np.argmax(drawn.args[0]["probabilities"])) == 0


def test_a_missing_model_file_fails_with_the_cores_message(qtbot, controller, tmp_path):
    with qtbot.waitSignal(controller.model_load_failed, timeout=30_000) as failed:
        controller.load_model(str(tmp_path / "nowhere.keras"))
    assert "There is no model file" in failed.args[0]["message"]
    assert failed.args[0]["startup"] is False


def test_the_active_model_is_described_in_the_worker_as_plain_data(qtbot, controller):
    from ml.models.summary import ModelDescription

    with qtbot.waitSignal(controller.model_described, timeout=30_000) as described:
        controller.describe_active_model()
    description = described.args[0]
    assert isinstance(description, ModelDescription)
    assert description.name == "best" and description.total_parameters > 100_000
    assert description.layers[0].class_name == "InputLayer"
    assert description.layers[-1].output_shapes == ((None, 10),)
    assert controller.loaded_description["source_path"] == str(bundled_model_path())


class ThreadLocalProbe(QObject):
    """Stores a thread-local value in one slot call and looks for it in a later one."""

    answered = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()
        self.token: int | None = None

    @Slot()
    def pin_and_store(self) -> None:
        self.token = pin_python_thread_state()
        self.local.value = "kept"
        self.answered.emit(True)

    @Slot()
    def look(self) -> None:
        self.answered.emit(getattr(self.local, "value", None) == "kept")

    @Slot()
    def unpin(self) -> None:
        unpin_python_thread_state(self.token)


class ProbeDriver(QObject):
    """Lives in the GUI thread: asks the probe to look, and collects its answers (queued across threads)."""

    look_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[bool] = []

    @Slot(bool)
    def record(self, answer: bool) -> None:
        self.answers.append(answer)


def test_the_worker_threads_python_state_survives_between_slot_calls(qtbot):
    """TensorFlow keeps its eager context in threading.local; losing it between calls crashes TensorFlow."""
    thread = QThread()
    probe = ThreadLocalProbe()
    probe.moveToThread(thread)
    driver = ProbeDriver()
    driver.look_requested.connect(probe.look)
    probe.answered.connect(driver.record)
    thread.started.connect(probe.pin_and_store)
    thread.finished.connect(probe.unpin)
    thread.start()
    qtbot.waitUntil(lambda: len(driver.answers) == 1)
    driver.look_requested.emit()
    qtbot.waitUntil(lambda: len(driver.answers) == 2)
    thread.quit()
    assert thread.wait(2000)
    assert driver.answers == [True, True]


def saved_by_script(code: str, path: Path) -> Path:
    """A model file written by ``code`` (given the path as ``sys.argv[1]``) in another process: no Keras object
    lives in the test's own thread."""
    subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True, capture_output=True, timeout=240)
    return path


def first_prediction_with(qtbot, controller, path: Path) -> dict:
    """Load ``path`` as the active model and predict MNIST's first test digit with it."""
    with qtbot.waitSignal(controller.model_loaded, timeout=60_000):
        controller.load_model(str(path))
    with qtbot.waitSignal(controller.prediction_finished, timeout=30_000) as done:
        controller.request_prediction(mnist_drawing(0))
    return done.args[0]


def test_an_8x8_model_shows_the_8x8_it_receives_with_a_standardized_stage(qtbot, controller, tmp_path):
    # Built in another process: a Keras object of this thread collected while the model thread runs TensorFlow
    # can abort the interpreter (seen when other window tests follow).
    path = tmp_path / "digits8.keras"
    code = (
        "import sys, numpy as np\n"
        "from ml.models.files import save_model\n"
        "from ml.models.metadata import ModelMetadata\n"
        "from ml.models.presets import build_model\n"
        "rng = np.random.default_rng(0)\n"
        "metadata = ModelMetadata(input_scale='standardize', input_mean=list(rng.uniform(0, 0.3, 64)),\n"
        "                         input_std=list(rng.uniform(0.1, 0.4, 64)))\n"
        "save_model(build_model('mlp-digits', (64,), 10), sys.argv[1], metadata)\n"
    )
    result = first_prediction_with(qtbot, controller, saved_by_script(code, path))
    assert [name for name, _ in result["stages"]][-2:] == ["resized to 8x8", "standardized"]
    assert result["model_view"].shape == (8, 8) and result["image"].shape == (28, 28)


def test_a_model_whose_output_overflows_to_nan_gives_no_prediction_and_says_why(qtbot, controller, tmp_path):
    path = tmp_path / "overflow.keras"  # finite weights of 1e30: the softmax of 8e31-sized logits is NaN
    code = (
        "import sys, keras, numpy as np\n"
        "from ml.models.files import save_model\n"
        "from ml.models.metadata import ModelMetadata\n"
        "model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10),\n"
        "                          keras.layers.Dense(10, activation='softmax')])\n"
        "model.set_weights([np.full(w.shape, 1e30, np.float32) for w in model.get_weights()])\n"
        "save_model(model, sys.argv[1], ModelMetadata())\n"
    )
    result = first_prediction_with(qtbot, controller, saved_by_script(code, path))
    assert result["error"] is None and result["probabilities"] is None and result["verdict"] is None
    assert "not a number (NaN or infinite)" in result["reason"] and not result["blank"]


def test_a_28x28_model_has_no_extra_view(qtbot, controller):
    with qtbot.waitSignal(controller.prediction_finished, timeout=30_000) as done:
        controller.request_prediction(mnist_drawing(0))
    assert done.args[0]["model_view"] is None


def test_a_stored_calibration_is_applied_to_every_prediction_and_marks_the_model_modified(qtbot, controller, tmp_path):
    drawing = mnist_drawing(8)  # a 5 the bundled model reads with less than full confidence
    with qtbot.waitSignal(controller.prediction_finished, timeout=30_000) as raw:
        controller.request_prediction(drawing)
    path = controller.loaded_description["source_path"]
    assert controller.loaded_description["temperature"] is None
    assert "mnist-test" in controller.loaded_description["evaluation_sets"]

    with qtbot.waitSignal(controller.model_loaded, timeout=30_000) as described:
        controller.store_calibration(path, 3.0, {"split": "validation", "images": 10})
    description = described.args[0]
    assert description["temperature"] == 3.0
    assert description["modified"] is True and description["unsaved"] is True
    assert description["file_name"] == "digitlab-best.keras"  # still the same file, now with unsaved changes

    with qtbot.waitSignal(controller.prediction_finished, timeout=30_000) as calibrated:
        controller.request_prediction(drawing)
    raw_top = float(np.max(raw.args[0]["probabilities"]))
    calibrated_top = float(np.max(calibrated.args[0]["probabilities"]))
    assert np.argmax(raw.args[0]["probabilities"]) == np.argmax(calibrated.args[0]["probabilities"])
    assert calibrated_top < raw_top  # T = 3 softens every probability shown

    with qtbot.waitSignal(controller.model_saved, timeout=60_000) as saved:
        controller.save_model(str(tmp_path / "calibrated.keras"))
    assert saved.args[0]["modified"] is False and saved.args[0]["unsaved"] is False
    import zipfile

    from ml.models.files import METADATA_ENTRY
    from ml.models.metadata import ModelMetadata

    with zipfile.ZipFile(tmp_path / "calibrated.keras") as archive:  # the card, read without Keras in this thread
        assert ModelMetadata.from_json(archive.read(METADATA_ENTRY)).temperature == 3.0


def test_a_model_loaded_under_a_name_keeps_it_until_it_is_saved_as_a_file_of_its_own(qtbot, controller, tmp_path):
    version = tmp_path / "20261207-172908-91621e.keras"  # a taught version's file: named by when it was made
    shutil.copy(bundled_model_path(), version)
    with qtbot.waitSignal(controller.model_loaded, timeout=60_000) as loaded:
        controller.load_model(str(version), name="digitlab-best · taught 1")
    assert loaded.args[0]["display_name"] == "digitlab-best · taught 1"
    with qtbot.waitSignal(controller.model_saved, timeout=60_000) as saved:
        controller.save_model(str(tmp_path / "my hand.keras"))
    assert saved.args[0]["display_name"] == "my hand"


def test_a_taught_versions_file_opened_without_a_name_is_named_as_history_names_it(
    qtbot, controller, tmp_path, monkeypatch
):
    from ml.teach import versions as versions_module
    from ml.teach.versions import VersionStore

    folder = tmp_path / "versions"  # the window's versions folder, as at the next start-up or from Recent models
    monkeypatch.setattr(versions_module, "versions_folder", lambda: folder)
    folder.mkdir()
    kept = folder / "20261207-172908-91621e.keras"
    shutil.copy(bundled_model_path(), kept)
    VersionStore(folder).remember_original(kept, "digitlab-best · taught 1")
    with qtbot.waitSignal(controller.model_loaded, timeout=60_000) as loaded:
        controller.load_model(str(kept))
    assert loaded.args[0]["display_name"] == "digitlab-best · taught 1"


def test_a_calibration_for_a_model_no_longer_active_is_not_stored(qtbot, controller):
    with qtbot.assertNotEmitted(controller.model_loaded, wait=500):
        controller.store_calibration("/elsewhere/other.keras", 2.0, {})


def test_an_unsaved_run_models_export_is_named_as_the_window_names_it_not_by_its_cache_file(
    qtbot, tmp_path, monkeypatch
):
    import keras

    import ml.export.exporter as exporter
    from app.models.names import trained_model_name
    from app.models.worker import ModelSlot, ModelWorker
    from ml.export.verification import mnist_reference
    from ml.models.files import LoadedModel
    from ml.models.metadata import ModelMetadata

    reference = mnist_reference(test_count=50, calibration_count=10)
    monkeypatch.setattr(exporter, "mnist_reference", lambda: reference)
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs)))
    metadata = ModelMetadata(dataset="mnist", preset="fast", test_accuracy=0.991, created="2026-12-07T09:35:00+00:00")
    cache_file = tmp_path / "trained" / "fast-20261207-093500.keras"  # where a run's model waits to be saved
    worker = ModelWorker([])  # its slots called directly, in this thread: no model thread to race
    worker._active = ModelSlot(LoadedModel(model, metadata, cache_file, True), None, unsaved=True, origin="trained")
    shown = trained_model_name(metadata, model.name)
    assert shown.startswith("trained fast · mnist · 99.1 %")
    finished, failed = [], []
    worker.export_finished.connect(finished.append)
    worker.export_failed.connect(failed.append)

    worker.export_active_model("tflite", str(tmp_path / "digits.tflite"))
    assert failed == [] and len(finished) == 1
    assert json.loads((tmp_path / "digits.tflite.json").read_text())["source_model"] == shown

    def does_not_run(*_arguments):
        raise ValueError("wrong input shape")

    monkeypatch.setattr(exporter, "keras_probabilities", does_not_run)
    worker.export_active_model("tflite", str(tmp_path / "again.tflite"))
    assert failed == [f"Cannot export {shown}: it does not run on digits: wrong input shape"]
