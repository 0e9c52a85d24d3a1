"""The drift charts of the incident event record, drawn for the PDF from the series the JSON
carries (console/incident_charts.py): one input's p5–p95 and mean per time bin over the
reference band, the hours before and after the incident, the alarm transitions marked.

Drawn with QPainter into a QImage (grey and calm: colour only for the alarm marks), so the same
series give the same pixels and the PDF stays the same bytes. UI thread or the CLI's thread.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPolygonF

from widgets import theme

WIDTH, HEIGHT = 1100, 330
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 34, 40


def chart_image(chart: dict[str, Any], hours: float) -> QImage:
    """One input's chart; `hours` before and after the incident on the x axis."""
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(QFont("DejaVu Sans", 10))
        _ChartPainter(painter, chart, hours).draw()
    finally:
        painter.end()
    return image


class _ChartPainter:
    """Scales and draws one chart (lives for one drawing)."""

    def __init__(self, painter: QPainter, chart: dict[str, Any], hours: float) -> None:
        self.p = painter
        self.chart = chart
        self.hours = hours
        self.plot = QRectF(LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM)
        bins, ref = chart["bins"], chart["reference"]
        values = [v for key in ("p5", "p95", "mean") for v in bins[key] if v is not None]
        values += [v for v in ref.values() if v is not None]
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        pad = (high - low) * 0.08 or abs(high) * 0.05 or 1.0
        self.low, self.high = low - pad, high + pad

    def x(self, hour: float) -> float:
        return self.plot.left() + (hour + self.hours) / (2 * self.hours) * self.plot.width()

    def y(self, value: float) -> float:
        return self.plot.bottom() - (value - self.low) / (self.high - self.low) * self.plot.height()

    def draw(self) -> None:
        p, chart = self.p, self.chart
        p.fillRect(self.plot, QColor(theme.PLOT))
        self._reference()
        self._axes()
        self._live()
        self._marks()
        p.setPen(QColor(theme.TEXT))
        title = f"{chart['input']}: {chart['why']}"
        p.drawText(QPointF(LEFT, 20), title)

    def _reference(self) -> None:
        ref = self.chart["reference"]
        if ref["p5"] is None or ref["p95"] is None:
            return
        top, bottom = self.y(ref["p95"]), self.y(ref["p5"])
        band = QRectF(self.plot.left(), top, self.plot.width(), bottom - top)
        self.p.fillRect(band, QColor(theme.REFERENCE_FILL))
        if ref["mean"] is not None:
            self.p.setPen(QPen(QColor(theme.MUTED), 1.5, Qt.PenStyle.DashLine))
            self.p.drawLine(QPointF(self.plot.left(), self.y(ref["mean"])),
                            QPointF(self.plot.right(), self.y(ref["mean"])))  # fmt: skip

    def _axes(self) -> None:
        p = self.p
        p.setPen(QPen(QColor(theme.BORDER), 1))
        p.drawRect(self.plot)
        p.setPen(QColor(theme.TEXT))
        for hour in range(-math.floor(self.hours), math.floor(self.hours) + 1):
            x = self.x(hour)
            p.drawLine(QPointF(x, self.plot.bottom()), QPointF(x, self.plot.bottom() + 5))
            p.drawText(QRectF(x - 30, self.plot.bottom() + 6, 60, 16),
                       Qt.AlignmentFlag.AlignCenter, f"{hour:+d} h" if hour else "0")  # fmt: skip
        step = (self.high - self.low) / 4
        for k in range(5):
            value = self.low + k * step
            p.drawText(QRectF(0, self.y(value) - 8, LEFT - 8, 16),
                       Qt.AlignmentFlag.AlignRight, f"{value:.4g}")  # fmt: skip
        p.drawText(QRectF(self.plot.left(), HEIGHT - 18, self.plot.width(), 16),
                   Qt.AlignmentFlag.AlignCenter,
                   "hours from the incident (line time); grey band: reference p5–p95, dashed:"
                   " reference mean; dark: mean and p5–p95 of the parts")  # fmt: skip

    def _live(self) -> None:
        bins = self.chart["bins"]
        rows = [(h, lo, m, hi) for h, lo, m, hi in
                zip(bins["hours"], bins["p5"], bins["mean"], bins["p95"], strict=True)
                if None not in (lo, m, hi)]  # fmt: skip
        if not rows:
            self.p.drawText(self.plot, Qt.AlignmentFlag.AlignCenter, "no parts in this window")
            return
        upper = [QPointF(self.x(h), self.y(hi)) for h, _, _, hi in rows]
        lower = [QPointF(self.x(h), self.y(lo)) for h, lo, _, _ in reversed(rows)]
        self.p.setPen(Qt.PenStyle.NoPen)
        self.p.setBrush(QColor(theme.BAND_FILL).darker(125))
        self.p.drawPolygon(QPolygonF(upper + lower))
        self.p.setPen(QPen(QColor(theme.LIVE_LINE), 2))
        self.p.drawPolyline(QPolygonF([QPointF(self.x(h), self.y(m)) for h, _, m, _ in rows]))

    def _marks(self) -> None:
        p = self.p
        inside = [m for m in self.chart["marks"] if abs(m["hours"]) <= self.hours]
        for k, mark in enumerate(inside):
            x = self.x(mark["hours"])
            known = mark["what"] == "incident known"
            colour = QColor(theme.TEXT if known else theme.DRIFT_LINE)
            p.setPen(QPen(colour, 2, Qt.PenStyle.SolidLine if known else Qt.PenStyle.DotLine))
            p.drawLine(QPointF(x, self.plot.top()), QPointF(x, self.plot.bottom()))
            label = f"{mark['what']} {mark['at'][11:16]}"
            wide = p.fontMetrics().horizontalAdvance(label)
            left = x + 4 if x + 4 + wide <= self.plot.right() else x - 4 - wide
            p.drawText(QPointF(left, self.plot.top() + 14 + 14 * (k % 4)), label)
