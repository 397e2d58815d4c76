"""Model ▸ Evaluate… in the main window: a cell of the matrix, its gallery, and the image landing in the canvas."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtTest import QSignalSpy

from app.main_window import MainWindow
from ml.assets import bundled_model_path

pytestmark = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")


def start_window(settings) -> MainWindow:
    """A shown main window whose model thread has loaded the bundled model."""
    window = MainWindow(settings)
    window.show()
    loop = QEventLoop()
    loaded = QSignalSpy(window.models.model_loaded)
    window.models.model_loaded.connect(loop.quit)
    window.models.model_load_failed.connect(loop.quit)
    QTimer.singleShot(120_000, loop.quit)
    window.start()
    loop.exec()  # lets the model thread run Python meanwhile
    assert loaded.count() == 1, "the model did not load"
    return window


@pytest.fixture
def window(qtbot, settings):
    window = start_window(settings)
    yield window
    qtbot.waitUntil(lambda: not window.models.is_busy and not window.models.is_inspecting, timeout=60_000)
    window.evaluation.shutdown(30_000)
    window.shutdown()
    window.close()


def test_evaluate_is_in_the_model_menu_with_ctrl_e(window):
    action = window.evaluation.action
    assert action.isEnabled() and action.shortcut().toString() == "Ctrl+E"
    model_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Model")
    assert action in model_menu.actions()


def test_click_through_cell_then_gallery_puts_the_image_in_the_canvas_with_its_prediction(qtbot, window):
    workspace = window.evaluation.open()
    assert workspace.isVisible() and workspace.set_box.currentData() == "mnist-test"
    workspace.image_limit = 500
    with qtbot.waitSignal(workspace.runner.running_changed, timeout=180_000, check_params_cb=lambda on: not on):
        workspace.run_button.click()
    evaluation = workspace.result.payload["evaluation"]
    confusion = workspace.matrix.confusion
    errors = np.argwhere(confusion - np.diag(np.diag(confusion)) > 0)
    true_class, predicted_class = (int(v) for v in errors[0]) if len(errors) else (7, 7)

    workspace.tabs.setCurrentIndex(0)
    qtbot.waitExposed(workspace)
    plot = workspace.matrix.plot
    qtbot.mouseClick(
        plot.viewport(), Qt.MouseButton.LeftButton, pos=workspace.matrix.cell_center(true_class, predicted_class)
    )
    gallery = workspace.cell_gallery
    assert gallery.count() == confusion[true_class, predicted_class]
    first = gallery.dataset_indices()[0]
    assert evaluation.labels[first] == true_class and evaluation.predictions[first] == predicted_class
    assert "most confident first" in gallery.title.text()

    # the diagonal cell of the same class: its most confident image is read the same way on the canvas
    qtbot.mouseClick(
        plot.viewport(), Qt.MouseButton.LeftButton, pos=workspace.matrix.cell_center(true_class, true_class)
    )
    surest = gallery.dataset_indices()[0]
    assert evaluation.labels[surest] == true_class == evaluation.predictions[surest]
    rect = gallery.view.visualRect(gallery.model.index(0))
    with qtbot.waitSignal(
        window.prediction_shown, timeout=30_000, check_params_cb=lambda shown: shown["final"]
    ) as shown:
        qtbot.mouseClick(gallery.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    image = workspace.result.eval_set.images[surest]
    assert np.array_equal(window.canvas.drawing.source, image)  # the 28x28 itself, predicted as a dropped image is
    assert int(np.argmax(shown.args[0]["probabilities"])) == true_class
    assert (
        window.statusBar().currentMessage().startswith(f"Opened MNIST test #{surest}: true {true_class}; evaluated as")
    )


def test_calibrate_stores_the_temperature_in_the_active_model_which_becomes_modified(qtbot, window):
    workspace = window.evaluation.open()
    workspace.image_limit = 300
    with qtbot.waitSignal(workspace.runner.running_changed, timeout=180_000, check_params_cb=lambda on: not on):
        workspace.run_button.click()
    assert not window.isWindowModified() and workspace.calibration.calibrate_button.isEnabled()
    with qtbot.waitSignal(
        window.models.model_loaded, timeout=180_000, check_params_cb=lambda d: d["temperature"] is not None
    ) as stored:
        workspace.calibration.calibrate_button.click()
    temperature = stored.args[0]["temperature"]
    assert window.isWindowModified() and window.windowTitle().startswith("digitlab-best.keras[*]")
    assert "(calibrated)" in workspace.model_label.text()
    report = workspace.result.payload["evaluation"].report  # shown at once from the cache, no second scoring
    assert report.temperature == temperature and "after temperature scaling" in workspace.calibration.ece_label.text()
    assert workspace.runner.jobs_started == 2
