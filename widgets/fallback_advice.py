"""The fallback recommendation banner (UI thread): when a fallback rule of the config holds (e.g.
an urgent drift alarm unacknowledged for 10 minutes), every screen and the lock screen say so in
one line with the reason, and the fallback control sits right beside it.

The rule itself runs in the core (console/fallback_desk.py); this banner only shows the
snapshot's `fallback_advice` and hides once the fallback is on or the rule no longer holds. Its
button is the same control as the header's (F12) — on the lock screen, the lock screen's own
fallback (name and PIN, then on).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel

from console.snapshot import Snapshot
from widgets import theme
from widgets.sheet import big_button


class FallbackAdvice(QFrame):
    """One line: FALLBACK RECOMMENDED, why, and the button that switches it on."""

    def __init__(self, act: Callable[[], None], button_text: str = "Fallback now (F12)") -> None:
        super().__init__()
        self.setObjectName("fallback_advice")
        self.setStyleSheet(f"QFrame#fallback_advice {{ {theme.priority_style('high')} }}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        self.reason = QLabel("")
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet(f"font-size: {theme.FONT}px; font-weight: bold;")
        layout.addWidget(self.reason, 1)
        self.button = big_button(button_text, name="fallback")
        self.button.setToolTip("Route parts to manual inspection now")
        self.button.clicked.connect(act)
        layout.addWidget(self.button)
        self.setVisible(False)
        self._shown = ""

    def show_snapshot(self, snapshot: Snapshot) -> None:
        advice = "" if snapshot.fallback else snapshot.fallback_advice
        if advice == self._shown:
            return
        self._shown = advice
        self.reason.setText(f"FALLBACK RECOMMENDED: {advice}" if advice else "")
        self.setVisible(bool(advice))
