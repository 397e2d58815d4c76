"""``digitlab predict`` says "not a digit" (text and JSON) without changing the fields it printed before."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ml.assets import bundled_model_path
from ml.cli.main import main
from ml.doubt.drawing import draw_strokes
from ml.preprocess.pipeline import render_mnist_on_canvas

pytestmark = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")

STAR = [[(0.5, 0.0), (0.62, 0.38), (1.0, 0.38), (0.69, 0.6), (0.8, 1.0), (0.5, 0.75), (0.2, 1.0), (0.31, 0.6),
         (0.0, 0.38), (0.38, 0.38), (0.5, 0.0)]]  # fmt: skip


def write_files(tmp_path):
    from ml.data.datasets import load_mnist

    star = tmp_path / "star.png"
    Image.fromarray(draw_strokes(STAR, 22.0, box=(40, 40, 200, 200), smooth=False)).save(star)
    mnist = load_mnist()
    seven = tmp_path / "seven.png"
    index = int(np.flatnonzero(mnist.y_test == 7)[0])
    Image.fromarray(render_mnist_on_canvas(mnist.x_test[index].reshape(28, 28))).save(seven)
    return star, seven


def test_json_adds_the_verdict_and_keeps_the_old_fields(tmp_path, capsys):
    star, seven = write_files(tmp_path)
    assert main(["predict", "--json", str(star), str(seven)]) == 0
    refused, digit = (json.loads(line) for line in capsys.readouterr().out.strip().splitlines())
    for record in (refused, digit):
        assert {"file", "prediction", "confidence", "probabilities", "verdict", "doubt"} <= set(record)
        assert isinstance(record["prediction"], int) and len(record["probabilities"]) == 10
        assert set(record["doubt"]) == {"score", "threshold", "calibrated"} and record["doubt"]["calibrated"] is True
    assert refused["verdict"] == "not_a_digit" and refused["reason"]
    assert refused["doubt"]["score"] >= refused["doubt"]["threshold"]
    assert digit["verdict"] == "digit" and digit["prediction"] == 7 and "reason" not in digit


def test_text_says_not_a_digit_with_the_top_guess(tmp_path, capsys):
    star, seven = write_files(tmp_path)
    assert main(["predict", str(star), str(seven)]) == 0
    star_line, seven_line = capsys.readouterr().out.strip().splitlines()
    assert star_line.startswith(f"{star}: not a digit: ") and "(top guess " in star_line
    assert seven_line.startswith(f"{seven}: 7 (")
