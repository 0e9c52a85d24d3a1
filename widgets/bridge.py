"""The one bridge from the station (no Qt) into Qt-land, and the console's error sink.

`SnapshotPump` runs on the UI thread: a 10 Hz `QTimer` reads `station.snapshot` (the immutable
snapshot the engine thread publishes) and emits `changed` only when it is a new object, so a
quiet line costs nothing and a busy one costs one redraw per tick, never one per record.
`install_error_hooks` routes `sys.excepthook` and `threading.excepthook` (any thread) into the
station's system events, so an error shows in the event list instead of a modal box.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from console.runner import Station

REFRESH_MS = 100


class SnapshotPump(QObject):
    """Polls the station's latest snapshot at 10 Hz (UI thread); emits each new one once."""

    changed = Signal(object)

    def __init__(
        self, station: Station, period_ms: int = REFRESH_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.station = station
        self.last = None
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(period_ms)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.poll()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def poll(self) -> None:
        snapshot = self.station.snapshot
        if snapshot is self.last:
            return
        self.last = snapshot
        self.changed.emit(snapshot)


def note_error(station: Station, source: str, text: str) -> None:
    """An error becomes a system event on screen (any thread; the event deque is thread-safe)."""
    station.engine.note_system("error", source, text[:300])


def install_error_hooks(station: Station) -> Callable[[], None]:
    """Route uncaught exceptions of every thread into `station`'s events; returns an undo."""
    previous_sys, previous_thread = sys.excepthook, threading.excepthook

    def on_exception(kind, value, tb) -> None:
        traceback.print_exception(kind, value, tb, file=sys.stderr)
        note_error(station, "ui", f"{kind.__name__}: {value}")

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        traceback.print_exception(
            args.exc_type, args.exc_value, args.exc_traceback, file=sys.stderr
        )
        name = args.thread.name if args.thread is not None else "thread"
        note_error(station, name, f"{args.exc_type.__name__}: {args.exc_value}")

    sys.excepthook = on_exception
    threading.excepthook = on_thread_exception

    def restore() -> None:
        sys.excepthook, threading.excepthook = previous_sys, previous_thread

    return restore
