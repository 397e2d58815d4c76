"""Which of the user's samples are held back to measure a teach: about a fifth of each class, never its last one."""

from __future__ import annotations

import math

import numpy as np

HELD_BACK_FRACTION = 0.2


def held_back_count(samples: int, fraction: float = HELD_BACK_FRACTION) -> int:
    """How many of a class's ``samples`` are held back (none of a class with one or two)."""
    return max(0, min(int(math.floor(samples * fraction + 0.5)), samples - 1))


def split_held_back(labels: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices to teach on and to hold back: :func:`held_back_count` of each class, chosen at random."""
    rng = np.random.default_rng(seed)
    teach, held = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = held_back_count(len(members), fraction)
        held.extend(members[:count])
        teach.extend(members[count:])
    return np.sort(np.asarray(teach, dtype=np.int64)), np.sort(np.asarray(held, dtype=np.int64))
