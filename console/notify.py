"""Notifications through a local command: an e-mail gateway, an SMS modem script, a pager.

`Notifier` runs the configured argv (never through a shell) once per message, with the message
as one JSON line on its standard input and a timeout; a command that fails, times out or cannot
start becomes a visible event through `on_failure`, never an exception in the caller. Its own
worker thread ("notify") runs the commands, so the engine thread never waits for a modem.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Callable


class Notifier:
    """Delivers notification messages through one local command; runs thread "notify"."""

    def __init__(
        self,
        command: tuple[str, ...],
        timeout: float,
        on_failure: Callable[[str], None],
        on_sent: Callable[[dict], None] | None = None,
    ) -> None:
        self.command = tuple(command)
        self.timeout = timeout
        self.on_failure = on_failure
        self.on_sent = on_sent
        self._queue: queue.Queue[dict | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def send(self, message: dict) -> None:
        if not self.command:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
            self._thread.start()
        self._queue.put(message)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(self.timeout + 1.0)

    def _run(self) -> None:
        while (message := self._queue.get()) is not None:
            self._deliver(message)

    def _deliver(self, message: dict) -> None:
        text = json.dumps(message, sort_keys=True) + "\n"
        try:
            done = subprocess.run(  # noqa: S603 - an argv from the station config, no shell
                self.command,
                input=text,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.on_failure(f"notify command timed out after {self.timeout:g} s")
            return
        except OSError as error:
            self.on_failure(f"notify command cannot start: {error}")
            return
        if done.returncode != 0:
            why = (done.stderr or "").strip().splitlines()[-1:] or [""]
            self.on_failure(f"notify command exited {done.returncode} {why[0]}".strip())
        elif self.on_sent is not None:
            self.on_sent(message)
