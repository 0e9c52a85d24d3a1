"""`main.py user add|list|disable` and `main.py audit verify|export` (WIRE.md §5).

People are added from a shell by whoever can run the console's programs (they own the files);
the change is audited under role "shell" with the operating-system user's name, in the same
transaction as the user row. The first user must be an admin. `user add` reads the PIN twice,
with getpass on a terminal, else as two lines of standard input. `audit verify` prints one
`audit_verify` line and exits 0 when the chain holds, 1 when it does not, 2 for bad arguments;
with `--anchor FILE` (the `audit_anchor` line an export printed, or the plant's copy) it also
catches a rewritten chain or deleted newest entries. Main thread only.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from console.actions import CommandRefused
from console.auth import ROLES, Authenticator
from console.config import Config
from data.audit import Anchor, export_csv, read_anchor, verify_trail
from data.people import StoreDirectory
from data.reading import StoreError, open_reader
from data.store import StoreWriter

PIN_PROMPT = "PIN: "


class PeopleUsageError(Exception):
    """Bad arguments for `user` / `audit`: exit status 2 with this reason."""


def add_parsers(commands: argparse._SubParsersAction) -> None:
    user = commands.add_parser("user", help="people and roles: add, list, disable")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="add a user (PIN read twice)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--config", dest="sub_config", required=True, help="station config (TOML)")
    listing = user_commands.add_parser("list", help="the users as JSON Lines")
    listing.add_argument("--config", dest="sub_config", required=True)
    disable = user_commands.add_parser("disable", help="a user may no longer log in")
    disable.add_argument("name")
    disable.add_argument("--config", dest="sub_config", required=True)
    audit = commands.add_parser("audit", help="the audit trail: verify or export")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="recompute the audit chain")
    verify.add_argument("--config", dest="sub_config", required=True)
    verify.add_argument("--anchor", help="a file with the audit_anchor line of an export")
    export = audit_commands.add_parser("export", help="the audit trail as CSV; prints the anchor")
    export.add_argument("--config", dest="sub_config", required=True)
    export.add_argument("--out", required=True, help="CSV file to write")


def store_path(config: Config) -> str:
    if not config.store.path:
        raise PeopleUsageError("the config has no [store] path: users and audit live there")
    return config.store.path


def run(args: argparse.Namespace, config: Config) -> int:
    """`user ...` or `audit ...`; PeopleUsageError for bad arguments (exit 2)."""
    if args.command == "user":
        return run_user(args, config)
    return run_audit(args, config)


def run_user(args: argparse.Namespace, config: Config) -> int:
    path = store_path(config)
    if args.user_command == "list":
        for user in _read_users(path):
            print(json.dumps(user, separators=(",", ":")))
        return 0
    try:
        writer = StoreWriter(path, config.station.id, _features(path, config))
    except StoreError as error:
        raise PeopleUsageError(str(error)) from error
    try:
        people = Authenticator(StoreDirectory(writer))
        by = getpass.getuser()
        if args.user_command == "add":
            if people.needs_first_admin() and args.role != "admin":
                raise PeopleUsageError("the first user must be an admin: use --role admin")
            pin = _read_pin()
            people.add_user_from_shell(args.name, args.role, pin, by)
            print(json.dumps({"event": "user_added", "name": args.name, "role": args.role}))
        else:
            people.disable_user(None, args.name, by_shell=by)
            print(json.dumps({"event": "user_disabled", "name": args.name}))
    except CommandRefused as error:
        raise PeopleUsageError(str(error)) from error
    finally:
        writer.close()
    return 0


def run_audit(args: argparse.Namespace, config: Config) -> int:
    path = store_path(config)
    if not Path(path).exists():
        raise PeopleUsageError(f"no store at {path}")
    if args.audit_command == "export":
        try:
            with open(args.out, "w", newline="", encoding="utf-8") as out:
                head = export_csv(path, out)
        except OSError as error:
            raise PeopleUsageError(f"cannot write {args.out}: {error.strerror or error}") from error
        print(json.dumps(head.wire(), separators=(",", ":")))
        return 0
    anchor: Anchor | None = None
    if args.anchor:
        try:
            anchor = read_anchor(Path(args.anchor).read_text(encoding="utf-8"))
        except OSError as error:
            raise PeopleUsageError(f"cannot read {args.anchor}: {error.strerror}") from error
        except ValueError as error:
            raise PeopleUsageError(f"{args.anchor}: {error}") from error
    try:
        verdict = verify_trail(path, anchor)
    except StoreError as error:
        raise PeopleUsageError(str(error)) from error
    print(json.dumps(verdict.wire(), separators=(",", ":")))
    return 0 if verdict.ok else 1


def _read_pin() -> str:
    if sys.stdin.isatty():
        first, second = getpass.getpass(PIN_PROMPT), getpass.getpass("PIN again: ")
    else:
        lines = sys.stdin.read().splitlines()
        if len(lines) < 2:
            raise PeopleUsageError("give the PIN twice, one per line, on standard input")
        first, second = lines[0].strip(), lines[1].strip()
    if first != second:
        raise PeopleUsageError("the two PINs differ")
    return first


def _read_users(path: str) -> list[dict]:
    if not Path(path).exists():
        return []
    db = open_reader(path)
    try:
        if "users" not in db.table_names():
            return []
        rows = db.conn.execute(
            "SELECT name, role, disabled, created FROM users ORDER BY name"
        ).fetchall()
    finally:
        db.close()
    return [
        {"event": "user", "name": n, "role": r, "disabled": bool(d), "created": c}
        for n, r, d, c in rows
    ]


def _features(path: str, config: Config) -> tuple[str, ...]:
    """The store's newest feature list, so opening it from the shell adds no new one."""
    if config.station.features or not Path(path).exists():
        return tuple(config.station.features)
    db = open_reader(path)
    try:
        row = db.conn.execute("SELECT names FROM feature_sets ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        db.close()
    return tuple(json.loads(row[0])) if row else ()
