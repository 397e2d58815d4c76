"""The model summary dialog: one table row per layer, the totals, and a diagram with towers side by side."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.models.summary_dialog import LayerBox, ModelSummaryDialog, place_layers
from ml.models.summary import LayerDescription, ModelDescription, TeachingRow

ROOT = Path(__file__).resolve().parents[3]


def layer(name: str, class_name: str, shape: tuple, parameters: int = 0, inbound: tuple = (), trainable=None):
    """A hand-made layer description."""
    return LayerDescription(
        name=name,
        class_name=class_name,
        output_shapes=(shape,),
        parameters=parameters,
        trainable_parameters=parameters if trainable is None else trainable,
        trainable=True,
        inbound=inbound,
    )


def two_tower_description() -> ModelDescription:
    """image → two dense towers → average: the shape of the ``best`` ensemble, in Keras's interleaved order."""
    layers = (
        layer("image", "InputLayer", (None, 4)),
        layer("a1", "Dense", (None, 8), 40, ("image",)),
        layer("b1", "Dense", (None, 8), 40, ("image",)),
        layer("a2", "Dense", (None, 3), 27, ("a1",)),
        layer("b2", "Dense", (None, 3), 27, ("b1",), trainable=0),
        layer("mean", "Average", (None, 3), 0, ("a2", "b2")),
    )
    return ModelDescription("towers", layers, total_parameters=134, trainable_parameters=107)


@pytest.fixture
def dialog(qtbot):
    instance = ModelSummaryDialog(two_tower_description())
    qtbot.addWidget(instance)
    instance.show()
    qtbot.waitExposed(instance)
    return instance


def table_rows(dialog: ModelSummaryDialog) -> list[list[str]]:
    table = dialog.table
    return [
        [table.topLevelItem(row).text(column) for column in range(table.columnCount())]
        for row in range(table.topLevelItemCount())
    ]


def test_one_row_per_layer_with_type_shape_parameters_and_trainable(dialog):
    assert table_rows(dialog) == [
        ["image", "InputLayer", "(None, 4)", "0", "—"],
        ["a1", "Dense", "(None, 8)", "40", "yes"],
        ["b1", "Dense", "(None, 8)", "40", "yes"],
        ["a2", "Dense", "(None, 3)", "27", "yes"],
        ["b2", "Dense", "(None, 3)", "27", "no"],
        ["mean", "Average", "(None, 3)", "0", "—"],
    ]
    assert dialog.totals_label.text() == "6 layers · 134 parameters (107 trainable, 27 non-trainable)"
    assert "towers" in dialog.windowTitle()


def test_the_diagram_has_a_box_per_layer_an_arrow_per_connection_and_towers_side_by_side(dialog):
    boxes = dialog.diagram.boxes
    assert sorted(boxes) == sorted(["image", "a1", "b1", "a2", "b2", "mean"])
    assert len(dialog.diagram.arrows) == 6
    assert boxes["a1"].x() == boxes["a2"].x() == boxes["image"].x()  # a chain stays in its column
    assert boxes["b1"].x() == boxes["b2"].x() > boxes["a1"].x()  # the second tower beside the first
    assert boxes["a1"].y() == boxes["b1"].y() > boxes["image"].y()
    assert boxes["mean"].x() == pytest.approx((boxes["a2"].x() + boxes["b2"].x()) / 2)  # centred under both
    assert boxes["mean"].y() > boxes["a2"].y()


def test_selecting_a_row_selects_its_box_and_clicking_a_box_selects_its_row(dialog):
    dialog.table.setCurrentItem(dialog.table.topLevelItem(4))
    selected = [item for item in dialog.diagram.selectedItems() if isinstance(item, LayerBox)]
    assert [box.layer.name for box in selected] == ["b2"]
    dialog.diagram.clearSelection()
    dialog.diagram.boxes["a1"].setSelected(True)
    assert dialog.table.currentItem().data(0, Qt.ItemDataRole.UserRole) == "a1"


def test_place_layers_gives_each_branch_its_own_column():
    placements = place_layers(two_tower_description().layers)
    assert {name: (spot.column, spot.row) for name, spot in placements.items()} == {
        "image": (0, 0),
        "a1": (0, 1),
        "b1": (1, 1),
        "a2": (0, 2),
        "b2": (1, 2),
        "mean": (0.5, 3),
    }


