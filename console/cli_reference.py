"""`main.py reference new`: put a new reference version in force, explicitly and on the record.

With `--from FILE` the file's records become the new version at once (kept whole in the store
with an audit entry, in one transaction); without it the store records the request (audited) and
the next start learns the next `reference.size` records while the version in force keeps
watching. The station must be stopped (it holds the store). Main thread; exit 0 done, 2 refused.
"""

from __future__ import annotations

import getpass
import json
import sys
import time
from typing import Any

from console.config import Config
from console.engine import Engine
from console.reference_keeping import stored_form


def add_reference_parser(commands: Any) -> None:
    """The `reference` sub-command's arguments (on `main.py`'s sub-parsers)."""
    reference = commands.add_parser(
        "reference", help="the reference in force: `reference new` puts a new one in force"
    )
    reference.add_argument("action", choices=["new"], help="new: a new version, recorded")
    reference.add_argument("--config", dest="sub_config", help="station config (TOML)")
    reference.add_argument(
        "--from", dest="source", help="JSON Lines file of reference records; omit to learn the "
        "next reference.size records at the next start",
    )  # fmt: skip
    reference.add_argument("--user", help="who asks (recorded in the audit; default: login)")


def new_reference(config: Config, source: str | None, user: str | None) -> int:
    """The `reference new` sub-command; prints one JSON line saying what was done."""
    from data.commands import Audit
    from data.store import StoreError, StoreWriter

    path = config.store.path
    if not path:
        return _refused("no [store] path in the config: the reference is kept in the store")
    who = user or getpass.getuser()
    engine = Engine(config)
    batch = None
    if source:
        try:
            with open(source, "rb") as handle:
                batch, rejected = engine.reader.read_reference(handle.readlines())
        except (OSError, ValueError) as error:
            return _refused(f"cannot read {source}: {error}")
        if len(batch) < 100:
            return _refused(f"{source}: a reference needs at least 100 valid records")
    try:
        store = StoreWriter(path, config.station.id, engine.features)
    except StoreError as error:
        return _refused(str(error))
    with store:
        if batch is None:
            size = config.reference.size
            store.ask_for_reference(who, "cli", {"from": "next records", "records": size})
            _say({"event": "reference_asked", "records": size, "user": who})
            return 0
        from console.reference import build_profile

        description = f"reference file {source}"
        classes = engine.reader.classes
        profile = build_profile(batch, engine.features, list(classes), description)
        detail = {"from": source, "records": len(batch), "skipped": len(rejected)}
        audit = Audit(time.time(), who, "cli", "reference_new", detail)
        records = stored_form(batch, engine.features, classes)
        version = store.keep_reference(profile.to_json(), description, records, audit)
    _say({"event": "reference_new", "version": version, "records": len(batch), "user": who})
    return 0


def _say(line: dict) -> None:
    print(json.dumps(line, separators=(",", ":")))


def _refused(reason: str) -> int:
    print(f"main.py reference new: {reason}", file=sys.stderr)
    return 2
