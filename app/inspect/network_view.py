"""The network view: every layer's output for the current drawing, in order, one colour scale per layer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.inspect.colors import ColorScale
from app.inspect.maps import ColorLegend, MapMosaic, PixelView, as_maps, format_number, format_range, gray_rgba
from ml.plurals import plural

KIND_WORDS = {
    "input": "input",
    "conv": "convolution",
    "pool": "pooling",
    "dense": "dense",
    "logits": "logits",
    "softmax": "softmax",
    "dropout": "dropout",
    "flatten": "flatten",
    "norm": "batch norm",
    "activation": "activation",
    "merge": "merge",
    "other": "layer",
}
DROPOUT_NOTE = "off at inference: it passes its input through unchanged"


def format_shape(shape: Sequence[int]) -> str:
    """``(26, 26, 32)`` → ``26×26×32``."""
    return "×".join(str(int(side)) for side in shape) or "scalar"


def largest_tile(shape: Sequence[int]) -> int:
    """How large a map or unit may be drawn: maps up to 56 px, a few units 40 px, long strips smaller."""
    if len(shape) >= 2:
        return 56
    units = int(np.prod(shape or (1,)))
    return 40 if units <= 16 else 18 if units <= 256 else 10


def layer_key(layer: dict) -> tuple:
    """What decides a row's layout: a new model (or fold setting) changes it, a new drawing does not."""
    return (layer["name"], layer["kind"], layer.get("tower"), tuple(layer["output_shape"]), layer.get("note", ""))


class LayerRow(QFrame):
    """One layer: its name, kind, shape and note, the colour legend, and its outputs as a mosaic or a strip."""

    map_clicked = Signal(int)  # map index

    def __init__(self, layer: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = layer
        self.pending: dict | None = None  # the newest output while the row is hidden (another tower's)
        self.key = layer_key(layer)
        self.mosaic = MapMosaic(max_tile=largest_tile(layer["output_shape"]))
        self.mosaic.describe = self._describe
        self.mosaic.map_clicked.connect(self.map_clicked)
        self.legend = ColorLegend()
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title, 1)
        header.addWidget(self.legend, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 6)
        layout.setSpacing(3)
        layout.addLayout(header)
        layout.addWidget(self.note)
        layout.addWidget(self.mosaic)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._header: tuple[str, str] | None = None
        self._show_header()

    @property
    def kind(self) -> str:
        """The layer's kind (``conv``, ``dense``, …)."""
        return self.layer["kind"]

    def set_layer(self, layer: dict) -> None:
        """New values for the same layer: recolour, no rebuild."""
        self.layer = layer
        self.pending = None
        values = layer.get("values")
        if values is None:
            self.mosaic.setHidden(True)
            self.legend.setHidden(True)
        else:
            values = np.asarray(values, dtype=np.float32)
            scale = ColorScale.for_values(values)
            self.mosaic.set_maps(as_maps(values), scale)
            self.legend.set_scale(scale)
            if self.mosaic.isHidden():
                self.mosaic.setHidden(False)
                self.legend.setHidden(False)
        self._show_header()

    def set_labels(self, names: Sequence[str]) -> None:
        """Class names under the logits and softmax units."""
        if self.kind in ("logits", "softmax") and len(names) == self.mosaic.count:
            self.mosaic.set_labels(names)

    def hover_text(self, index: int | None = None) -> str:
        """The layer's name, output shape and value range (and the map's own range when ``index`` is given)."""
        return self._describe(index)

    def _show_header(self) -> None:
        layer = self.layer
        tower = f" · {layer['tower']}" if layer.get("tower") else ""
        words = KIND_WORDS.get(layer["kind"], layer["kind"])
        title = f"<b>{layer['name']}</b> · {words} · {format_shape(layer['output_shape'])}{tower}"
        note = layer.get("note") or ""
        if layer["kind"] == "dropout" and layer.get("values") is None:
            note = note or DROPOUT_NOTE
            if "inference" not in note:
                note = f"{note} ({DROPOUT_NOTE})"
        if (title, note) == self._header:
            return  # setText relayouts: skip it when a new drawing changes nothing in the header
        self._header = (title, note)
        self.title.setText(title)
        self.note.setText(note)
        self.note.setVisible(bool(note))

    def _describe(self, index: int | None) -> str:
        layer = self.layer
        lines = [f"{layer['name']} ({KIND_WORDS.get(layer['kind'], layer['kind'])})"]
        lines.append(f"output shape {format_shape(layer['output_shape'])}")
        values = layer.get("values")
        if values is not None and np.size(values):
            lines.append(f"layer range {format_range(float(np.min(values)), float(np.max(values)))}")
            maps = self.mosaic.maps
            if index is not None and 0 <= index < len(maps):
                single = maps[index]
                if single.size == 1:
                    labels = self.mosaic.labels
                    unit = f"class {labels[index]}" if index < len(labels) else f"unit {index}"
                    lines.append(f"{unit}: {format_number(single.ravel()[0], 4)}")
                else:
                    lines.append(f"map {index}: {format_range(float(single.min()), float(single.max()))}")
                    lines.append("click to enlarge")
        return "\n".join(lines)