def test_a_real_preset_shows_every_layer_and_the_keras_totals(qtbot):
    from ml.models.presets import build_model
    from ml.models.summary import describe_model

    model = build_model("best", (28, 28, 1), 10)
    dialog = ModelSummaryDialog(describe_model(model))
    qtbot.addWidget(dialog)
    assert dialog.table.topLevelItemCount() == len(model.layers)
    assert f"{model.count_params():,} parameters" in dialog.totals_label.text()
    columns = {box.x() for name, box in dialog.diagram.boxes.items() if name.startswith("tower")}
    assert len(columns) == 3  # the three ensemble members side by side


def test_the_model_menu_shows_the_active_models_summary_and_follows_model_changes(qtbot, settings):
    from app.main_window import MainWindow
    from ml.assets import bundled_model_path

    if not bundled_model_path().is_file():
        pytest.skip("the bundled model is not built yet")
    window = MainWindow(settings)
    try:
        window.show()
        assert not window.summary_action.isEnabled()  # no model yet
        with qtbot.waitSignal(window.models.model_loaded, timeout=120_000):
            window.start()
        assert window.summary_action.isEnabled()
        assert window.summary_action in window.menuBar().actions()[2].menu().actions()  # Model menu
        with qtbot.waitSignal(window.models.model_described, timeout=30_000):
            window.summary_action.trigger()
        dialog = window.summary.dialog
        assert dialog is not None and dialog.isVisible()
        from ml.models.files import load_model

        bundled = load_model(bundled_model_path()).model
        assert dialog.table.topLevelItemCount() == len(dialog.description.layers) == len(bundled.layers)
        assert "digitlab-best" in dialog.windowTitle()
        assert dialog.description.total_parameters == bundled.count_params()
        legacy = ROOT / "tests" / "fixtures" / "tutorial_mlp_28x28_tfkeras2.h5"
        with qtbot.waitSignal(window.models.model_described, timeout=60_000):
            window.open_model_file(legacy)  # the open summary follows the newly active model
        assert "tutorial_mlp_28x28_tfkeras2" in dialog.windowTitle()
        assert dialog.table.topLevelItemCount() == len(dialog.description.layers) != len(bundled.layers)
    finally:
        window.shutdown()
        window.close()


def test_the_card_shows_its_facts_and_the_table_has_room(qtbot):
    card = (("Preset", "fast"), ("Dataset", "MNIST"), ("Test accuracy", "99.09 %"), ("Created", "2026-12-03 09:41"))
    description = ModelDescription("fast", two_tower_description().layers, 134, 107, card=card)
    instance = ModelSummaryDialog(description)
    qtbot.addWidget(instance)
    instance.show()
    qtbot.waitExposed(instance)
    assert instance.card_label.isVisible()
    for label, text in card:
        assert f"<b>{label}</b>" in instance.card_label.text() and text in instance.card_label.text()
    row = instance.table.visualItemRect(instance.table.topLevelItem(0))
    assert row.height() >= instance.table.fontMetrics().height() + 6  # padded rows, not cramped
    header = instance.table.header()
    assert all(header.sectionSize(column) > 0 for column in range(header.count()))
    assert instance.table.viewport().width() >= header.length() - header.sectionSize(header.count() - 1)


def test_a_description_without_a_card_hides_the_card_line(dialog):
    assert dialog.card_label.isHidden()
    assert dialog.teaching_label.isHidden()


def test_a_taught_model_shows_its_teaching_record_and_another_model_hides_it(qtbot):
    rows = (
        TeachingRow("2026-12-05 10:15", "40 (0: 4, 1: 4, …)", "69.0 % → 95.0 % (10 held back)", "99.70 % → 99.61 %"),
        TeachingRow("2026-12-05 11:02", "45 (0: 5, …)", "80.0 % → 100.0 % (10 held back)", "99.61 % → 99.58 %"),
    )
    taught = ModelDescription(
        "ensemble", two_tower_description().layers, 134, 107, card=(("Dataset", "MNIST"),), teaching=rows
    )
    instance = ModelSummaryDialog(taught)
    qtbot.addWidget(instance)
    instance.show()
    qtbot.waitExposed(instance)
    text = instance.teaching_label.text()
    assert instance.teaching_label.isVisible() and "Teaching record" in text
    for row in rows:
        for cell in (row.date, row.held_back, row.test_set):
            assert cell in text
    assert text.index("10:15") < text.index("11:02")  # oldest first
    instance.set_description(two_tower_description())
    assert instance.teaching_label.isHidden()
