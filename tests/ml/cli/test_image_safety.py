"""``digitlab predict`` on hostile paths: PostScript named .png, a FIFO as image or model, a device, a giant image."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from ml.cli.main import main
from ml.preprocess import read
from tests.blocking import outcome_without_blocking


@pytest.fixture
def no_image_programs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list:
    """Fail the test if Ghostscript (or any program given a file of the test) starts; others run as usual.

    TensorFlow's import itself runs ``uname -p``, so programs cannot be refused outright here.
    """
    refused = ("gs", "gswin32c", "gswin64c", "djpeg")
    started: list = []

    def guard(original):
        def run(command, *args, **kwargs):
            words = [command] if isinstance(command, str | os.PathLike) else list(command)
            if Path(str(words[0]).split()[0]).name in refused or any(str(tmp_path) in str(word) for word in words):
                started.append(words)
                raise AssertionError(f"an external program was started on an image: {words}")
            return original(command, *args, **kwargs)

        return run

    for name in ("Popen", "check_call", "call", "run", "check_output"):
        monkeypatch.setattr(subprocess, name, guard(getattr(subprocess, name)))
    return started


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
    eps.write_text(f"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n({marker}) (w) file closefile\n{{}} loop\n")
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
