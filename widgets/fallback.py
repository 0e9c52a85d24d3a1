"""The fallback control of the console window (UI thread): one click routes parts to manual
inspection; switching back asks why (and the core checks the role).

Reachable from every view through the header's button and F12; the lock screen has its own button
(widgets/login.py). The command runs in a worker thread (`run_command`) so the window stays live
while the PLC confirms; the result and any refusal come back as a status note.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QInputDialog, QWidget

from console.fallback import Switched
from widgets.commands import run_command


def result_text(done: Switched) -> str:
    if not done.on:
        return "Fallback off: the model inspects again."
    if done.confirmed:
        return f"FALLBACK ON: the PLC routes parts to manual inspection ({done.seconds * 1000:.0f} ms)."
    return f"FALLBACK ON. {done.detail[0].upper()}{done.detail[1:]}"


def toggle_fallback(parent: QWidget, station, note: Callable[[str], None]) -> None:  # noqa: ANN001
    """Switch on at once; to switch back, ask for the reason first."""

    def refused(reason: str) -> None:
        note(f"Fallback not switched: {reason}")

    if not station.fallback:
        work = lambda: station.set_fallback(True, "from the console")  # noqa: E731
        run_command(work, lambda done: note(result_text(done)), refused)
        return
    reason, ok = QInputDialog.getText(
        parent, "End the fallback", "Why may the model inspect again? (shift lead, control owner)"
    )
    if ok:
        work = lambda: station.set_fallback(False, reason)  # noqa: E731
        run_command(work, lambda done: note(result_text(done)), refused)
