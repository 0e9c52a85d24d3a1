"""Talking to a zygote: a child process that has imported everything once and forks the runs a
test kills (tests/test_durability.py, tests/test_restart_kills.py)."""

from __future__ import annotations

import select
import subprocess


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    """The zygote's next line; fails with what it wrote to stderr if it says nothing in time."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"the zygote said nothing within {timeout} s: {proc.stderr.read()[-2000:]}"
    return proc.stdout.readline()