class NetworkView(QWidget):
    """Each layer's output in order (conv and pooling as maps, dense as strips, logits then softmax); a map clicked
    is shown large beside the model's input. Rows are made once per model; a drawing only recolours them."""

    fold_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fold_check = QCheckBox("Fold batch norm and activations")
        self.fold_check.setChecked(True)
        self.fold_check.setToolTip(
            "On: batch normalisation and activation layers are folded into the convolution or dense layer before "
            "them (the row says so). Off: they are listed as rows of their own."
        )
        self.fold_check.toggled.connect(self.fold_changed)
        self.tower_label = QLabel("Tower")
        self.tower_picker = QComboBox()
        self.tower_picker.setToolTip("This model averages several networks (towers); pick the one to show.")
        self.tower_picker.currentIndexChanged.connect(self._apply_tower_filter)
        self.summary = QLabel("")
        self.message = QLabel("Draw a digit to see what every layer makes of it.")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet("color: palette(placeholder-text);")

        self._rows: list[LayerRow] = []
        self._class_names: list[str] = []
        self._selected: tuple[int, int] | None = None
        self.rows_widget = QWidget()
        self._rows_layout = QVBoxLayout(self.rows_widget)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(0)
        self._rows_layout.addStretch(1)
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setWidget(self.rows_widget)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.input_view = PixelView(140)
        self.enlarged_view = PixelView(140)
        self.enlarged_caption = QLabel("Click a map to enlarge it here.")
        self.enlarged_caption.setWordWrap(True)
        self.enlarged_legend = ColorLegend()
        side = QGridLayout()
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(QLabel("<b>Input</b>"), 0, 0)
        side.addWidget(QLabel("<b>Enlarged</b>"), 0, 1)
        side.addWidget(self.input_view, 1, 0)
        side.addWidget(self.enlarged_view, 1, 1)
        side.addWidget(self.enlarged_legend, 2, 0, 1, 2)
        side.addWidget(self.enlarged_caption, 3, 0, 1, 2)
        side.setRowStretch(4, 1)
        side_panel = QWidget()
        side_panel.setLayout(side)
        side_panel.setFixedWidth(300)

        controls = QHBoxLayout()
        controls.addWidget(self.fold_check)
        controls.addSpacing(12)
        controls.addWidget(self.tower_label)
        controls.addWidget(self.tower_picker)
        controls.addStretch(1)
        controls.addWidget(self.summary)
        body = QHBoxLayout()
        body.addWidget(self.scroller, 1)
        body.addWidget(side_panel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addLayout(body, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._set_towers([])

    # ------------------------------------------------------------------------------------------ public

    @property
    def rows(self) -> list[LayerRow]:
        """Every layer's row, in order (rows of other towers are hidden, not removed)."""
        return list(self._rows)

    @property
    def visible_rows(self) -> list[LayerRow]:
        """The rows of the shared layers and of the tower picked."""
        return [row for row in self._rows if not row.isHidden()]

    @property
    def folded(self) -> bool:
        """True when batch norm and activations are folded into the layers before them."""
        return self.fold_check.isChecked()

    @property
    def selected_map(self) -> tuple[int, int] | None:
        """The (row, map index) enlarged, or None."""
        return self._selected

    def set_class_names(self, names: Sequence[str]) -> None:
        """Labels for the logits and softmax units."""
        self._class_names = [str(name) for name in names]
        for row in self._rows:
            row.set_labels(self._class_names)

    def show_message(self, text: str) -> None:
        """Say why there is nothing new to show (blank drawing, no model, a failure); the last layers stay."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def clear(self, text: str = "Draw a digit to see what every layer makes of it.") -> None:
        """Forget the rows (another model) and say ``text``."""
        self._rebuild([])
        self._set_towers([])
        self.input_view.set_rgba(None)
        self._select(None)
        self.summary.setText("")  # no layers shown (not the previous model's count)
        self.show_message(text)

    def show_layers(self, layers: Sequence[dict]) -> None:
        """Show one trace (``ml.inspect.layers.LayerView`` as dicts); rows are rebuilt only when the layers change."""
        keys = [layer_key(layer) for layer in layers]
        if keys != [row.key for row in self._rows]:
            self._rebuild(layers)
            self._set_towers(sorted({layer["tower"] for layer in layers if layer.get("tower")}))
        for row, layer in zip(self._rows, layers, strict=True):
            if row.isHidden():
                row.pending = layer  # another tower's: coloured when its tower is picked
                continue
            row.set_layer(layer)
            row.set_labels(self._class_names)
        self._show_input(layers)
        self._refresh_enlarged()
        self.show_message("")
        count = sum(1 for row in self._rows if not row.isHidden())
        self.summary.setText(f"{plural(count, 'layer')} shown")

    def enlarge(self, row: int, index: int) -> None:
        """Show map ``index`` of the layer in row ``row`` large beside the input."""
        self._select((row, index))

    # ----------------------------------------------------------------------------------------- helpers

    def _rebuild(self, layers: Sequence[dict]) -> None:
        for row in self._rows:
            self._rows_layout.removeWidget(row)
            row.hide()  # at once: deleteLater waits while a dialog runs its own event loop
            row.deleteLater()
        self._rows = []
        for position, layer in enumerate(layers):
            row = LayerRow(layer)
            row.map_clicked.connect(lambda index, position=position: self.enlarge(position, index))
            self._rows_layout.insertWidget(position, row)
            self._rows.append(row)
        self._select(None)

    def _set_towers(self, towers: list[str]) -> None:
        current = self.tower_picker.currentText()
        names = [self.tower_picker.itemText(index) for index in range(self.tower_picker.count())]
        if names != towers:
            self.tower_picker.blockSignals(True)
            self.tower_picker.clear()
            self.tower_picker.addItems(towers)
            if current in towers:
                self.tower_picker.setCurrentText(current)
            self.tower_picker.blockSignals(False)
        self.tower_picker.setVisible(bool(towers))
        self.tower_label.setVisible(bool(towers))
        self._apply_tower_filter()

    @Slot()
    def _apply_tower_filter(self) -> None:
        tower = self.tower_picker.currentText() if self.tower_picker.count() else None
        for row in self._rows:
            row_tower = row.layer.get("tower")
            row.setHidden(bool(row_tower) and row_tower != tower)
            if not row.isHidden() and row.pending is not None:
                row.set_layer(row.pending)
                row.set_labels(self._class_names)

    def _show_input(self, layers: Sequence[dict]) -> None:
        first = next((layer for layer in layers if layer["kind"] == "input"), None)
        values = None if first is None else first.get("values")
        if values is None:
            self.input_view.set_rgba(None)
            return
        image = np.asarray(values, dtype=np.float32)
        if image.ndim == 3:
            image = image.mean(axis=-1)
        if image.ndim == 1:
            side = int(round(np.sqrt(image.size)))
            image = image.reshape(side, side) if side * side == image.size else image[None]
        low, high = float(image.min()), float(image.max())
        self.input_view.set_rgba(gray_rgba((image - low) / (high - low) if high > low else image * 0))

    def _select(self, selected: tuple[int, int] | None) -> None:
        self._selected = selected
        for position, row in enumerate(self._rows):
            row.mosaic.set_selected(selected[1] if selected is not None and selected[0] == position else None)
        self._refresh_enlarged()

    def _refresh_enlarged(self) -> None:
        row = None
        if self._selected is not None and self._selected[0] < len(self._rows):
            row = self._rows[self._selected[0]]
        if row is None or row.layer.get("values") is None or self._selected[1] >= row.mosaic.count:
            self.enlarged_view.set_rgba(None)
            self.enlarged_legend.setVisible(False)
            self.enlarged_caption.setText("Click a map to enlarge it here.")
            return
        index = self._selected[1]
        single = row.mosaic.maps[index]
        self.enlarged_view.set_rgba(row.mosaic.scale.colorize(single))
        self.enlarged_legend.set_scale(row.mosaic.scale)
        self.enlarged_legend.setVisible(True)
        self.enlarged_caption.setText(
            f"{row.layer['name']}, map {index}\n{format_shape(single.shape)} · "
            f"{format_range(float(single.min()), float(single.max()))}"
        )
