"""`main.py replay` and `main.py export` (WIRE.md §5): a quality engineer's commands.

Both read the store named by the station config through their own read-only connections, so
they may run while the line runs. `replay` prints the same event lines as `analyze` and its
summary; `export` writes a batch or a time range as JSON Lines, CSV or (through the writer the
command line hands in, Qt's PDF writer in widgets/) a PDF batch report. Main thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from console.config import Config
from console.export import write_csv, write_jsonl
from console.incident_replay import incident_range
from console.records import parse_timestamp
from console.replay import ReplayError, parse_settings, replay
from data import replay as stored
from data.reading import StoreError

PdfWriter = Callable[[str, Config, stored.Selection, str], int]


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The `replay` and `export` sub-commands."""
    again = commands.add_parser(
        "replay", help="re-run the detectors over stored records (a batch or a time range)"
    )
    _selection_arguments(again, required=False)
    again.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="what-if: any numeric config key, e.g. detection.false_alarms_per_year=1",
    )
    out = commands.add_parser("export", help="stored records of a batch or range to a file")
    _selection_arguments(out, required=True)
    out.add_argument("--format", choices=("jsonl", "csv", "pdf"), required=True)
    out.add_argument("--out", required=True, help="the file to write")


def _selection_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--config", dest="sub_config", help="station config (TOML)")
    parser.add_argument("--batch", help="batch id as the records carry it")
    parser.add_argument("--from", dest="start", help="first record time (RFC 3339)")
    parser.add_argument("--to", dest="end", help="last record time (RFC 3339)")
    parser.add_argument(
        "--incident",
        help="an incident id: its parts from its first alarm (less window.parts) to its close",
    )
    parser.set_defaults(selection_required=required)


def selection_of(args: argparse.Namespace) -> stored.Selection:
    """The selection the arguments name; ReplayError for a half range or an unreadable time."""
    if args.batch is not None and (args.start or args.end):
        raise ReplayError("give --batch or --from/--to, not both")
    if bool(args.start) != bool(args.end):
        raise ReplayError("a range needs both --from and --to")
    if args.selection_required and args.batch is None and not args.start:
        raise ReplayError("say what to export: --batch ID, --from TS --to TS or --incident ID")
    try:
        start = parse_timestamp(args.start) if args.start else None
        end = parse_timestamp(args.end) if args.end else None
    except ValueError as error:
        raise ReplayError(f"--from/--to take RFC 3339 times: {error}") from error
    return stored.Selection(batch=args.batch, start=start, end=end)


def chosen(args: argparse.Namespace, config: Config) -> stored.Selection:
    """The selection of `--incident ID`, else of `--batch` or `--from/--to` (`selection_of`)."""
    if args.incident is None:
        return selection_of(args)
    if args.batch is not None or args.start or args.end:
        raise ReplayError("give one of --incident, --batch or --from/--to")
    try:
        return incident_range(store_path(config), config, args.incident).selection
    except StoreError as error:
        raise ReplayError(str(error)) from error


def store_path(config: Config) -> str:
    path = config.store.path
    if not path or not Path(path).exists():
        raise ReplayError(f"no store at {path!r}: point [store] path at the station's store file")
    return path


def run_replay(args: argparse.Namespace, config: Config) -> int:
    """Print the selection's alarm events and a summary (with the run and reference used)."""
    started = time.perf_counter()
    done = replay(store_path(config), config, chosen(args, config), parse_settings(args.settings))
    write = sys.stdout.write
    for event in done.events:
        write(json.dumps(event.wire(), separators=(",", ":")) + "\n")
    for warning in done.warnings:
        print(f"replay: {warning}", file=sys.stderr)
    raised = sum(1 for e in done.events if e.event == "alarm_raised")
    summary = {
        "event": "summary",
        "records": done.records,
        "rejected": 0,
        "alarms": raised,
        "seconds": round(time.perf_counter() - started, 3),
        "run": done.run,
        "reference_version": done.reference_version,
    }
    write(json.dumps(summary, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    return 0


def run_export(args: argparse.Namespace, config: Config, pdf: PdfWriter | None) -> int:
    """Write the selection; a one-line `export` event on stdout says how many records."""
    path = store_path(config)
    selection = chosen(args, config)
    if args.format == "pdf":
        if pdf is None:
            raise ReplayError("this build has no PDF writer (PySide6 is missing)")
        count = pdf(path, config, selection, args.out)
    else:
        try:
            records = stored.selected_records(path, selection)
        except StoreError as error:
            raise ReplayError(str(error)) from error
        if not len(records):
            raise ReplayError("no stored record matches the selection")
        try:
            with open(args.out, "w", encoding="utf-8", newline="") as out:
                write = write_jsonl if args.format == "jsonl" else write_csv
                count = write(records, out)
        except OSError as error:
            raise ReplayError(f"cannot write {args.out}: {error.strerror or error}") from error
    line = {"event": "export", "format": args.format, "records": count, "out": args.out}
    print(json.dumps(line, separators=(",", ":")))
    return 0
