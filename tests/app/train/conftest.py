"""Fixtures for the training tests: panels that clean up after themselves, and a stand-in fit that records configs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from app.train.panel import TrainingPanel
from ml.errors import TrainingError
from ml.training.config import TrainConfig, TrainResult
from tests.app.train.runs import PanelFactory


@pytest.fixture
def make_panel(qtbot, settings: QSettings, tmp_path: Path) -> Iterator[PanelFactory]:
    """Build panels that save models under ``tmp_path``; fail the test if one leaves its thread running."""
    panels: list[TrainingPanel] = []

    def make() -> TrainingPanel:
        panel = TrainingPanel(settings)
        panel.run.models_folder = tmp_path / "trained"
        qtbot.addWidget(panel)
        panel.resize(1100, 650)
        panels.append(panel)
        return panel

    yield make
    left_running = [panel for panel in panels if panel.is_running]
    for panel in left_running:
        assert panel.shutdown(30_000), "a training thread would not end"
    assert not left_running, "the test left a training thread running"


@pytest.fixture
def received(monkeypatch) -> list[TrainConfig]:
    """The configs that ``ml.training.fit.fit`` is called with (it then fails at once, as a refused run would)."""
    configs: list[TrainConfig] = []

    def capture_fit(config: TrainConfig, **hooks) -> TrainResult:
        configs.append(config)
        raise TrainingError("captured")

    monkeypatch.setattr("ml.training.fit.fit", capture_fit)
    return configs
