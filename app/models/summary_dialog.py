"""The model summary dialog: a table of layers like ``model.summary()`` beside a diagram of how they connect."""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QHeaderView,
    QLabel,
    QSplitter,
    QStyleOptionGraphicsItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.controller import ModelController
from ml.models.summary import LayerDescription, ModelDescription, TeachingRow
from ml.plurals import plural

BOX_WIDTH = 224.0
BOX_HEIGHT = 42.0
COLUMN_GAP = 26.0
ROW_GAP = 24.0
ARROW_SIZE = 6.0
COLUMNS = ("Layer", "Type", "Output shape", "Parameters", "Trainable")
# Fill colours by the kind of layer (matched on the class name), so the structure reads at a glance.
KIND_COLORS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("InputLayer",), "#e2e8f0"),
    (("Conv",), "#bfdbfe"),
    (("Dense",), "#fed7aa"),
    (("Pool",), "#bbf7d0"),
    (("Normalization",), "#e9d5ff"),
    (("Functional", "Sequential", "Model"), "#fde68a"),
    (("Average", "Add", "Concatenate", "Multiply", "Maximum", "Minimum", "Subtract"), "#fecaca"),
)
OTHER_COLOR = "#f1f5f9"
TABLE_STYLE = "QTreeView::item { padding: 3px 12px 3px 4px; }"  # room between the columns and the rows


def format_count(count: int) -> str:
    """``1234567`` → ``1,234,567``."""
    return f"{count:,}"


def layer_color(class_name: str) -> QColor:
    """The fill colour for a layer of this class."""
    for keys, color in KIND_COLORS:
        if any(key in class_name for key in keys):
            return QColor(color)
    return QColor(OTHER_COLOR)


def trainable_text(layer: LayerDescription) -> str:
    """``yes``, ``no``, ``partly`` (batch norm keeps statistics) or ``—`` for a layer without parameters."""
    if layer.parameters == 0:
        return "—"
    if layer.trainable_parameters == layer.parameters:
        return "yes"
    return "partly" if layer.trainable_parameters else "no"


def totals_text(description: ModelDescription) -> str:
    """``65 layers · 570,366 parameters (568,254 trainable, 2,112 non-trainable)``."""
    count = len(description.layers)
    return (
        f"{plural(count, 'layer')} · {format_count(description.total_parameters)} parameters "
        f"({format_count(description.trainable_parameters)} trainable, "
        f"{format_count(description.non_trainable_parameters)} non-trainable)"
    )


def card_html(facts: tuple[tuple[str, str], ...], per_row: int = 4) -> str:
    """The card's facts as a table of bold labels and values, ``per_row`` pairs to a row."""
    cells = [
        f"<td style='padding-right: 6px'><b>{html.escape(label)}</b></td>"
        f"<td style='padding-right: 22px'>{html.escape(text)}</td>"
        for label, text in facts
    ]
    rows = ["".join(cells[start : start + per_row]) for start in range(0, len(cells), per_row)]
    return "<table>" + "".join(f"<tr>{row}</tr>" for row in rows) + "</table>"


TEACHING_COLUMNS = ("Taught", "Samples per class", "Your held-back samples", "Test set")


def teaching_html(rows: tuple[TeachingRow, ...]) -> str:
    """The card's teaching record as a table: one row per teach, with before → after on both sets."""
    cell = "<td style='padding-right: 22px'>{}</td>"
    head = "".join(f"<td style='padding-right: 22px'><b>{html.escape(title)}</b></td>" for title in TEACHING_COLUMNS)
    body = "".join(
        "<tr>"
        + "".join(cell.format(html.escape(text)) for text in (r.date, r.samples, r.held_back, r.test_set))
        + "</tr>"
        for r in rows
    )
    return f"<b>Teaching record</b><table><tr>{head}</tr>{body}</table>"


@dataclass(frozen=True)
class Placement:
    """Where a layer's box goes: a column (fractional for merges, centred over their inputs) and a row."""

    column: float
    row: int


def place_layers(layers: tuple[LayerDescription, ...]) -> dict[str, Placement]:
    """Rows by depth from the inputs; a chain stays in its column and each new branch opens the next column."""
    columns: dict[str, float] = {}
    rows: dict[str, int] = {}
    continued: set[str] = set()  # layers whose column a child has already taken over
    next_column = 0.0
    for layer in layers:
        parents = [name for name in layer.inbound if name in columns]
        rows[layer.name] = 1 + max((rows[name] for name in parents), default=-1)
        if len(parents) > 1:
            columns[layer.name] = sum(columns[name] for name in parents) / len(parents)
            continued.update(parents)
        elif parents and parents[0] not in continued:
            columns[layer.name] = columns[parents[0]]
            continued.add(parents[0])
        else:
            columns[layer.name] = next_column
        next_column = max(next_column, columns[layer.name] + 1)
    return {name: Placement(columns[name], rows[name]) for name in columns}


