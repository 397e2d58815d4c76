"""Compare two models on the same images: each accuracy, McNemar's test in plain words, and where they disagree."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.evaluate.gallery import ImageGallery, short_name
from ml.evaluation.compare import p_value_text
from ml.plurals import plural


def mcnemar_words(p_value: float, only_a: int, only_b: int, name_a: str, name_b: str) -> str:
    """What McNemar's test says, for people: is the difference in errors more than chance?"""
    if only_a + only_b == 0:
        return "They are right and wrong on exactly the same images: nothing tells them apart here."
    better = name_a if only_a > only_b else name_b
    if p_value < 0.001:
        verdict = f"{better} is better on this set, and a difference this large almost never arises by chance"
    elif p_value < 0.05:
        verdict = (
            f"{better} is probably better on this set (a difference this large arises by chance under 5 % of the time)"
        )
    else:
        verdict = "the difference could well be chance: on this set neither model is shown to be better"
    return f"McNemar's test: {p_value_text(p_value)}; {verdict}."


class CompareView(QWidget):
    """``compare_requested(source)`` (``"previous"`` or ``"file"``); shows a comparison and its disagreements."""

    compare_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.previous_button = QPushButton("Compare with the previous model")
        self.file_button = QPushButton("Compare with a model file…")
        self.previous_button.clicked.connect(lambda: self.compare_requested.emit("previous"))
        self.file_button.clicked.connect(lambda: self.compare_requested.emit("file"))
        self.summary = QLabel("Compare the active model with another one on the chosen set.")
        self.summary.setWordWrap(True)
        self.gallery = ImageGallery("The two models agree on every image.", placeholder="")
        buttons = QHBoxLayout()
        buttons.addWidget(self.previous_button)
        buttons.addWidget(self.file_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        layout.addWidget(self.gallery, 1)

    def show_comparison(self, comparison, name_a: str, name_b: str, n: int) -> None:
        """The accuracies, the counts of images only one gets right, and McNemar's verdict."""
        only_a, only_b = int(comparison.b01), int(comparison.b10)
        accuracy_a, accuracy_b = comparison.accuracy_a * 100, comparison.accuracy_b * 100
        self.summary.setText(
            f"On {plural(n, 'image')}: {name_a} {accuracy_a:.2f} %, {name_b} {accuracy_b:.2f} %. "
            f"Only {name_a} is right on {only_a:,}, only {name_b} on {only_b:,}; "
            f"they predict differently on {len(comparison.disagreements):,}.\n"
            + mcnemar_words(float(comparison.test.p_value), only_a, only_b, name_a, name_b)
            + (f" ({comparison.test.method})" if only_a + only_b else "")  # no test to name when none differ
        )

    def show_result(self, result) -> None:
        """A compare job's result (``app.evaluate.worker.JobResult``): the figures and the disagreements' gallery."""
        payload = result.payload
        name_a, name_b = result.request.model.name, result.request.other.name
        self.show_comparison(payload["comparison"], name_a, name_b, len(result.eval_set))
        indices = np.asarray(payload["comparison"].disagreements, dtype=np.int64)
        if not len(indices):  # no gallery to explain the captions of
            self.gallery.clear(self.gallery.empty_text)
            return
        captions, tooltips = disagreement_captions(indices, payload["evaluation"], payload["other_evaluation"])
        self.gallery.show_images(
            f"The {plural(len(indices), 'image')} where they predict differently "
            f"(caption: true · {name_a} · {name_b}).",
            result.eval_set.images,
            indices,
            captions,
            tooltips,
        )

    def set_buttons_enabled(self, previous: bool, file: bool) -> None:
        """Which comparisons are possible now."""
        self.previous_button.setEnabled(previous)
        self.file_button.setEnabled(file)

    def clear(self) -> None:
        """Nothing compared."""
        self.summary.setText("Compare the active model with another one on the chosen set.")
        self.gallery.clear()


def disagreement_captions(indices: np.ndarray, evaluation_a, evaluation_b) -> tuple[list[str], list[str]]:
    """``4 · 4 · 9`` (true · first model · second model) and a sentence for each image where the two differ."""
    names = evaluation_a.class_names
    captions, tooltips = [], []
    for index in np.asarray(indices, dtype=np.int64):
        true_name = names[int(evaluation_a.labels[index])]
        a_name = names[int(evaluation_a.predictions[index])]
        b_name = evaluation_b.class_names[int(evaluation_b.predictions[index])]
        captions.append(f"{short_name(true_name)} · {short_name(a_name)} · {short_name(b_name)}")
        tooltips.append(
            f"Image #{int(index)}: true {true_name}; {evaluation_a.model_name} says {a_name} "
            f"({evaluation_a.confidence[index] * 100:.1f} %), {evaluation_b.model_name} says {b_name} "
            f"({evaluation_b.confidence[index] * 100:.1f} %). Click to open it in the canvas."
        )
    return captions, tooltips
