"""The report folder: four valid PNGs and an index page, written all at once or not at all."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ml.evaluation import report
from ml.evaluation.report import REPORT_FILES, ReportError, check_report_folder, render_report, write_report
from ml.evaluation.robustness import LEVELS
from tests.ml.evaluation.test_metrics import evaluation_of, random_case


@pytest.fixture(scope="module")
def files():
    probabilities, labels = random_case(200)
    evaluation = evaluation_of(probabilities, labels, temperature=1.3)
    images = np.random.default_rng(0).random((200, 4, 4)).astype(np.float32)
    robustness = {kind: [(level, 0.9 - 0.01 * abs(level)) for level in levels] for kind, levels in LEVELS.items()}
    ece = {kind: [(level, 0.01 * abs(level)) for level in levels] for kind, levels in LEVELS.items()}
    return render_report(evaluation, images, robustness, "tiny model", robustness_images=200, robustness_ece=ece)


def test_the_report_pngs_are_valid_images(files, tmp_path):
    folder = write_report(tmp_path / "reports" / "run1", files)
    assert sorted(path.name for path in folder.iterdir()) == sorted(REPORT_FILES)
    minimum = {"confusion.png": (400, 400), "reliability.png": (700, 400), "robustness.png": (900, 450),
               "mistakes.png": (400, 150)}  # fmt: skip
    for name, (width, height) in minimum.items():
        with Image.open(folder / name) as image:
            image.verify()
        with Image.open(folder / name) as image:
            assert image.format == "PNG" and image.width >= width and image.height >= height
            assert len(image.getcolors(1 << 20) or range(1000)) > 10  # drawn, not blank
    page = (folder / "index.html").read_text()
    for name in REPORT_FILES[:-1]:
        assert f'src="{name}"' in page
    assert "T = 1.300" in page and "Wilson" in page
    assert not [path for path in folder.parent.iterdir() if path.name.startswith(".")]  # no temporary folder left


def test_an_existing_folder_keeps_its_other_files(files, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "confusion.png").write_bytes(b"old")
    write_report(tmp_path, files)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "confusion.png").read_bytes() == files["confusion.png"]


def test_a_failed_report_leaves_nothing_behind(files, tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ReportError, match="is a file"):
        write_report(tmp_path / "a-file", files)
    with pytest.raises(ReportError, match="nothing was written"):
        write_report(tmp_path / "a-file" / "inside", files)
    broken = dict(files, **{"sub/dir.png": b"x"})  # a name that cannot be written midway
    with pytest.raises(ReportError):
        write_report(tmp_path / "new" / "report", broken)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file"]  # no report, no made folders, no temp


def test_a_report_without_a_sweep_says_so(tmp_path):
    probabilities, labels = random_case(50)
    evaluation = evaluation_of(probabilities, labels)
    files = render_report(evaluation, np.zeros((50, 4, 4), np.float32), None, "tiny model")
    folder = write_report(tmp_path / "report", files)
    with Image.open(folder / "robustness.png") as image:
        assert image.size == (640, 90)
    assert "No robustness sweep" in (folder / "index.html").read_text()


def test_writing_into_an_existing_folder_leaves_no_hidden_folder_beside_it(files, tmp_path):
    folder = tmp_path / "rep_exist"
    folder.mkdir()
    for _run in range(2):
        write_report(folder, files)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["rep_exist"]
    assert sorted(path.name for path in folder.iterdir()) == sorted(REPORT_FILES)


def test_a_report_folder_that_will_not_do_is_refused_before_any_work(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ReportError, match="is a file, not a folder; give a folder"):
        check_report_folder(tmp_path / "a-file")
    with pytest.raises(ReportError, match=r"a-file is a file, not a folder\.$"):
        check_report_folder(tmp_path / "a-file" / "inside" / "deeper")
    assert check_report_folder(tmp_path / "new" / "report") == tmp_path / "new" / "report"
    (tmp_path / "old").mkdir()
    assert check_report_folder(tmp_path / "old") == tmp_path / "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file", "old"]  # nothing made, no test folder left


def test_a_report_folder_that_cannot_be_written_is_refused(tmp_path, monkeypatch):
    def full_disk(*_arguments, **_keywords):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report.tempfile, "mkdtemp", full_disk)
    with pytest.raises(ReportError, match=r"the folder .* cannot be written \(No space left on device\)"):
        check_report_folder(tmp_path / "report")


def test_the_robustness_picture_claims_calibration_only_when_it_draws_the_ece(monkeypatch):
    """The workspace's report passed no ECE curves, yet robustness.png was titled "Accuracy and calibration under
    shift"; with no sweep at all it read "Accuracy under shift", shift being one of the five distortions."""
    titles = []
    drawn = report.draw_robustness
    monkeypatch.setattr(report, "draw_robustness", lambda *args, **kw: titles.append(args[2]) or drawn(*args, **kw))
    message = report.draw_message
    monkeypatch.setattr(report, "draw_message", lambda title, text: titles.append(title) or message(title, text))
    probabilities, labels = random_case(50)
    evaluation = evaluation_of(probabilities, labels)
    images = np.zeros((50, 4, 4), np.float32)
    robustness = {kind: [(level, 0.9) for level in levels] for kind, levels in LEVELS.items()}
    ece = {kind: [(level, 0.05) for level in levels] for kind, levels in LEVELS.items()}

    render_report(evaluation, images, robustness, "tiny model", robustness_images=50)
    render_report(evaluation, images, robustness, "tiny model", robustness_images=50, robustness_ece=ece)
    render_report(evaluation, images, None, "tiny model")

    without_ece, with_ece, no_sweep = titles
    assert "calibration" not in without_ece and without_ece.startswith("Accuracy under rotation, scale, shift")
    assert with_ece.startswith("Accuracy and calibration under rotation, scale, shift")
    assert "shift" not in no_sweep
