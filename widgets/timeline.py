"""The replay timeline: the batch's parts left to right, markers where things happened, the
cursor as a dark line. A click jumps to the nearest marker (or to that part when none is near).
Greys for the track and the cursor; colour only for alarms (their priority colours) and for the
what-if row. UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from console.timeline import Marker
from widgets import theme

ROWS = {
    "alarm_raised": 0,
    "alarm_cleared": 0,
    "acknowledged": 1,
    "override": 1,
    "incident": 2,
    "reference": 2,
    "login": 2,
    "audit": 2,
}
ROW_NAMES = ("alarms", "people", "records")
COLOURS = {
    "alarm_raised": theme.PRIORITY_COLOURS["high"],
    "alarm_cleared": theme.MUTED,
    "acknowledged": theme.LIVE_LINE,
    "override": theme.LIVE_LINE,
    "incident": theme.PRIORITY_COLOURS["urgent"],
    "reference": theme.MUTED,
    "login": theme.MUTED,
    "audit": theme.MUTED,
}
SNAP_PIXELS = 8


class Timeline(QWidget):
    """Markers over the parts [start, end) of a run; `jumped` gives the run index clicked."""

    jumped = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(3 * 22 + 16)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.start, self.end, self.cursor = 0, 1, 0
        self.markers: list[Marker] = []
        self.what_if: list[int] = []  # parts where other settings would have alarmed

    def show_markers(self, start: int, end: int, markers: list[Marker]) -> None:
        self.start, self.end, self.markers = start, max(end, start + 1), markers
        self.update()

    def show_cursor(self, index: int) -> None:
        if index != self.cursor:
            self.cursor = index
            self.update()

    def x_of(self, index: float) -> float:
        left, width = 70.0, max(self.width() - 80.0, 1.0)
        return left + width * (index - self.start) / max(self.end - self.start, 1)

    def index_at(self, x: float) -> int:
        left, width = 70.0, max(self.width() - 80.0, 1.0)
        return int(round(self.start + (x - left) / width * (self.end - self.start)))

    def marker_near(self, x: float) -> Marker | None:
        near = [m for m in self.markers if abs(self.x_of(m.index) - x) <= SNAP_PIXELS]
        return min(near, key=lambda m: abs(self.x_of(m.index) - x)) if near else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        marker = self.marker_near(x)
        index = marker.index + 1 if marker is not None else self.index_at(x)
        self.jumped.emit(max(self.start, min(index, self.end)))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(theme.PANEL))
        row_h = (self.height() - 12) / 3
        painter.setPen(QColor(theme.MUTED))
        for r, name in enumerate(ROW_NAMES):
            top = 6 + r * row_h
            painter.drawText(QRectF(4, top, 64, row_h), Qt.AlignmentFlag.AlignVCenter, name)
            painter.fillRect(
                QRectF(self.x_of(self.start), top + row_h / 2 - 1, self.x_of(self.end) - 70, 2),
                QColor(theme.BORDER),
            )
        for marker in self.markers:
            x = self.x_of(marker.index)
            top = 6 + ROWS[marker.kind] * row_h
            painter.setPen(QPen(QColor(COLOURS[marker.kind]), 3))
            if marker.kind == "alarm_cleared":
                painter.drawLine(QPointF(x, top + row_h * 0.3), QPointF(x, top + row_h * 0.7))
            else:
                painter.drawLine(QPointF(x, top + 3), QPointF(x, top + row_h - 3))
        painter.setPen(QPen(QColor(theme.DRIFT), 2, Qt.PenStyle.DashLine))
        for index in self.what_if:
            x = self.x_of(index)
            painter.drawLine(QPointF(x, 6), QPointF(x, 6 + row_h))
        x = self.x_of(self.cursor)
        painter.setPen(QPen(QColor(theme.TEXT), 2))
        painter.drawLine(QPointF(x, 2), QPointF(x, self.height() - 2))
        painter.end()
