"""`main.py sync [--init] --config FILE` (WIRE.md §5): the plant sync from the command line.

`--init` creates or migrates the central schema; without it the outbox is drained once. Prints
one JSON object on stdout; exit 0 when done (everything pending arrived), 1 with a one-line
reason on stderr otherwise, 2 when the config has no usable `[sync]` (main thread).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psycopg

from console.config import Config, ConfigError
from data.central import CentralSchemaError
from data.reading import StoreError
from data.sync import drain_store, init_central


def run_sync(config: Config, init: bool, timeout: float = 60.0) -> int:
    if not config.sync.url:
        raise ConfigError(
            "sync.url",
            "is not set, so there is no plant database to sync with",
            'add [sync] url = "postgresql://linewatch@db.plant.local/linewatch"',
        )
    if init:
        try:
            before, now = init_central(config.sync)
        except (psycopg.Error, CentralSchemaError) as error:
            return _fail(f"sync --init: {_first_line(error)}")
        _print({"event": "sync_init", "version_before": before, "version": now})
        return 0
    path = config.store.path
    if not path or not Path(path).exists():
        return _fail(f"sync: no store at {path or '(store.path not set)'}")
    try:
        ok, reason, status = drain_store(path, config.station.id, config.sync, timeout)
    except StoreError as error:
        return _fail(f"sync: {error}")
    _print(
        {
            "event": "sync",
            "ok": ok,
            "high_water": status.high_water,
            "pending": status.pending,
            "quarantined": status.quarantined,
        }
    )
    return 0 if ok else _fail(f"sync: {status.pending} rows not synced: {reason}")


def _print(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _fail(reason: str) -> int:
    print(f"main.py: {reason}", file=sys.stderr)
    return 1


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
