"""The evidence controls: on/off, the method, the opacity, which class is explained, and why a method cannot."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.common.evidence import AGAINST_COLOR, FOR_COLOR

METHOD_NAMES = {
    "gradcam": "Grad-CAM",
    "guided-gradcam": "Guided Grad-CAM",
    "integrated-gradients": "Integrated Gradients",
}
METHOD_TIPS = {
    "gradcam": "Grad-CAM on the last convolution layer: where the features that raised the class's score lie, "
    "often the empty paper beside a stroke that tells one digit from another. Updates as you draw.",
    "guided-gradcam": "Guided Grad-CAM: Grad-CAM's regions at the pixels' resolution (Grad-CAM times guided "
    "backpropagation), so the evidence sits on the strokes. Updates as you draw.",
    "integrated-gradients": "Integrated Gradients from a black image in 32 steps: each pixel's share of the class's "
    "score. Computed when a stroke ends.",
}
DEFAULT_OPACITY = 60


class EvidenceBar(QWidget):
    """A view of the evidence settings; it holds no maps, it only says what to compute and how to draw it."""

    settings_changed = Signal()  # method or on/off: compute again
    opacity_changed = Signal(float)  # draw again with this opacity (0..1)
    class_reset = Signal()  # back to explaining the winner

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.show_check = QCheckBox("Evidence")
        self.show_check.setChecked(True)
        self.show_check.setToolTip("Show which pixels pushed the decision, on the drawing and on the 28x28")
        self.method_picker = QComboBox()
        for method, name in METHOD_NAMES.items():
            self.method_picker.addItem(name, method)
            index = self.method_picker.count() - 1
            self.method_picker.setItemData(index, METHOD_TIPS[method], Qt.ItemDataRole.ToolTipRole)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(DEFAULT_OPACITY)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setToolTip("Opacity of the evidence overlay")
        self.legend = QLabel(
            f'<span style="color:{FOR_COLOR.name()}">■</span> for '
            f'<span style="color:{AGAINST_COLOR.name()}">■</span> against'
        )
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.class_label = QLabel("")
        self.winner_button = QPushButton("Explain the winner")
        self.winner_button.setVisible(False)
        self.winner_button.setFlat(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b26a00;")
        self.message.setVisible(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.show_check)
        row.addWidget(self.method_picker)
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity_slider)
        row.addWidget(self.legend)
        row.addStretch(1)
        row.addWidget(self.class_label)
        row.addWidget(self.winner_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self.show_check.toggled.connect(self._on_enabled_toggled)
        self.method_picker.currentIndexChanged.connect(self.settings_changed)
        self.opacity_slider.valueChanged.connect(lambda value: self.opacity_changed.emit(value / 100.0))
        self.winner_button.clicked.connect(self.class_reset)

    @property
    def enabled(self) -> bool:
        """True when the overlay is switched on."""
        return self.show_check.isChecked()

    @property
    def method(self) -> str:
        """The method picked (an ``ml.inspect.evidence.METHODS`` name)."""
        return str(self.method_picker.currentData())

    def set_method(self, method: str) -> None:
        """Pick ``method`` by its ``ml.inspect.evidence.METHODS`` name."""
        index = self.method_picker.findData(method)
        if index >= 0:
            self.method_picker.setCurrentIndex(index)

    @property
    def opacity(self) -> float:
        """The overlay's opacity, 0..1."""
        return self.opacity_slider.value() / 100.0

    def show_explained(self, class_name: str | None, chosen: bool) -> None:
        """Say which class the evidence is for; ``chosen``: picked by a click rather than the winner."""
        if class_name is None:
            self.class_label.setText("Click a probability bar to explain that class")
        else:
            self.class_label.setText(f"Explaining <b>{class_name}</b>" + ("" if chosen else " (the winner)"))
        self.winner_button.setVisible(chosen)

    def show_message(self, text: str | None) -> None:
        """Why the method gives no map for this model (or nothing)."""
        self.message.setText(text or "")
        self.message.setVisible(bool(text))

    @Slot(bool)
    def _on_enabled_toggled(self, on: bool) -> None:
        for widget in (self.method_picker, self.opacity_slider):
            widget.setEnabled(on)
        if not on:
            self.show_message(None)
        self.settings_changed.emit()