class LayerBox(QGraphicsItem):
    """A layer drawn as a rounded box: its name, then its type and output shape; frozen layers are dashed."""

    def __init__(self, layer: LayerDescription) -> None:
        super().__init__()
        self.layer = layer
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setToolTip(
            f"{layer.name} ({layer.class_name})\noutput {layer.output_shape_text}\n"
            f"{format_count(layer.parameters)} parameters, trainable: {trainable_text(layer)}"
        )

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        """The box plus room for the selection outline."""
        return QRectF(-2, -2, BOX_WIDTH + 4, BOX_HEIGHT + 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        """Fill by kind, outline (thick when selected), two lines of text elided to fit."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        rect = QRectF(0, 0, BOX_WIDTH, BOX_HEIGHT)
        frozen = self.layer.parameters > 0 and self.layer.trainable_parameters == 0
        outline = QPen(QColor("#1d4ed8") if self.isSelected() else QColor("#475569"), 2.4 if self.isSelected() else 1)
        if frozen:
            outline.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(outline)
        painter.setBrush(QBrush(layer_color(self.layer.class_name)))
        painter.drawRoundedRect(rect, 6, 6)
        painter.setPen(QColor("#0f172a"))
        name_font = QFont(painter.font())
        name_font.setBold(True)
        detail_font = QFont(painter.font())
        detail_font.setPointSizeF(max(6.0, detail_font.pointSizeF() * 0.85))
        text_rect = rect.adjusted(8, 3, -8, -3)
        half = text_rect.height() / 2
        for font, text, top in (
            (name_font, self.layer.name, text_rect.top()),
            (detail_font, f"{self.layer.class_name}  {self.layer.output_shape_text}", text_rect.top() + half),
        ):
            painter.setFont(font)
            elided = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, text_rect.width())
            painter.drawText(
                QRectF(text_rect.left(), top, text_rect.width(), half), Qt.AlignmentFlag.AlignCenter, elided
            )


def arrow_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A line (a smooth S-curve when it changes column) from ``start`` to just above ``end``, with a head."""
    path = QPainterPath(start)
    tip = QPointF(end.x(), end.y() - 1)
    if abs(start.x() - end.x()) < 0.5:
        path.lineTo(tip)
    else:
        middle = (start.y() + tip.y()) / 2
        path.cubicTo(QPointF(start.x(), middle), QPointF(tip.x(), middle), tip)
    head = QPolygonF(
        [
            tip,
            QPointF(tip.x() - ARROW_SIZE / 2, tip.y() - ARROW_SIZE),
            QPointF(tip.x() + ARROW_SIZE / 2, tip.y() - ARROW_SIZE),
        ]
    )
    path.addPolygon(head)
    path.closeSubpath()
    return path


class LayerDiagram(QGraphicsScene):
    """A diagram of a model's layers: boxes top to bottom, arrows from each layer to those it feeds."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.boxes: dict[str, LayerBox] = {}
        self.arrows: list[QGraphicsPathItem] = []

    def set_description(self, description: ModelDescription) -> None:
        """Draw ``description``'s layers (replacing what was drawn)."""
        self.clear()
        self.boxes, self.arrows = {}, []
        placements = place_layers(description.layers)
        for layer in description.layers:
            placement = placements[layer.name]
            box = LayerBox(layer)
            box.setPos(placement.column * (BOX_WIDTH + COLUMN_GAP), placement.row * (BOX_HEIGHT + ROW_GAP))
            box.setZValue(1)
            self.addItem(box)
            self.boxes[layer.name] = box
        arrow_pen = QPen(QColor("#64748b"), 1.2)
        for layer in description.layers:
            end_box = self.boxes[layer.name]
            end = end_box.pos() + QPointF(BOX_WIDTH / 2, 0)
            for parent in layer.inbound:
                if parent not in self.boxes:
                    continue
                start = self.boxes[parent].pos() + QPointF(BOX_WIDTH / 2, BOX_HEIGHT)
                arrow = self.addPath(arrow_path(start, end), arrow_pen, QBrush(arrow_pen.color()))
                self.arrows.append(arrow)
        self.setSceneRect(self.itemsBoundingRect().adjusted(-12, -12, 12, 12))


class ModelSummaryDialog(QDialog):
    """A view of a :class:`ml.models.summary.ModelDescription`: a layer table, the totals and a layer diagram."""

    def __init__(self, description: ModelDescription, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ModelSummaryDialog")
        self.resize(1240, 720)
        self.description = description
        self.heading = QLabel()
        heading_font = QFont(self.heading.font())
        heading_font.setPointSizeF(heading_font.pointSizeF() * 1.2)
        heading_font.setBold(True)
        self.heading.setFont(heading_font)
        self.totals_label = QLabel()
        self.totals_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.card_label = QLabel()  # the model card's facts: preset, dataset, test accuracy, date, input
        self.card_label.setObjectName("ModelCard")
        self.card_label.setTextFormat(Qt.TextFormat.RichText)
        self.card_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.teaching_label = QLabel()  # the card's teaching record: when, samples, before → after on both sets
        self.teaching_label.setObjectName("TeachingRecord")
        self.teaching_label.setTextFormat(Qt.TextFormat.RichText)
        self.teaching_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTreeWidget()
        self.table.setColumnCount(len(COLUMNS))
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setStyleSheet(TABLE_STYLE)
        header = self.table.header()
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.diagram = LayerDiagram(self)
        self.diagram_view = QGraphicsView(self.diagram)
        self.diagram_view.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.diagram_view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.diagram_view.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.diagram_view.setMinimumWidth(260)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.diagram_view)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([720, 460])  # the table's five columns uncut; the diagram scales to fit
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.card_label)
        layout.addWidget(self.teaching_label)
        layout.addWidget(self.totals_label)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self.diagram.selectionChanged.connect(self._on_diagram_selection_changed)
        self.set_description(description)

    def set_description(self, description: ModelDescription, display_name: str | None = None) -> None:
        """Show another model's description (the window reuses one dialog)."""
        self.description = description
        name = display_name or description.name
        self.setWindowTitle(f"Model summary — {name}")
        self.heading.setText(name if name == description.name else f"{name}  ({description.name})")
        note = f"\n{description.card_note}" if description.card_note else ""
        self.totals_label.setText(totals_text(description) + note)
        self.card_label.setText(card_html(description.card))
        self.card_label.setVisible(bool(description.card))
        self.teaching_label.setText(teaching_html(description.teaching))
        self.teaching_label.setVisible(bool(description.teaching))
        self.table.clear()
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for layer in description.layers:
            item = QTreeWidgetItem(
                [
                    layer.name,
                    layer.class_name,
                    layer.output_shape_text,
                    format_count(layer.parameters),
                    trainable_text(layer),
                ]
            )
            item.setTextAlignment(3, right)
            item.setData(0, Qt.ItemDataRole.UserRole, layer.name)
            if layer.inbound:
                item.setToolTip(0, "from " + ", ".join(layer.inbound))
            self.table.addTopLevelItem(item)
        self.diagram.set_description(description)
        self._fit_diagram_width()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Fit the diagram to the view's width once the view has its size."""
        super().showEvent(event)
        self._fit_diagram_width()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Keep the diagram fitted to the view's width."""
        super().resizeEvent(event)
        self._fit_diagram_width()

    def _fit_diagram_width(self) -> None:
        """Scale the diagram so its width fits the view (never enlarge); tall diagrams scroll."""
        rect = self.diagram.sceneRect()
        available = self.diagram_view.viewport().width() - 4
        if rect.width() <= 0 or available <= 0:
            return
        scale = min(1.0, available / rect.width())
        self.diagram_view.resetTransform()
        self.diagram_view.scale(scale, scale)

    @Slot()
    def _on_table_selection_changed(self) -> None:
        """Select and show the selected row's box in the diagram."""
        items = self.table.selectedItems()
        if not items:
            return
        box = self.diagram.boxes.get(items[0].data(0, Qt.ItemDataRole.UserRole))
        if box is None or box.isSelected():
            return
        self.diagram.clearSelection()
        box.setSelected(True)
        self.diagram_view.ensureVisible(box)

    @Slot()
    def _on_diagram_selection_changed(self) -> None:
        """Select the clicked box's row in the table."""
        selected = [item for item in self.diagram.selectedItems() if isinstance(item, LayerBox)]
        if not selected:
            return
        name = selected[0].layer.name
        for index in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(index)
            if item.data(0, Qt.ItemDataRole.UserRole) == name and not item.isSelected():
                self.table.setCurrentItem(item)
                self.table.scrollToItem(item)
                break


