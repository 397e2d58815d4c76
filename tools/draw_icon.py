"""Draw Digit Lab's window icon, assets/digitlab-icon.png: a handwritten 7 on a blue tile, with probability bars.

QT_QPA_PLATFORM=offscreen python tools/draw_icon.py [--size 256]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPainterPath, QPen

ROOT = Path(__file__).resolve().parents[1]
BARS = (0.10, 0.05, 0.92, 0.08)  # one class stands out, as in the window's probability bars


def draw_icon(size: int) -> QImage:
    """The icon at ``size`` x ``size`` pixels, transparent around a rounded tile."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.scale(size / 256, size / 256)
    gradient = QLinearGradient(0, 0, 256, 256)
    gradient.setColorAt(0.0, QColor("#3b82f6"))
    gradient.setColorAt(1.0, QColor("#1e3a8a"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(gradient)
    painter.drawRoundedRect(QRectF(8, 8, 240, 240), 48, 48)

    seven = QPainterPath(QPointF(62, 66))
    seven.cubicTo(QPointF(100, 58), QPointF(150, 56), QPointF(178, 60))
    seven.cubicTo(QPointF(150, 100), QPointF(124, 150), QPointF(108, 206))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor("white"), 26, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    painter.drawPath(seven)

    painter.setPen(Qt.PenStyle.NoPen)
    for index, value in enumerate(BARS):
        height = 12 + 64 * value
        color = QColor("#fbbf24") if value == max(BARS) else QColor(255, 255, 255, 150)
        painter.setBrush(color)
        painter.drawRoundedRect(QRectF(150 + index * 20, 214 - height, 14, height), 3, 3)
    painter.end()
    return image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "digitlab-icon.png")
    args = parser.parse_args()
    application = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # fonts and painting need one
    if not draw_icon(args.size).save(str(args.out)):
        print(f"draw_icon: could not write {args.out}", file=sys.stderr)
        return 1
    print(f"{args.out} ({args.size} px, {args.out.stat().st_size:,} bytes)")
    del application
    return 0


if __name__ == "__main__":
    sys.exit(main())
