"""Custody of the store file: one writer per store, a health check at open, private modes.

`StoreLock` is an `fcntl` lock on `<store>.lock`, taken by the process that opens the store for
writing and held until it closes it; the lock file says who holds it (pid, host, start time),
so a second process is refused with a one-line reason naming the holder. The OS drops the lock
when its process dies, however it dies, so a lock left by a SIGKILLed process never blocks: the
file may remain, the lock does not. `examine_store` runs `PRAGMA quick_check` on an existing
file before anything writes to it; a damaged file is moved aside (renamed with a UTC time stamp,
never deleted) so that a fresh store can start, and the caller raises an alarm saying so.
`make_private` creates the store file 0600 before SQLite opens it (SQLite gives its -wal and
-shm files the database file's mode). Runs on the thread that opens the store, once.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

PRIVATE = 0o600
SIDE_FILES = ("-wal", "-shm")


class StoreLocked(RuntimeError):
    """Another process holds the store; the message names it (pid, host, since when)."""


class StoreLock:
    """An exclusive `fcntl` lock on `<store>.lock`, held by this process until `release`."""

    def __init__(self, store_path: str) -> None:
        self.path = f"{store_path}.lock"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise StoreLocked(
                f"store {store_path} is in use by another Linewatch process ({holder}); "
                "stop it, or point [store] path at another file"
            ) from None
        except OSError:
            os.close(fd)
            raise
        self._fd: int | None = fd
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(owner) + "\n").encode(), 0)

    def release(self) -> None:
        """Let the next process in (the file stays: removing it would race a new holder)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {holder['pid']} on {holder['host']} since {holder['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def make_private(store_path: str) -> None:
    """Create the store file 0600 if it is new; tighten an existing one and its side files."""
    if not os.path.exists(store_path):
        os.close(os.open(store_path, os.O_RDWR | os.O_CREAT, PRIVATE))
    for path in (store_path, *(store_path + s for s in SIDE_FILES)):
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, PRIVATE)
        except FileNotFoundError:
            continue


def examine_store(store_path: str) -> str:
    """'' when the file is absent, empty or passes `PRAGMA quick_check`; otherwise what is wrong."""
    path = Path(store_path)
    if not path.exists() or path.stat().st_size == 0:
        return ""
    try:
        uri = path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as error:
        return str(error)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as error:
        return str(error)
    finally:
        conn.close()
    problems = [str(row[0]) for row in rows if row[0] != "ok"]
    return "; ".join(problems[:3])[:300]


def set_aside(store_path: str, now: float | None = None) -> str:
    """Rename a damaged store (and its -wal/-shm) out of the way; returns the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    target = f"{store_path}.damaged-{stamp}"
    suffix = 1
    while os.path.exists(target):
        target = f"{store_path}.damaged-{stamp}-{suffix}"
        suffix += 1
    os.rename(store_path, target)
    for side in SIDE_FILES:
        if os.path.exists(store_path + side):
            os.rename(store_path + side, target + side)
    return target
