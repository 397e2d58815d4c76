"""The comparison's words: McNemar's verdict in plain language."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from app.evaluate.compare_view import CompareView, mcnemar_words


def test_a_p_value_that_underflowed_is_not_shown_as_zero():
    words = mcnemar_words(0.0, 9, 1971, "trained fast", "digitlab-best")
    assert "p = 0;" not in words and "p < 0.0001" in words
    assert "digitlab-best is better" in words


def test_a_usual_p_value_is_shown_to_two_figures():
    assert "p = 0.018;" in mcnemar_words(0.017961, 25, 10, "a", "b")


class ThreeImages:
    images = np.zeros((3, 28, 28), dtype=np.float32)

    def __len__(self) -> int:
        return 3


def comparison_result(disagreements: list[int], only_a: int, only_b: int):
    test = SimpleNamespace(p_value=1.0 if only_a + only_b == 0 else 0.5, method="exact binomial")
    comparison = SimpleNamespace(b01=only_a, b10=only_b, accuracy_a=2 / 3, accuracy_b=2 / 3, test=test,
                                 disagreements=np.array(disagreements, dtype=np.int64))  # fmt: skip
    evaluation = SimpleNamespace(labels=np.array([0, 1, 2]), predictions=np.array([0, 1, 1]),
                                 confidence=np.full(3, 0.9), class_names=["0", "1", "2"], model_name="a")  # fmt: skip
    other = SimpleNamespace(**{**vars(evaluation), "predictions": np.array([0, 2, 1]), "model_name": "b"})
    payload = {"comparison": comparison, "evaluation": evaluation, "other_evaluation": other}
    request = SimpleNamespace(model=SimpleNamespace(name="a"), other=SimpleNamespace(name="b"))
    return SimpleNamespace(request=request, payload=payload, eval_set=ThreeImages())


def test_two_models_that_never_disagree_get_one_plain_sentence_not_an_empty_gallerys_caption_key(qtbot):
    """Comparing a model with a copy read "The 0 images where they predict differently (caption: true · a · b).
    The two models agree on every image.", and the verdict ended "nothing tells them apart here. (exact binomial)"."""
    view = CompareView()
    qtbot.addWidget(view)
    view.show_result(comparison_result([], 0, 0))
    assert view.gallery.title.text() == "The two models agree on every image." and view.gallery.count() == 0
    assert view.summary.text().endswith("nothing tells them apart here.")

    view.show_result(comparison_result([1], 1, 0))  # where they differ, the key to the captions is wanted
    assert view.gallery.title.text() == "The 1 image where they predict differently (caption: true · a · b)."
    assert view.gallery.count() == 1 and view.summary.text().endswith("(exact binomial)")
