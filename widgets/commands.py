"""Operator commands off the UI thread: the screen never freezes while the store commits.

`run_command` calls one station command (`override`, `acknowledge`, `escalate`) in a short-lived
worker thread and delivers its result back on the UI thread through a queued Qt signal: the
returned value, or the operator-readable reason of a `CommandRefused` (any other error becomes
"not done: ..." and a system event). The screen says "saved" only from the `done` callback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from console.runner import CommandRefused


class CommandCall(QObject):
    """One command in flight; lives on the UI thread, its work runs in a worker thread."""

    finished = Signal(bool, object)

    def __init__(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        refused: Callable[[str], None],
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self._work = work
        self._done = done
        self._refused = refused
        self._on_error = on_error
        self.finished.connect(self._deliver)
        self.thread = threading.Thread(target=self._run, name="command", daemon=True)

    def _run(self) -> None:
        try:
            result = self._work()
        except CommandRefused as error:
            self.finished.emit(False, str(error))
        except Exception as error:  # shown to the operator, never a crash
            if self._on_error is not None:
                self._on_error(f"{type(error).__name__}: {error}")
            self.finished.emit(False, f"not done: {error}")
        else:
            self.finished.emit(True, result)

    def _deliver(self, ok: bool, value: object) -> None:
        _IN_FLIGHT.discard(self)
        if ok:
            self._done(value)
        else:
            self._refused(str(value))


_IN_FLIGHT: set[CommandCall] = set()


def run_command(
    work: Callable[[], Any],
    done: Callable[[Any], None],
    refused: Callable[[str], None],
    on_error: Callable[[str], None] | None = None,
) -> CommandCall:
    """Start `work` in a worker thread; `done(result)` or `refused(reason)` run on the UI thread."""
    call = CommandCall(work, done, refused, on_error)
    _IN_FLIGHT.add(call)
    call.thread.start()
    return call
