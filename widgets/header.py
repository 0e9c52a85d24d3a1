"""The overview header, always visible: is the line running and can the model be trusted?

`OverviewHeader` shows station, model version, line state, model health (OK / watch / drift /
fallback, or "Learning 45 %" while the reference is learnt), parts per minute, reject rate,
overrides in the last hour, active alarms by priority, alarms to acknowledge, source and store
status, the plant sync's state ("no sync configured", or connected/offline with what waits), the
current user and the station's clock with its time zone, plus the Escalate button. Grey and calm:
a tile takes a colour only when what
it shows is abnormal. Updated from each new snapshot (UI thread); the clock by its own 1 s timer.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
)

from console.alarms import PRIORITIES
from console.snapshot import Snapshot
from data.sync_status import SyncStatus
from widgets import theme
from widgets.clock import StationClock
from widgets.sheet import big_button

HEALTH_TEXT = {"ok": "OK", "watch": "watch", "drift": "DRIFT", "fallback": "FALLBACK"}


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Tile(QFrame):
    """A caption over a value; the value takes a style only when abnormal."""

    def __init__(self, caption: str, small: bool = False) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(5, 2, 5, 2)  # 10 tiles beside each other at 1280 px
        layout.setSpacing(0)
        self.caption = QLabel(caption)
        self.caption.setObjectName("caption")
        layout.addWidget(self.caption)
        self.value = QLabel("–")
        self.value.setObjectName("value")
        self.small = small
        if small:
            self.value.setStyleSheet(f"font-size: {theme.FONT}px; font-weight: bold;")
        layout.addWidget(self.value)
        self._shown = ("", "")

    def set_value(self, text: str, style: str = "") -> None:
        if (text, style) == self._shown:
            return
        self._shown = (text, style)
        self.value.setText(text)
        size = theme.FONT if self.small else theme.FONT_VALUE
        self.value.setStyleSheet(f"font-size: {size}px; font-weight: bold; padding: 0 4px; {style}")


class OverviewHeader(QFrame):
    """Station and model health at a glance, the user, the clock, Escalate (UI thread)."""

    escalate_requested = Signal()
    lock_requested = Signal()

    def __init__(
        self, station_name: str, clock: StationClock | None = None, sync_configured: bool = False
    ) -> None:
        super().__init__()
        self.station_clock = clock or StationClock()
        self.sync_configured = sync_configured
        self.setObjectName("header")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 6, 10, 6)
        outer.setSpacing(4)
        top = QHBoxLayout()
        self.station = QLabel(station_name)
        self.station.setObjectName("title")
        top.addWidget(self.station)
        self.model = QLabel("")
        self.model.setObjectName("caption")
        self.model.setStyleSheet(f"font-size: {theme.FONT}px;")
        top.addWidget(self.model, 1)
        user_label = QLabel("User")
        user_label.setObjectName("caption")
        top.addWidget(user_label)
        self.user = QLabel("nobody")
        self.user.setObjectName("title")
        top.addWidget(self.user)
        self.lock = big_button("Lock", name="lock")
        self.lock.clicked.connect(self.lock_requested)
        top.addWidget(self.lock)
        self._user = ("", "")
        self.clock = QLabel("")
        self.clock.setObjectName("title")
        self.clock.setToolTip("the station's wall clock")
        self.clock.setMinimumWidth(140)
        self.clock.setAlignment(Qt.AlignmentFlag.AlignCenter)
        top.addWidget(self.clock)
        self.escalate = big_button("Escalate (F3)", name="escalate")
        self.escalate.setMinimumWidth(170)
        self.escalate.clicked.connect(self.escalate_requested)
        top.addWidget(self.escalate)
        outer.addLayout(top)
        tiles = QGridLayout()
        tiles.setHorizontalSpacing(4)
        self.line = Tile("Line")
        self.health = Tile("Model health")
        self.rate = Tile("Parts / min")
        self.rejects = Tile("Rejected lines")
        self.overrides = Tile("Overrides 1 h")
        self.unack = Tile("To acknowledge")
        self.source = Tile("Source", small=True)
        self.store = Tile("Store", small=True)
        self.sync = Tile("Plant sync", small=True)
        # its second line can be long: it may be cut at the tile's edge (the tooltip has it all)
        # so that the header fits 1280 px beside the user and Lock
        self.sync.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        alarm_box = QFrame()
        alarm_layout = QVBoxLayout(alarm_box)
        alarm_layout.setContentsMargins(5, 2, 5, 2)
        alarm_layout.setSpacing(0)
        alarm_caption = QLabel("Active alarms")
        alarm_caption.setObjectName("caption")
        alarm_layout.addWidget(alarm_caption)
        chips = QHBoxLayout()
        chips.setSpacing(4)
        self.chips: dict[str, QLabel] = {}
        chips.addStretch(0)
        for priority in ("urgent", "high", "medium", "low"):
            chip = QLabel(f"{priority[0].upper()} 0")
            chip.setToolTip(f"{priority} priority")
            chip.setAlignment(Qt.AlignmentFlag.AlignCenter)
            chip.setMinimumWidth(36)
            chips.addWidget(chip)
            self.chips[priority] = chip
        alarm_layout.addLayout(chips)
        widgets = (
            self.line,
            self.health,
            self.rate,
            self.rejects,
            self.overrides,
            alarm_box,
            self.unack,
            self.source,
            self.store,
            self.sync,
        )
        stretch = (1, 2, 1, 1, 1, 2, 1, 2, 1, 3)
        for column, (widget, weight) in enumerate(zip(widgets, stretch, strict=True)):
            tiles.addWidget(widget, 0, column)
            tiles.setColumnStretch(column, weight)
        outer.addLayout(tiles)
        self._chip_counts: dict[str, int] = {}
        self.clock_timer = QTimer(self)
        self.clock_timer.timeout.connect(self.tick)
        self.clock_timer.start(1000)
        self.tick()

    def current_user(self) -> tuple[str, str]:
        return self._user

    def show_user(self, name: str, role: str) -> None:
        """The person logged in at this console (empty: locked)."""
        if (name, role) != self._user:
            self._user = (name, role)
            self.user.setText(f"{name} ({role.replace('_', ' ')})" if name else "locked")

    def tick(self) -> None:
        self.clock.setText(f"{self.station_clock.wall()} {self.station_clock.zone_name}")

    def show_snapshot(self, s: Snapshot) -> None:
        self.model.setText(f"  {s.station} · model {s.model}")
        self.line.set_value(
            s.line_state, "" if s.line_state != "stopped" else f"border: 2px solid {theme.TEXT};"
        )
        if s.learning:
            self.health.set_value(f"Learning {100 * s.reference_progress:.0f} %")
        else:
            style = {
                "watch": f"border: 2px solid {theme.TEXT};",
                "drift": f"background: {theme.DRIFT}; color: #000000;",
                "fallback": theme.priority_style("urgent"),
            }.get(s.health, "")
            self.health.set_value(HEALTH_TEXT.get(s.health, s.health), style)
        self.rate.set_value(f"{s.parts_per_minute:,.0f}")
        self.rejects.set_value(f"{100 * s.reject_rate:.2f} %")
        self.overrides.set_value(f"{s.overrides_last_hour}")
        counts = s.active_by_priority()
        for priority, chip in self.chips.items():
            count = counts.get(priority, 0)
            if self._chip_counts.get(priority) == count:
                continue
            self._chip_counts[priority] = count
            chip.setText(f"{priority[0].upper()} {count}")
            style = theme.priority_style(priority) if count else f"color: {theme.MUTED};"
            chip.setStyleSheet(
                f"{style} font-size: {theme.FONT + 1}px; font-weight: bold; border-radius: 3px; padding: 0 2px;"
            )
        waiting = [
            a.priority for a in s.alarms if a.state in ("unacknowledged", "returned_unacknowledged")
        ]
        top = max(waiting, key=PRIORITIES.index) if waiting else ""
        self.unack.set_value(f"{len(waiting)}", theme.priority_style(top) if top else "")
        if s.sources:
            text = ", ".join(x.state for x in s.sources)
            caption = "Source " + ", ".join(x.name for x in s.sources)
            bad = any(x.state not in ("connected", "starting") for x in s.sources)
        else:
            text, caption, bad = "none", "Source", False
        self.source.caption.setText(_short(caption, 30))
        self.source.set_value(_short(text, 20), f"color: {theme.ERROR};" if bad else "")
        self.source.setToolTip(caption + ": " + text)
        store, _, detail = s.store.partition(", ")
        bad_store = s.store.startswith("error") or s.store.startswith("store unavailable")
        if bad_store or not detail:
            store, detail = s.store, ""
        elif not self.sync_configured and "to sync" in detail:
            detail = "no sync configured"
        self.store.caption.setText(f"Store · {detail}" if detail else "Store")
        self.store.set_value(_short(store, 20), f"color: {theme.ERROR};" if bad_store else "")
        self.store.setToolTip(s.store)
        self.show_sync(s.sync)

    def show_sync(self, sync: SyncStatus) -> None:
        """'no sync configured', or connected/offline, waiting rows, oldest, last success."""
        detail = sync.detail()
        # The tile is narrow at 1280 px: the caption keeps what fits, the tooltip has it all.
        caption = f"Plant sync · {detail}" if sync.configured else "Plant sync"
        self.sync.caption.setText(_short(caption, 30))
        if sync.stale:
            style = theme.priority_style("medium")
        elif sync.abnormal:
            style = f"border: 2px solid {theme.TEXT};"
        else:
            style = ""
        self.sync.set_value(_short(sync.headline(), 26), style)
        self.sync.setToolTip(
            f"{sync.headline()}\n{detail}"
            + (f"\nlast error: {sync.last_error}" if sync.last_error else "")
        )
