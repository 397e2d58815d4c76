"""The comparison every export goes through, and the MNIST images it uses."""

from __future__ import annotations

import numpy as np
import pytest

from ml.export.verification import compare, mnist_reference


def test_compare_reports_difference_agreement_and_both_accuracies():
    reference = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], dtype=np.float32)
    exported = np.array([[0.8, 0.2], [0.2, 0.8], [0.45, 0.55], [0.3, 0.7]], dtype=np.float32)
    check = compare(reference, exported, np.array([0, 1, 1, 1]))
    assert check.images == 4
    assert check.max_probability_difference == pytest.approx(0.15, abs=1e-6)
    assert check.agreement == 0.75
    assert check.keras_accuracy == 0.75 and check.exported_accuracy == 1.0
    assert check.accuracy_drop == pytest.approx(-0.25)
    assert check.as_dict()["accuracy_drop"] == pytest.approx(-0.25)


def test_without_labels_only_agreement_is_measured():
    check = compare(np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float32), None)
    assert check.keras_accuracy is None and check.accuracy_drop is None and check.agreement == 1.0


def test_outputs_of_another_shape_are_refused():
    with pytest.raises(ValueError, match="shape"):
        compare(np.zeros((4, 10), np.float32), np.zeros((4, 9), np.float32), None)


def test_mnist_reference_is_digit_lab_images_with_labels():
    reference = mnist_reference(test_count=200, calibration_count=20)
    assert reference.test_images.shape == (200, 28, 28) and reference.test_images.dtype == np.float32
    assert 0.0 <= reference.test_images.min() and reference.test_images.max() <= 1.0
    assert reference.test_labels.shape == (200,) and set(reference.test_labels) <= set(range(10))
    assert reference.calibration_images.shape == (20, 28, 28)
    assert len({int(label) for label in reference.test_labels}) == 10
