"""Every mistake of an evaluation, the most confident first, filterable by true and by predicted class."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.evaluate.gallery import ImageGallery, example_captions
from ml.plurals import plural

ANY = -1


def mistakes_title(shown: int, total: int, filtered: bool) -> str:
    """The gallery's title: ``shown`` of the evaluation's ``total`` mistakes (one of them read in the singular)."""
    if total == 0:
        return "Every image was classified correctly."
    if shown == 0:
        return f"No mistakes of this kind ({plural(total, 'mistake')} in all)."
    if total == 1:
        head = "The only mistake"
    elif filtered:
        head = f"{shown:,} of the {total:,} mistakes"
    else:
        head = f"All {total:,} mistakes"
    order = ", the most confident first" if shown > 1 else ""
    return f"{head}{order} (caption: true → predicted, confidence)."


class MistakesView(QWidget):
    """Two class filters over a gallery of the wrong predictions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.true_box = QComboBox()
        self.predicted_box = QComboBox()
        self.gallery = ImageGallery("No mistakes here.")
        self.evaluation = None
        self.images: np.ndarray | None = None
        for box in (self.true_box, self.predicted_box):
            box.setMinimumContentsLength(8)
            box.currentIndexChanged.connect(self._refresh)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("True class:"))
        filters.addWidget(self.true_box)
        filters.addSpacing(12)
        filters.addWidget(QLabel("Predicted as:"))
        filters.addWidget(self.predicted_box)
        filters.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.gallery, 1)
        self.clear()

    def set_evaluation(self, evaluation, images: np.ndarray) -> None:
        """Show the mistakes of ``evaluation`` (an ``ml.evaluation.run.Evaluation``) over the set's ``images``."""
        self.evaluation, self.images = evaluation, images
        for box in (self.true_box, self.predicted_box):
            box.blockSignals(True)
            box.clear()
            box.addItem("any", ANY)
            for number, name in enumerate(evaluation.class_names):
                box.addItem(name, number)
            box.blockSignals(False)
        self._refresh()

    def set_filters(self, true_class: int | None, predicted_class: int | None) -> None:
        """Choose the filters (None: any class)."""
        self.true_box.setCurrentIndex(self.true_box.findData(ANY if true_class is None else true_class))
        self.predicted_box.setCurrentIndex(
            self.predicted_box.findData(ANY if predicted_class is None else predicted_class)
        )

    def clear(self) -> None:
        """No evaluation."""
        self.evaluation, self.images = None, None
        for box in (self.true_box, self.predicted_box):
            box.blockSignals(True)
            box.clear()
            box.addItem("any", ANY)
            box.blockSignals(False)
        self.gallery.clear("Run an evaluation to see its mistakes.")

    @Slot()
    def _refresh(self) -> None:
        if self.evaluation is None:
            return
        from ml.evaluation.metrics import mistakes

        true_class, predicted_class = self.true_box.currentData(), self.predicted_box.currentData()
        true_class = None if true_class in (None, ANY) else int(true_class)
        predicted_class = None if predicted_class in (None, ANY) else int(predicted_class)
        evaluation = self.evaluation
        indices = mistakes(evaluation, true_class, predicted_class)
        total = int(np.count_nonzero(evaluation.labels != evaluation.predictions))
        captions, tooltips = example_captions(
            indices, evaluation.labels, evaluation.predictions, evaluation.confidence, evaluation.class_names
        )
        filtered = true_class is not None or predicted_class is not None
        self.gallery.show_images(
            mistakes_title(len(indices), total, filtered),
            self.images,
            indices,
            captions,
            tooltips,
        )
