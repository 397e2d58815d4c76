"""``digitlab predict --json`` names every file in strict JSON, even a name that is not valid UTF-8."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from ml.cli.predict import format_record, number_record, predict_record

BAD_NAME = os.fsdecode(b"bad\xffname.png")  # what Python makes of such a name: a lone surrogate


class SureSeven:
    class_names = [str(i) for i in range(10)]

    def predict_one(self, image):
        return [0.01] * 7 + [0.91] + [0.01] * 2


def strict_round_trip(record: dict) -> dict:
    line = json.dumps(record, ensure_ascii=False).encode("utf-8")  # a lone surrogate raises here
    assert format_record(record, as_json=True) == json.dumps(record, allow_nan=False)
    return json.loads(line)


@pytest.mark.skipif(os.name == "nt", reason="a POSIX file name of arbitrary bytes")
def test_a_file_name_that_is_not_utf8_is_named_in_strict_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    Image.fromarray(digit).save(os.fsencode(tmp_path) + b"/bad\xffname.png")
    record = strict_round_trip(predict_record(BAD_NAME, SureSeven(), SureSeven.class_names))
    assert record["file"] == "bad\ufffdname.png" and record["prediction"] == 7
    assert bytes.fromhex(record["file_bytes"]) == b"bad\xffname.png"


@pytest.mark.skipif(os.name == "nt", reason="a POSIX file name of arbitrary bytes")
def test_an_unreadable_file_with_such_a_name_gives_a_strict_error_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(os.fsencode(tmp_path) + b"/bad\xffname.png", "wb") as file:
        file.write(b"not an image")
    for record in (predict_record(BAD_NAME, SureSeven(), []), number_record(BAD_NAME, SureSeven())):
        parsed = strict_round_trip(record)
        assert parsed["file"] == "bad\ufffdname.png" and "bad\ufffdname.png" in parsed["error"]


def test_a_utf8_name_is_kept_as_it_is(tmp_path):
    record = predict_record(str(tmp_path / "sieben-ä.png"), SureSeven(), [])  # missing: an error record
    assert record["file"] == str(tmp_path / "sieben-ä.png") and "file_bytes" not in record
