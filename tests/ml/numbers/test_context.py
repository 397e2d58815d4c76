"""A candidate part's window and the context network: the window holds the part's own ink and the number round it at
the number's digit height, the numpy forward pass computes what Keras computes, the shipped file tells a whole digit
from the left stroke of a wide 0, and a tampered file is refused (numbers are then read without it)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from ml.errors import ModelFileError
from ml.inference.numpy_network import read_checked_arrays
from ml.numbers import context_network as network_module
from ml.numbers.context import WINDOW_SHAPE, context_windows, number_ink
from ml.numbers.context_network import ContextNetwork, context_network_path, layer_shapes
from ml.numbers.lattice import build_lattice, digit_height
from ml.numbers.segment import Region, component_regions
from tests.ml.inference.shipped_networks import keras_outputs, random_weights


def ring(height: int = 60, width: int = 54, thickness: int = 7) -> np.ndarray:
    """A wide "0": an elliptical ring."""
    rows, columns = np.mgrid[0:height, 0:width]
    y, x = (rows - (height - 1) / 2) / (height / 2), (columns - (width - 1) / 2) / (width / 2)
    radius = np.sqrt(x * x + y * y)
    inner = 1.0 - 2.0 * thickness / min(height, width)
    return ((radius <= 1.0) & (radius >= inner)).astype(np.float32)


def bar(height: int = 60, thickness: int = 7) -> np.ndarray:
    """A "1": an upright bar."""
    return np.ones((height, thickness), dtype=np.float32)


def test_number_ink_puts_every_region_at_its_place():
    first, second = Region(2, 3, np.full((4, 5), 0.5, np.float32)), Region(1, 10, np.ones((6, 2), np.float32))
    ink = number_ink([first, second])
    assert ink.shape == (7, 12)
    assert np.all(ink[2:6, 3:8] == 0.5) and np.all(ink[1:7, 10:12] == 1.0)
    assert ink.sum() == pytest.approx(4 * 5 * 0.5 + 6 * 2)


def test_a_window_shows_the_part_alone_and_the_number_round_it_at_the_digit_height():
    ink = np.zeros((100, 300), np.float32)
    ink[20:80, 40:47] = bar()  # a "1" 60 pixels tall at columns 40-46
    ink[20:80, 100:154] = ring()  # a "0" beside it
    boxes = [(20, 40, 60, 7), (20, 100, 60, 54)]
    windows = context_windows(ink, [ink[20:80, 40:47], ink[20:80, 100:154]], boxes, typical=60)
    assert windows.shape == (2, *WINDOW_SHAPE, 2)
    own, whole = windows[0, :, :, 0], windows[0, :, :, 1]
    rows, columns = np.nonzero(own > 0.5)
    assert 9 <= rows.min() and rows.max() <= 30  # the digit height is 20 of the window's 40 rows, centred
    assert abs(columns.mean() - (WINDOW_SHAPE[1] - 1) / 2) < 1.5  # centred on the part
    assert whole[:, 45:].sum() > 10  # the 0 to its right is in the number's channel ...
    assert own[:, 45:].sum() == 0  # ... and not the part's own
    assert np.allclose(windows[1, :, :, 0], windows[1, :, :, 1] * (windows[1, :, :, 0] > 0), atol=0.35)


def test_a_part_at_the_edge_of_the_ink_keeps_its_window_shape():
    ink = np.zeros((30, 10), np.float32)
    ink[:, :4] = 1.0
    windows = context_windows(ink, [ink[:, :4]], [(0, 0, 30, 4)], typical=30)
    assert windows.shape == (1, *WINDOW_SHAPE, 2) and windows[0, :, :, 0].sum() > 0


def test_the_numpy_forward_pass_matches_keras():
    from ml.numbers.context_network import build_keras_network

    weights = random_weights(layer_shapes())
    windows = np.random.default_rng(1).random((5, *WINDOW_SHAPE, 2)).astype(np.float32)
    expected = keras_outputs(build_keras_network(), weights, windows)
    assert np.allclose(ContextNetwork(weights).logits(windows), expected, atol=1e-4)


def test_the_shipped_network_takes_a_wide_zero_whole_not_its_left_stroke_for_a_one():
    ink = np.zeros((100, 260), np.float32)
    ink[20:80, 30:37] = bar()
    ink[20:80, 70:140] = ring(width=70)  # wide for its height: a cut through it is offered
    ink[20:80, 175:182] = bar()
    regions = component_regions(ink)
    lattice = build_lattice(regions, digit_height(regions))
    scores = network_module.shipped_context_network().logits(
        context_windows(lattice.ink, [c.crop for c in lattice.candidates], [c.box for c in lattice.candidates], 60.0)
    )
    by_box = {candidate.box: score for candidate, score in zip(lattice.candidates, scores, strict=True)}
    whole_zero = by_box[(20, 70, 60, 70)]
    zero_pieces = [score for box, score in by_box.items() if 70 <= box[1] < 140 and box[3] < 45]  # halves
    assert zero_pieces, "the wide 0 should have been offered cuts"
    assert whole_zero > 0 > max(zero_pieces)
    assert by_box[(20, 30, 60, 7)] > 0 and by_box[(20, 175, 60, 7)] > 0  # the two 1s are whole digits


def test_a_tampered_network_file_is_refused_and_numbers_are_read_without_it(tmp_path, monkeypatch):
    tampered = tmp_path / "context.npz"
    shutil.copy(context_network_path(), tampered)
    with tampered.open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(ModelFileError, match="altered or damaged.*reinstall"):
        read_checked_arrays(
            tampered, network_module.CONTEXT_SHA256, layer_shapes(), network_module.MAX_FILE_BYTES, "context"
        )
    monkeypatch.setattr(network_module, "context_network_path", lambda: tampered)
    network_module.shipped_context_network.cache_clear()
    try:
        assert not network_module.context_network_available()
        from ml.numbers.parts import context_scores

        regions = component_regions(np.pad(np.ones((60, 7), np.float32), 10))
        assert context_scores(build_lattice(regions)) is None
    finally:
        network_module.shipped_context_network.cache_clear()
