"""Connected components as number reading uses them."""

from __future__ import annotations

import numpy as np

from ml.preprocess.components import label_components


def test_label_components_numbers_8_connected_pieces():
    mask = np.zeros((6, 8), dtype=bool)
    mask[0:2, 0:2] = True
    mask[2, 2] = True  # touches the first piece diagonally: the same component
    mask[3:6, 5:8] = True
    mask[5, 0] = True
    labels, count = label_components(mask)
    assert count == 3
    assert labels[0, 0] == labels[2, 2] != 0
    assert len({labels[0, 0], labels[4, 6], labels[5, 0]}) == 3
    assert (labels > 0).sum() == mask.sum() and not labels[~mask].any()


def test_label_components_of_nothing():
    labels, count = label_components(np.zeros((4, 4), dtype=bool))
    assert count == 0 and not labels.any()
