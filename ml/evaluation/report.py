"""``digitlab evaluate --report DIR``: confusion.png, reliability.png, robustness.png, mistakes.png and an
index.html that shows them with the figures, written atomically (everything is drawn in memory first, then
written into a hidden temporary folder beside DIR and moved into place; a failure leaves nothing behind).
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ml.errors import DigitLabError
from ml.evaluation.drawing import draw_confusion, draw_message, draw_mistakes, draw_reliability, draw_robustness
from ml.evaluation.metrics import mistakes
from ml.evaluation.robustness import UNITS
from ml.plurals import plural

REPORT_FILES = ("confusion.png", "reliability.png", "robustness.png", "mistakes.png", "index.html")
MISTAKES_SHOWN = 40


class ReportError(DigitLabError):
    """The report folder could not be written; nothing was left half-written."""


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def mistake_captions(evaluation, indices: np.ndarray) -> list[str]:
    """ "4 as 9" over "97.1 %" (true class, predicted class, confidence) for each index; names shortened."""
    names = evaluation.class_names
    captions = []
    for index in indices:
        confidence = float(evaluation.confidence[index])
        shown = ">99.9 %" if confidence > 0.9995 else f"{100 * confidence:.1f} %"
        captions.append(f"{names[evaluation.labels[index]][:5]} as {names[evaluation.predictions[index]][:5]}\n{shown}")
    return captions


def render_report(
    evaluation,
    images: np.ndarray,
    robustness: dict | None,
    model_label: str,
    robustness_images: int | None = None,
    robustness_ece: dict | None = None,
) -> dict[str, bytes]:
    """Every report file's bytes: the four pictures and the index page (nothing is written yet);
    ``robustness_images``: how many images the sweep used (said in its title); ``robustness_ece``: the ECE curves
    (:func:`ml.evaluation.robustness.ece_curves`), drawn dashed beside the accuracy."""
    report = evaluation.report
    heading = f"{model_label} on {evaluation.set_title}"
    panels = [("the model's own probabilities", report.reliability)]
    if report.reliability_calibrated is not None:
        panels.append((f"calibrated (T = {report.temperature:.3f})", report.reliability_calibrated))
    worst = mistakes(evaluation)[:MISTAKES_SHOWN]
    files = {
        "confusion.png": _png(
            draw_confusion(
                report.confusion, report.class_names, f"Confusion matrix: {heading} ({100 * report.accuracy:.2f} %)"
            )
        ),
        "reliability.png": _png(draw_reliability(panels, f"Reliability (15 bins): {heading}")),
        "robustness.png": _png(
            draw_robustness(
                robustness or {},
                UNITS,
                f"{'Accuracy and calibration' if robustness_ece else 'Accuracy'} under rotation, scale, shift, "
                f"thickness and noise: {model_label}{_on_images(robustness_images)}",
                ece=robustness_ece,
            )
            if robustness
            else draw_message("Robustness", "No robustness sweep was run for this report.")
        ),
        "mistakes.png": _png(
            draw_mistakes(
                images[worst],
                mistake_captions(evaluation, worst),
                f"The {len(worst)} most confident mistakes (true class as predicted, "
                f"confidence) of {len(mistakes(evaluation))}",
            )
        ),
    }
    files["index.html"] = index_page(evaluation, model_label, robustness).encode("utf-8")
    return files


def _on_images(count: int | None) -> str:
    return "" if count is None else f", {plural(count, 'image')}"


def index_page(evaluation, model_label: str, robustness: dict | None) -> str:
    """A self-contained page with the figures, the per-class table and the four pictures."""
    report = evaluation.report
    low, high = report.accuracy_ci95
    calibrated = (
        f"{100 * report.ece_calibrated:.2f} % with the stored temperature T = {report.temperature:.3f}"
        if report.temperature is not None and report.ece_calibrated is not None
        else "no temperature stored (<code>digitlab calibrate</code> fits one)"
    )
    rows = "".join(
        f"<tr><td>{html.escape(f.class_name)}</td><td>{f.precision:.4f}</td><td>{f.recall:.4f}</td>"
        f"<td>{f.f1:.4f}</td><td>{f.support}</td></tr>"
        for f in report.per_class
    )
    sweep = "" if robustness else "<p>No robustness sweep was run.</p>"
    title = html.escape(f"{model_label} on {evaluation.set_title}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Digit Lab evaluation: {title}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#212529;max-width:1100px}}td,th{{padding:2px 10px;
text-align:right}}table{{border-collapse:collapse}}tr:nth-child(even){{background:#f1f3f5}}img{{max-width:100%;
border:1px solid #dee2e6;margin:0.5em 0}}</style></head><body>
<h1>Digit Lab evaluation</h1><p>{title}</p>
<ul><li>accuracy <b>{100 * report.accuracy:.2f} %</b> ({report.correct:,} of {report.n:,}); 95 % interval (Wilson)
{100 * low:.2f}–{100 * high:.2f} %</li><li>top-2 accuracy {100 * report.top2_accuracy:.2f} %</li>
<li>expected calibration error (15 bins) {100 * report.ece:.2f} %; calibrated: {calibrated}</li></ul>
<h2>Confusion matrix</h2><img src="confusion.png" alt="confusion matrix">
<h2>Per class</h2><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>
{rows}</table>
<h2>Calibration</h2><img src="reliability.png" alt="reliability diagram">
<h2>Robustness</h2>{sweep}<img src="robustness.png" alt="accuracy under rotation, scale, shift, thickness, noise">
<h2>Mistakes</h2><img src="mistakes.png" alt="the most confident mistakes">
</body></html>
"""


