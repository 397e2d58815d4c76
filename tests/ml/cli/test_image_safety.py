"""``digitlab predict`` on hostile paths: PostScript named .png, a FIFO as image or model, a device, a giant image."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from ml.cli.main import main
from ml.preprocess import read
from tests.blocking import outcome_without_blocking
from tests.hostile_images import write_postscript


def run_without_blocking(arguments: list[str]) -> BaseException | int:
    """``main(arguments)``: its exit status or what it raised; fails the test if it blocks."""
    return outcome_without_blocking(main, arguments, timeout=120)


def records(text: str) -> dict[str, dict]:
    return {Path(record["file"]).name: record for record in map(json.loads, text.strip().splitlines())}


def test_predict_refuses_postscript_fifo_device_and_oversized_images_and_predicts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, no_image_programs: list
) -> None:
    marker = tmp_path / "marker"
    eps = tmp_path / "digit.png"
    write_postscript(eps, marker)
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    good = tmp_path / "seven.png"
    picture = Image.new("L", (140, 140), 255)
    picture.paste(0, (60, 20, 80, 120))
    picture.save(good)
    monkeypatch.setattr(read, "MAX_IMAGE_PIXELS", 30_000)
    big = tmp_path / "big.png"
    Image.new("L", (400, 300), 255).save(big)
    status = run_without_blocking(["predict", str(eps), str(fifo), "/dev/zero", str(big), str(good), "--json"])
    assert status in (0, 1)
    found = records(capsys.readouterr().out)
    assert "it is PostScript (EPS)" in found["digit.png"]["error"]
    assert found["pipe.png"]["error"].endswith("it is not a regular file (a named pipe).")
    assert found["zero"]["error"].endswith("it is not a regular file (a character device).")
    assert "400x300 pixels" in found["big.png"]["error"]
    assert found["seven.png"]["prediction"] == 1
    assert not marker.exists() and no_image_programs == []


def test_predict_with_a_fifo_as_model_says_so_instead_of_waiting(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = tmp_path / "model.keras"
    os.mkfifo(model)
    image = tmp_path / "digit.png"
    Image.new("L", (28, 28), 255).save(image)
    outcome = run_without_blocking(["predict", str(image), "--model", str(model)])
    assert isinstance(outcome, SystemExit) and outcome.code == 2
    assert "'model.keras' is not a regular file (a named pipe)" in capsys.readouterr().err
