"""The samples held back to measure a teach: a fifth of each class, never a class's last sample."""

from __future__ import annotations

import numpy as np

from ml.teach.held_back import held_back_count, split_held_back


def test_held_back_part_is_a_fifth_of_each_class_and_keeps_one_to_teach():
    labels = np.asarray([0] * 10 + [1] * 5 + [2] * 1)
    teach_index, held_index = split_held_back(labels, 0.2)
    assert sorted(labels[held_index].tolist()) == [0, 0, 1]
    assert set(teach_index) | set(held_index) == set(range(16)) and not set(teach_index) & set(held_index)


def test_a_class_of_one_or_two_samples_holds_none_back():
    assert [held_back_count(size) for size in (0, 1, 2, 3, 5, 10)] == [0, 0, 0, 1, 1, 2]
