"""A teach that reads the original test set more than a point worse is harmful; a sound teach's forgetting is not."""

from __future__ import annotations

from ml.teach.forgetting import TEST_DROP_WARNING, harmful_test_drop

RECORD = {"test_set": "mnist", "test_images": 10_000, "test_before": 0.997}


def test_a_drop_of_more_than_a_point_on_the_test_set_is_harmful_and_counts_the_digits_it_now_misreads():
    drop = harmful_test_drop({**RECORD, "test_after": 0.931})  # a clear 7 taught as a "1"
    assert drop is not None and round(drop.points, 2) == 6.6 and drop.more_misread == 660
    assert TEST_DROP_WARNING == 0.01


def test_a_sound_teachs_forgetting_and_a_teach_with_no_test_set_are_not_harmful():
    assert harmful_test_drop({**RECORD, "test_after": 0.9952}) is None  # the benchmark's teach: 0.18 points
    assert harmful_test_drop({**RECORD, "test_after": 0.987}) is None  # exactly 1 point: not more than it
    assert harmful_test_drop({**RECORD, "test_after": 0.9869}) is not None
    assert harmful_test_drop({**RECORD, "test_after": 0.998}) is None  # better
    no_test = {"test_set": None, "test_images": 0, "test_before": None, "test_after": None}
    assert harmful_test_drop(no_test) is None