class ModelSummary(QObject):
    """Model ▸ Summary…: the active model described on request, one dialog reused, following the model while open."""

    status_changed = Signal(str, int)  # a message for the status bar and how long to show it (ms); 0 clears it

    def __init__(self, models: ModelController, window: QWidget) -> None:
        super().__init__(window)
        self.models = models
        self.window = window
        self.dialog: ModelSummaryDialog | None = None
        self.model_name: str | None = None
        self._asked_for = False  # the user asked for it (bring it forward), or it follows the model
        models.model_described.connect(self._on_model_described)
        models.model_description_failed.connect(self._on_model_description_failed)

    @Slot()
    def request(self) -> None:
        """Describe the active model in the model thread, then show the dialog."""
        self._asked_for = True
        self.status_changed.emit("Describing the model…", 5000)
        self.models.describe_active_model()

    def follow(self, display_name: str) -> None:
        """A new active model: an open summary is described anew and updated in place."""
        self.model_name = display_name
        if self.dialog is not None and self.dialog.isVisible():
            self.models.describe_active_model()

    @Slot(object)
    def _on_model_described(self, description: ModelDescription) -> None:
        if self.dialog is None:
            self.dialog = ModelSummaryDialog(description, self.window)
        self.dialog.set_description(description, self.model_name)
        asked_for, self._asked_for = self._asked_for, False
        if not asked_for:
            return  # an open summary following the active model: updated in place
        self.status_changed.emit("", 0)
        if self.dialog.isVisible():
            self.dialog.raise_()  # already open behind the window: bring it forward
        else:
            self.dialog.show()

    @Slot(str)
    def _on_model_description_failed(self, message: str) -> None:
        self.status_changed.emit(message, 8000)
