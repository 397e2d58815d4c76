"""The evaluation worker's jobs, with the ml sweep stubbed: what each job hands the window and the report."""

from __future__ import annotations

from types import SimpleNamespace

from app.evaluate.worker import EvaluationWorker, JobRequest, JobResult, ModelRef, report_request
from ml.evaluation import robustness
from ml.evaluation.robustness import SweepPoint


def test_the_sweep_keeps_the_ece_under_each_distortion_for_the_report(monkeypatch, tmp_path):
    """The workspace's report drew accuracy only, where ``digitlab evaluate --report`` draws the ECE beside it."""
    sweep = {"rotation": [SweepPoint(-15.0, 0.8, 0.07), SweepPoint(0.0, 0.9, 0.02)]}
    monkeypatch.setattr(robustness, "robustness_sweep", lambda *args, **kwargs: sweep)
    request = JobRequest("robustness", ModelRef("/models/m.keras", "m"), "mnist-test")
    worker = EvaluationWorker(request)
    eval_set = SimpleNamespace(images=None)  # the report does not read it here
    payload = worker._robustness(None, [0] * 40)
    assert payload["curves"] == {"rotation": [(-15.0, 0.8), (0.0, 0.9)]}
    assert payload["ece"] == {"rotation": [(-15.0, 0.07), (0.0, 0.02)]}

    shown = JobResult(JobRequest("evaluate", request.model, "mnist-test"), eval_set, {"evaluation": object()})
    report = report_request(shown, JobResult(request, eval_set, payload), str(tmp_path))
    assert report.curves == payload["curves"] and report.curves_ece == payload["ece"] and report.curves_images == 40
