"""Drawing on the window's canvas in tests: strokes in document pixels, and waiting for the final prediction."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QPointF, Qt

PREDICTION_TIMEOUT_MS = 30_000


def canvas_point(canvas, x: float, y: float):
    """The widget position of document pixel (x, y); read each time, since docks opening move the canvas."""
    rect = canvas.document_rect()
    scale = rect.height() / 280
    return QPointF(rect.x() + x * scale, rect.y() + y * scale).toPoint()


def draw_stroke(qtbot, canvas, points: list[tuple[float, float]]) -> None:
    """Press at the first point, move through the others, release at the last."""
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, *points[0]))
    for xy in points[1:]:
        qtbot.mouseMove(canvas, canvas_point(canvas, *xy))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, *points[-1]))


def wait_for_final_prediction(qtbot, window, action) -> None:
    """Run ``action`` and wait until the window shows the final prediction of what it drew."""
    with qtbot.waitSignal(
        window.prediction_shown, timeout=PREDICTION_TIMEOUT_MS, check_params_cb=lambda shown: shown["final"]
    ):
        action()
    QCoreApplication.processEvents()
