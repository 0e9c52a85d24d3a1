"""Work handed to the engine thread by a command from another thread, and waited for.

A command that changes what the engine watches against (a new reference) must not run while
the engine thread is in the middle of a batch: `EngineJobs.call` queues it, the engine thread
runs it between two drains of the intake (`run`), and the caller gets its result or its error.
Before the engine thread has started, the caller runs it itself.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class EngineJobs:
    """A queue of callables for the engine thread."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], list, threading.Event]] = (
            queue.SimpleQueue()
        )
        self.engine_thread: threading.Thread | None = None

    def call(self, job: Callable[[], Any], timeout: float = 120.0) -> Any:
        """Run `job` on the engine thread (or here if it does not run); its result or error."""
        thread = self.engine_thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            return job()
        outcome: list = []
        done = threading.Event()
        self._queue.put((job, outcome, done))
        if not done.wait(timeout):
            raise RuntimeError(f"the engine did not get to it within {timeout:.0f} s")
        result, error = outcome
        if error is not None:
            raise error
        return result

    def run(self) -> None:
        """Run the queued jobs (engine thread)."""
        self.engine_thread = threading.current_thread()
        while True:
            try:
                job, outcome, done = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                outcome[:] = [job(), None]
            except Exception as error:  # handed back to the caller
                outcome[:] = [None, error]
            done.set()