def check_report_folder(folder: str | os.PathLike) -> Path:
    """The report folder, refused in plain words (ReportError) when it is a file or cannot be written, so that a
    long evaluation is not run for nothing; a test folder is made and removed at once where the report will go."""
    target = Path(folder).expanduser()
    if target.exists() and not target.is_dir():
        raise ReportError(f"{target} is a file, not a folder; give a folder for the report.")
    nearest = next(place for place in (target, *target.parents) if place.exists())
    if not nearest.is_dir():
        raise ReportError(f"Cannot write the report to {target}: {nearest} is a file, not a folder.")
    for place in (target, target.parent) if nearest == target else (nearest,):
        try:
            os.rmdir(tempfile.mkdtemp(prefix=f".{target.name}.check-", dir=place))
        except OSError as error:
            raise ReportError(
                f"Cannot write the report to {target}: the folder {place} cannot be written "
                f"({error.strerror or error})."
            ) from None
    return target


def write_report(folder: str | os.PathLike, files: dict[str, bytes]) -> Path:
    """Write ``files`` into ``folder`` atomically: all of them or none (an existing folder keeps its other files,
    and its older report files until the new ones are complete). Raises ReportError with the reason."""
    target = Path(folder).expanduser()
    if target.exists() and not target.is_dir():
        raise ReportError(f"{target} is a file, not a folder; give a folder for the report.")
    created = [parent for parent in [target.parent, *target.parent.parents] if not parent.exists()]
    workspace: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        workspace = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        for name, data in files.items():
            with open(workspace / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        if not target.exists():
            os.chmod(workspace, 0o755)
            os.rename(workspace, target)
            workspace = None
        else:
            for name in files:
                os.replace(workspace / name, target / name)
            shutil.rmtree(workspace, ignore_errors=True)  # now empty: the hidden folder must not stay beside it
            workspace = None
    except OSError as error:
        if workspace is not None:
            shutil.rmtree(workspace, ignore_errors=True)
        for parent in created:  # folders made for this report, innermost first (only if still empty)
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise ReportError(
            f"Could not write the report to {target}: {error.strerror or error}; nothing was written."
        ) from None
    except BaseException:
        if workspace is not None:
            shutil.rmtree(workspace, ignore_errors=True)
        raise
    return target
