"""DrawingCanvas: mouse strokes, programmatic strokes, undo/redo, clear, images, eraser and rendering."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from app.draw.canvas import BRUSH_SIZE_RANGE, DOCUMENT_SIZE, DrawingCanvas
from app.draw.strokes import smooth_path
from ml.preprocess.pipeline import render_mnist_on_canvas

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def canvas(qtbot) -> DrawingCanvas:
    widget = DrawingCanvas()
    qtbot.addWidget(widget)
    widget.resize(DOCUMENT_SIZE, DOCUMENT_SIZE)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def drag(qtbot, canvas: DrawingCanvas, points: list[tuple[int, int]], button=Qt.MouseButton.LeftButton) -> None:
    """Press at the first point, move through the others and release at the last, like a user."""
    qtbot.mousePress(canvas, button, pos=QPoint(*points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, QPoint(*point))
    qtbot.mouseRelease(canvas, button, pos=QPoint(*points[-1]))


def test_a_new_canvas_is_blank_white_at_document_resolution(canvas):
    image = canvas.image_array()
    assert image.shape == (DOCUMENT_SIZE, DOCUMENT_SIZE)
    assert image.dtype == np.float32
    assert image.min() == 1.0
    assert canvas.is_blank()
    assert not canvas.can_undo() and not canvas.can_redo()


def test_mouse_stroke_paints_black_ink_and_is_one_undoable_edit(qtbot, canvas):
    with qtbot.waitSignal(canvas.history_changed):
        drag(qtbot, canvas, [(60, 60), (100, 90), (140, 140), (150, 200)])
    image = canvas.image_array()
    assert not canvas.is_blank()
    assert image[140, 140] < 0.1  # ink on the stroke
    assert image[20, 250] == 1.0  # paper elsewhere
    assert len(canvas.drawing.strokes) == 1 and len(canvas.drawing.strokes[0].points) == 4
    canvas.undo()
    assert canvas.is_blank()
    canvas.redo()
    assert np.array_equal(canvas.image_array(), image)


def test_every_mouse_move_while_drawing_emits_changed(qtbot, canvas):
    changes = []
    canvas.changed.connect(lambda: changes.append(canvas.image_array()))
    drag(qtbot, canvas, [(50, 50), (90, 50), (130, 50)])
    assert len(changes) >= 3  # press, moves, release
    assert (changes[0] < 0.5).sum() < (changes[-1] < 0.5).sum()  # the stroke grows while it is drawn


def test_a_click_paints_a_round_dot_of_the_brush_size(qtbot, canvas):
    canvas.set_brush_size(20)
    drag(qtbot, canvas, [(140, 140)])
    ink = canvas.image_array() < 0.5
    rows, columns = np.nonzero(ink)
    assert 16 <= rows.max() - rows.min() <= 22 and 16 <= columns.max() - columns.min() <= 22
    assert abs(ink.sum() - np.pi * 10**2) < 0.15 * np.pi * 10**2  # a disc, not a square


def test_strokes_are_antialiased_with_round_caps(canvas):
    canvas.draw_stroke([(60, 140), (220, 140)], width=30)
    image = canvas.image_array()
    greys = image[(image > 0.05) & (image < 0.95)]
    assert greys.size > 20  # soft edges
    assert image[140, 50] < 0.2  # a round cap reaches half the width beyond the end point


def test_undo_redo_clear_walk_the_history(canvas):
    canvas.draw_stroke([(40, 40), (100, 100)])
    canvas.draw_stroke([(200, 40), (200, 200)])
    two_strokes = canvas.image_array()
    canvas.clear()
    assert canvas.is_blank()
    canvas.undo()
    assert np.array_equal(canvas.image_array(), two_strokes)
    canvas.undo()
    assert len(canvas.drawing.strokes) == 1
    canvas.redo()
    canvas.redo()
    assert canvas.is_blank() and not canvas.can_redo()
    canvas.undo()
    canvas.draw_stroke([(10, 10), (20, 20)])  # a new edit drops the redo history
    assert not canvas.can_redo()


def test_eraser_removes_ink(canvas):
    canvas.draw_stroke([(40, 140), (240, 140)], width=20)
    canvas.set_erasing(True)
    canvas.draw_stroke([(40, 140), (240, 140)], width=40, erase=True)
    assert canvas.is_blank()


def test_right_button_erases(qtbot, canvas):
    canvas.draw_stroke([(40, 140), (240, 140)], width=20)
    canvas.set_brush_size(50)
    drag(qtbot, canvas, [(30, 140), (140, 140), (250, 140)], button=Qt.MouseButton.RightButton)
    assert canvas.is_blank()


def test_brush_size_is_clamped(canvas):
    canvas.set_brush_size(1000)
    assert canvas.brush_size == BRUSH_SIZE_RANGE[1]
    canvas.set_brush_size(0)
    assert canvas.brush_size == BRUSH_SIZE_RANGE[0]


def test_set_image_shows_a_28x28_digit_scaled_up_that_can_be_drawn_over_and_undone(qtbot, canvas):
    digit = np.load(ROOT / "assets" / "data" / "mnist.npz")["x_test"][0].astype(np.float32) / 255.0
    with qtbot.waitSignal(canvas.changed):
        canvas.set_image(1.0 - digit)  # black ink on white, like the canvas
    image = canvas.image_array()
    assert not canvas.is_blank()
    assert np.corrcoef(image[5::10, 5::10].ravel(), 1.0 - digit.ravel())[0, 1] > 0.9
    canvas.draw_stroke([(10, 270), (270, 270)])
    assert image[270, 140] > 0.9 and canvas.image_array()[270, 140] < 0.1
    canvas.undo()
    canvas.undo()
    assert canvas.is_blank()


def test_set_image_accepts_a_transparent_qimage_and_uint8_arrays(canvas):
    picture = QImage(100, 50, QImage.Format.Format_ARGB32)
    picture.fill(QColor(0, 0, 0, 0))
    for x in range(20, 80):
        for y in range(20, 30):
            picture.setPixelColor(x, y, QColor(0, 0, 0, 255))
    canvas.set_image(picture)
    image = canvas.image_array()
    assert image[140, 140] < 0.1 and image[10, 10] > 0.9  # transparent parts are paper
    square = np.zeros((28, 28), dtype=np.float32)
    square[10:18, 10:18] = 1.0
    canvas.set_image(render_mnist_on_canvas(square))  # uint8, ink dark
    image = canvas.image_array()
    assert image[140, 140] < 0.1 and image[30, 30] > 0.9


def test_cache_is_rendered_at_the_device_pixel_ratio(canvas):
    canvas.draw_stroke([(40, 40), (200, 200)])
    canvas.repaint()
    cache = canvas._current_cache()
    assert cache.devicePixelRatio() == canvas.devicePixelRatioF()
    assert cache.width() == round(canvas.document_rect().width() * canvas.devicePixelRatioF())


def test_smooth_path_passes_through_end_points():
    path = smooth_path([(0, 0), (10, 0), (10, 10), (20, 10)])
    assert path.pointAtPercent(0).toTuple() == (0, 0)
    assert path.pointAtPercent(1).toTuple() == (20, 10)


def test_a_small_image_is_enlarged_with_crisp_pixels(canvas):
    checker = np.indices((28, 28)).sum(axis=0) % 2 == 0
    canvas.set_image(checker.astype(np.float32))
    image = canvas.image_array()
    assert set(np.unique(np.round(image[2:278:10, 2:278:10], 2))) == {0.0, 1.0}  # not blurred to grey


def test_the_backing_image_follows_the_device_pixel_ratio_on_high_dpi_screens(tmp_path):
    code = (
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from app.draw.canvas import DrawingCanvas\n"
        "canvas = DrawingCanvas(); canvas.resize(280, 280); canvas.show(); app.processEvents()\n"
        "canvas.draw_stroke([(40, 40), (200, 200)]); canvas.repaint()\n"
        "cache = canvas._current_cache()\n"
        "print(canvas.devicePixelRatioF(), cache.width(), cache.devicePixelRatio(), canvas.image_array().shape)\n"
    )
    environment = {
        "QT_QPA_PLATFORM": "offscreen",
        "QT_SCALE_FACTOR": "2",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    environment["PYTHONPATH"] = ":".join(path for path in sys.path if path)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    ratio, width, cache_ratio, shape = result.stdout.strip().splitlines()[-1].split(" ", 3)
    assert float(ratio) == 2.0 and float(cache_ratio) == 2.0
    assert int(width) == 560  # 280 logical pixels at twice the density
    assert shape == "(280, 280)"  # the model still gets the logical resolution


def test_an_opened_image_is_predicted_from_its_own_pixels_until_drawn_over(canvas):
    photo = np.full((300, 500), 0.8, dtype=np.float32)  # wide: the 280 px square would pad and shrink it
    photo[100:200, 240:260] = 0.1
    canvas.set_image(photo)
    given = canvas.prediction_input()
    assert given.shape == (300, 500) and np.array_equal(given, photo)  # what `digitlab predict` would read
    canvas.draw_stroke([(20, 20), (60, 60)])
    assert canvas.prediction_input().shape == (DOCUMENT_SIZE, DOCUMENT_SIZE)  # drawn over: the composite
    canvas.undo()
    assert canvas.prediction_input().shape == (300, 500)
    canvas.clear()
    assert canvas.prediction_input().shape == (DOCUMENT_SIZE, DOCUMENT_SIZE) and canvas.is_blank()


def test_a_numbers_boxes_follow_the_pixels_read_while_the_first_stroke_over_an_image_is_drawn(qtbot, canvas):
    photo = np.full((300, 500), 0.8, dtype=np.float32)  # shown at 280/500 of its size, 56 px down the square
    photo[100:200, 240:260] = 0.1
    canvas.set_image(photo)
    digit = {"box": (40, 50, 20, 100), "label": "1", "confidence": 0.99, "verdict": {"status": "digit"}}
    canvas.set_number_digits([digit])
    in_image = canvas.number_boxes[0].rect  # image pixels, placed where the image lies
    assert (in_image.left(), in_image.top()) == pytest.approx((40 * 0.56 - 4, 56 + 50 * 0.56 - 4))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 30))  # a stroke begins: the button is down
    assert canvas.prediction_input().shape == (DOCUMENT_SIZE, DOCUMENT_SIZE)  # read in document pixels now
    canvas.set_number_digits([digit])  # a reading of that input
    drawn_over = canvas.number_boxes[0].rect
    assert (drawn_over.left(), drawn_over.top()) == pytest.approx((40 - 4, 50 - 4))  # round the ink it read
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 60))
    canvas.set_number_digits([digit])
    assert canvas.number_boxes[0].rect == drawn_over


def test_an_evidence_overlay_tints_the_drawing_and_goes_away(qtbot, canvas):
    canvas.draw_stroke([(140, 40), (140, 240)], width=24)
    plain = canvas.grab().toImage()
    positive = np.zeros((280, 280), np.float32)
    positive[:, 100:180] = 1.0  # evidence along the stroke
    canvas.set_overlay(positive, None, 1.0)
    assert canvas.overlay is not None
    tinted = canvas.grab().toImage()
    rect = canvas.document_rect()
    inside = QPoint(round(rect.x() + 0.5 * rect.width()), round(rect.y() + 0.05 * rect.height()))
    outside = QPoint(round(rect.x() + 0.1 * rect.width()), round(rect.y() + 0.5 * rect.height()))
    assert QColor(tinted.pixel(inside)).red() > QColor(tinted.pixel(inside)).blue()  # orange over the paper
    assert tinted.pixel(inside) != plain.pixel(inside)
    assert tinted.pixel(outside) == plain.pixel(outside)
    canvas.set_overlay(None, None)
    assert canvas.overlay is None and canvas.grab().toImage() == plain


def test_stroke_in_progress_is_true_only_while_the_button_is_down(qtbot, canvas):
    assert not canvas.stroke_in_progress()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert canvas.stroke_in_progress()
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(120, 120))
    assert not canvas.stroke_in_progress()


def test_keyboard_focus_shows_as_a_highlighted_frame(qtbot):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

    holder = QWidget()
    qtbot.addWidget(holder)
    canvas, other = DrawingCanvas(), QLineEdit()
    layout = QVBoxLayout(holder)
    layout.addWidget(canvas)
    layout.addWidget(other)
    holder.resize(320, 360)
    holder.show()
    qtbot.waitExposed(holder)
    holder.activateWindow()
    highlight = canvas.palette().color(QPalette.ColorRole.Highlight).rgb()

    def left_edge_color() -> int:
        rect = canvas.document_rect()
        return canvas.grab().toImage().pixel(int(rect.left()) + 1, int(rect.center().y()))

    other.setFocus()
    qtbot.waitUntil(lambda: other.hasFocus())
    assert left_edge_color() != highlight
    canvas.setFocus()
    qtbot.waitUntil(lambda: canvas.hasFocus())
    assert left_edge_color() == highlight


def test_a_stroke_finished_under_the_overlay_stays_visible(qtbot, canvas):
    positive = np.ones((140, 140), np.float32)
    canvas.set_overlay(positive, None, 0.3)
    canvas.grab()  # the overlay is composited into the picture once
    rect = canvas.document_rect()
    start = QPoint(round(rect.x() + 0.2 * rect.width()), round(rect.y() + 0.5 * rect.height()))
    end = QPoint(round(rect.x() + 0.8 * rect.width()), round(rect.y() + 0.5 * rect.height()))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
    middle = QPoint((start.x() + end.x()) // 2, start.y())
    assert QColor(canvas.grab().toImage().pixel(middle)).lightness() < 128  # the new stroke shows, not stale paper


def rendered_afresh(canvas: DrawingCanvas) -> np.ndarray:
    """The drawing rendered from nothing, as image_array did before it kept the committed strokes."""
    from app.common.images import qimage_to_array
    from app.draw.strokes import paint_drawing, paint_stroke

    image = QImage(canvas.document_width, DOCUMENT_SIZE, QImage.Format.Format_Grayscale8)
    painter = QPainter(image)
    paint_drawing(painter, canvas.drawing, canvas.document_width)
    if canvas.stroke_in_progress():
        paint_stroke(painter, canvas._live_stroke())
    painter.end()
    return qimage_to_array(image)


def test_a_stroke_in_progress_is_painted_over_the_committed_drawing_rendered_once(qtbot, canvas):
    canvas.draw_stroke([(40, 40), (120, 60), (200, 200)], width=18)
    canvas.draw_stroke([(60, 220), (220, 40)], width=10, erase=True)
    committed = canvas.image_array()
    document = canvas._document
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(30, 200))
    for x in range(40, 260, 20):
        qtbot.mouseMove(canvas, QPoint(x, 200 - x // 3))
        assert np.array_equal(canvas.image_array(), rendered_afresh(canvas))  # pixel for pixel the same
    assert canvas._document is document  # the earlier strokes were not rendered again for each move
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(250, 120))
    assert np.array_equal(canvas.image_array(), rendered_afresh(canvas))
    canvas.undo()
    assert np.array_equal(canvas.image_array(), committed)
    canvas.clear()
    assert canvas.is_blank()


def test_the_same_stroke_in_progress_asked_for_twice_is_painted_once(qtbot, canvas, monkeypatch):
    import app.draw.canvas as canvas_module

    painted = []
    real_paint_stroke = canvas_module.paint_stroke
    monkeypatch.setattr(canvas_module, "paint_stroke", lambda *args: painted.append(1) or real_paint_stroke(*args))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(40, 40))
    qtbot.mouseMove(canvas, QPoint(120, 90))
    first = canvas.image_array()
    painted.clear()
    second = canvas.image_array()  # the window predicts it, then the teaching room saves it: one rendering
    assert painted == [] and np.array_equal(first, second) and second is not first
    second[:] = 0.0  # a caller's copy: changing it changes nothing shown
    assert np.array_equal(canvas.image_array(), first)
    qtbot.mouseMove(canvas, QPoint(200, 200))
    assert not np.array_equal(canvas.image_array(), first)  # the stroke grew: painted again
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))


def test_a_mouse_move_repaints_only_what_changed_and_the_screen_matches_a_full_repaint(qtbot, canvas, monkeypatch):
    from PySide6.QtGui import QRegion

    asked = [QRegion()]  # the region the canvas asked to repaint since the last move
    real_update = DrawingCanvas.update

    def recording_update(widget, *area):
        asked[0] = asked[0].united(QRegion(area[0]) if area else QRegion(widget.rect()))
        real_update(widget, *area)

    monkeypatch.setattr(DrawingCanvas, "update", recording_update)
    canvas.set_brush_size(24)
    screen = canvas.grab().toImage()  # what the screen shows: only repainted regions ever change on it
    moves = [(40 + 9 * step, 60 + int(40 * np.sin(step / 3))) for step in range(20)]
    for index, (x, y) in enumerate(moves):
        asked[0] = QRegion()
        if index == 5:
            qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y))  # hover first, then draw
        else:
            qtbot.mouseMove(canvas, QPoint(x, y))
        region = asked[0]
        full = canvas.grab().toImage()
        painter = QPainter(screen)
        painter.setClipRegion(region)
        painter.drawImage(0, 0, full)
        painter.end()
        assert screen == full, f"move {index}: pixels changed outside the repainted region"
        if index > 5:
            area = sum(rect.width() * rect.height() for rect in region)
            assert 0 < area < canvas.width() * canvas.height() / 4
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*moves[-1]))
