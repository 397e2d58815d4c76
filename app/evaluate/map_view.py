"""A map of the data: the set projected from the model's penultimate layer (PCA, or t-SNE on a sample), coloured by
class; hovering a point shows its image, clicking opens it in the canvas."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.common.images import array_to_qimage
from app.evaluate.hints import wrapped_hint
from ml.plurals import plural

PREVIEW_SIDE = 112
MAP_PLACEHOLDER = "Each point is an image, placed by what the model's last hidden layer makes of it."


def class_colours(count: int) -> list[tuple[int, int, int]]:
    """Distinct colours for ``count`` classes (matplotlib's tab10 first, then evenly spaced hues)."""
    tab10 = [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    ]  # fmt: skip
    if count <= len(tab10):
        return tab10[:count]
    return [pg.intColor(index, hues=count).getRgb()[:3] for index in range(count)]


class MapView(QWidget):
    """``map_requested(method)``; ``image_chosen(index)`` when a point is clicked."""

    map_requested = Signal(str)
    image_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method_box = QComboBox()
        self.method_box.addItem("PCA (every image)", "pca")
        self.method_box.addItem("t-SNE (2,000 images, slower)", "tsne")
        self.draw_button = QPushButton("Draw the map")
        self.draw_button.clicked.connect(lambda: self.map_requested.emit(str(self.method_box.currentData())))
        self.status_label = QLabel(MAP_PLACEHOLDER)
        self.status_label.setWordWrap(True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("MapPlot")
        self.plot.setMenuEnabled(False)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.scatter = pg.ScatterPlotItem(size=5, pen=None, hoverable=True, hoverSize=10)
        self.scatter.sigHovered.connect(self._on_hovered)
        self.scatter.sigClicked.connect(self._on_clicked)
        self.plot.addItem(self.scatter)
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: black;")
        self.preview_text = QLabel("Hover over a point.")
        self.preview_text.setWordWrap(True)
        self.preview_text.setFixedWidth(PREVIEW_SIDE + 40)
        self.images: np.ndarray | None = None
        self.labels = np.zeros(0, dtype=np.int64)
        self.predictions: np.ndarray | None = None  # None: the set was not evaluated, nothing to say of it
        self.class_names: list[str] = []
        controls = QHBoxLayout()
        controls.addWidget(self.method_box)
        controls.addWidget(self.draw_button)
        controls.addStretch(1)
        side = QVBoxLayout()
        side.addWidget(self.preview)
        side.addWidget(self.preview_text)
        side.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.plot, 1)
        body.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.status_label)
        layout.addLayout(body, 1)
        layout.addWidget(wrapped_hint("Click a point to open its image in the canvas."))

    def show_map(
        self,
        points: np.ndarray,
        indices: np.ndarray,
        images: np.ndarray,
        labels: np.ndarray,
        predictions: np.ndarray | None,
        class_names: list[str],
        title: str,
    ) -> None:
        """Plot ``points`` (n, 2) of the set's images ``indices``, coloured by true class."""
        self.images, self.labels, self.class_names = images, np.asarray(labels), list(class_names)
        self.predictions = None if predictions is None else np.asarray(predictions)
        colours = class_colours(len(class_names))
        indices = np.asarray(indices, dtype=np.int64)
        brushes = [pg.mkBrush(*colours[int(self.labels[index]) % len(colours)], 200) for index in indices]
        self.scatter.setData(pos=np.asarray(points, dtype=np.float64), data=indices, brush=brushes)
        self.legend.clear()
        for number, name in enumerate(class_names[:20]):
            sample = pg.ScatterPlotItem(size=8, pen=None, brush=pg.mkBrush(*colours[number % len(colours)]))
            self.legend.addItem(sample, name)
        self.plot.autoRange()
        self.status_label.setText(title)

    def show_result(self, result, predictions: np.ndarray | None = None) -> None:
        """A map job's result (``app.evaluate.worker.JobResult``), with the set's predictions when known."""
        payload, eval_set = result.payload, result.eval_set
        method = "PCA" if payload["method"] == "pca" else "t-SNE"
        images = f"{plural(len(payload['indices']), 'image')} of {eval_set.title.split(' (')[0]}"
        self.show_map(payload["points"], payload["indices"], eval_set.images, eval_set.labels, predictions,
                      eval_set.class_names, f"{method} of {payload['layer']}: {images}.")  # fmt: skip

    def clear(self) -> None:
        """No map."""
        self.scatter.clear()
        self.legend.clear()
        self.images = None
        self.preview.clear()
        self.preview_text.setText("Hover over a point.")
        self.status_label.setText(MAP_PLACEHOLDER)  # not the title of a map no longer shown (another model's layer)

    def describe(self, index: int) -> str:
        """``#123: true 4, predicted 9`` (``#123: true 4`` when the set's predictions are not known)."""
        true_name = self.class_names[int(self.labels[index])]
        if self.predictions is None:
            return f"#{index}: true {true_name}"
        return f"#{index}: true {true_name}, predicted {self.class_names[int(self.predictions[index])]}"

    @Slot(object, object, object)
    def _on_hovered(self, _item, points, _event) -> None:
        if self.images is None or points is None or len(points) == 0:
            return
        index = int(points[0].data())
        image = array_to_qimage(np.asarray(self.images[index], dtype=np.float32))
        self.preview.setPixmap(QPixmap.fromImage(image.scaled(PREVIEW_SIDE, PREVIEW_SIDE)))
        self.preview_text.setText(self.describe(index))

    @Slot(object, object, object)
    def _on_clicked(self, _item, points, _event) -> None:
        if points is not None and len(points):
            self.image_chosen.emit(int(points[0].data()))
