"""``digitlab predict --number``: one line per image with the number, each digit's box, class and probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.assets import bundled_model_path
from ml.cli.main import main
from ml.doubt.templates import LETTERS
from ml.numbers.reader import NOT_A_NUMBER
from tests.ml.numbers.pen import draw_in_box, draw_number

pytestmark = pytest.mark.skipif(not bundled_model_path().is_file(), reason="the bundled model is not built yet")


def write_number(path: Path, digits: str) -> tuple[Path, list]:
    image, strokes = draw_number(digits, [float(g) for g in np.resize([6, 22, 12], len(digits) - 1)])
    Image.fromarray(image).save(path)
    return path, strokes


def test_predict_number_json_has_the_number_and_every_digit(tmp_path, capsys):
    first, strokes = write_number(tmp_path / "year.png", "2026")
    second, _ = write_number(tmp_path / "code.png", "4179")
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 80), 250).save(blank)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert main(["predict", "--number", "--json", str(first), str(second), str(blank), str(broken)]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [record["file"] for record in records] == [str(first), str(second), str(blank), str(broken)]
    year, code, empty, damaged = records
    assert set(damaged) == {"file", "error"}
    assert year["number"] == "2026" and code["number"] == "4179"
    assert "reason" not in year
    for record in (year, code):
        assert {"file", "number", "digits"} <= set(record)
        assert [digit["prediction"] for digit in record["digits"]] == [int(d) for d in record["number"]]
        for digit in record["digits"]:
            assert {"box", "prediction", "confidence", "probabilities"} <= set(digit)
            assert len(digit["box"]) == 4 and all(isinstance(value, int) for value in digit["box"])
            assert sum(digit["probabilities"]) == pytest.approx(1.0, abs=1e-4)
            assert digit["confidence"] == pytest.approx(max(digit["probabilities"]), abs=1e-6)
        lefts = [digit["box"][0] for digit in record["digits"]]
        assert lefts == sorted(lefts)
    first_stroke_xs = [x for x, _ in strokes[0].points]  # the 2's box holds the 2 (boxes are the image's pixels)
    x, _, width, _ = year["digits"][0]["box"]
    assert x <= min(first_stroke_xs) and x + width >= max(first_stroke_xs)
    assert empty["number"] is None and empty["reason"] == "no ink found" and empty["digits"] == []


def test_a_blank_image_gives_the_reason_a_single_digit_gives_without_a_prefix(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 80), 250).save(blank)
    assert main(["predict", str(blank)]) == 0
    digit_line = capsys.readouterr().out.strip()
    assert main(["predict", "--number", str(blank)]) == 0
    number_line = capsys.readouterr().out.strip()
    assert digit_line == f"{blank}: no prediction (no ink found)"
    assert number_line == f"{blank}: no number (no ink found)"  # it said "(blank image: no ink found)"
    assert main(["predict", "--number", "--json", str(blank)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record == {"file": str(blank), "number": None, "reason": "no ink found", "digits": []}


def test_predict_number_in_words_and_a_broken_file_still_does_the_rest(tmp_path, capsys):
    good, _ = write_number(tmp_path / "n.png", "58")
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    assert main(["predict", "--number", str(broken), str(good)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"{broken}: error: ")
    assert lines[1].startswith(f"{good}: 58 (digits: 5 (")


def test_a_letter_cut_into_pieces_is_no_number_in_json_and_in_words(tmp_path, capsys):
    letter = tmp_path / "m.png"
    # read as "14" before the check on its parts; its pieces fail the check, and read whole it is refused
    Image.fromarray(draw_in_box(LETTERS["M"])[0]).save(letter)
    assert main(["predict", "--number", "--json", str(letter)]) == 0
    record = json.loads(capsys.readouterr().out)
    refused = "part 1 of 1 is not a digit ("
    assert record["number"] is None and record["reason"].startswith(refused) and record["reason"] != NOT_A_NUMBER
    assert len(record["digits"]) == 1 and record["digits"][0]["verdict"] == "not_a_digit"
    assert main(["predict", "--number", str(letter)]) == 0
    assert capsys.readouterr().out.startswith(f"{letter}: no number ({refused}")


def test_a_photographed_price_reads_with_its_point_in_json_and_in_words(tmp_path, capsys):
    from ml.doubt.drawing import as_photo
    from tests.ml.numbers.pen import written

    price = tmp_path / "price.png"
    Image.fromarray(as_photo(written("12.50", pen=10)[0], np.random.default_rng(4))).save(price)
    assert main(["predict", "--number", "--json", str(price)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["number"] == "12.50" and len(record["digits"]) == 4  # read "1250" before
    assert [mark["mark"] for mark in record["separators"]] == ["."]
    assert main(["predict", "--number", str(price)]) == 0
    assert capsys.readouterr().out.startswith(f"{price}: 12.50 (digits: 1 (")


def test_a_number_refused_as_one_digit_says_what_it_reads_as_with_number(tmp_path, capsys):
    """``predict`` without ``--number`` on an image of "2026" only said it looks like "a letter, a shape or a
    scribble"; the line now says the number it reads as with ``--number`` (the JSON keeps its fields)."""
    year, _ = write_number(tmp_path / "year.png", "2026")
    letter = tmp_path / "m.png"
    Image.fromarray(draw_in_box(LETTERS["M"])[0]).save(letter)
    assert main(["predict", str(year), str(letter)]) == 0
    year_line, letter_line = capsys.readouterr().out.strip().splitlines()
    assert year_line.startswith(f"{year}: not a digit: ")
    assert year_line.endswith("; it reads as the number 2026 with --number")
    assert letter_line.startswith(f"{letter}: not a digit: ") and "--number" not in letter_line
    assert main(["predict", "--json", str(year)]) == 0
    assert "reads_as_number" not in json.loads(capsys.readouterr().out)
