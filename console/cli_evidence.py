"""`main.py incidents`, `main.py export-incident ID --out DIR` and `main.py report --week` (WIRE.md
§5): the incident list as JSON Lines, the incident event record as DIR/ID.json and DIR/ID.pdf,
the weekly review as DIR/week-DATE.json and .pdf; the output line gives the content hash of
each (the same store gives the same bytes of both). The PDF writer is
handed in by console/cli.py (it lives in widgets/, which the core does not import). Main thread.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from console.config import Config
from console.incident_record import content_hash, export_json, listing
from console.weekly import write_review
from data.reading import StoreError

PdfWriter = Callable[[str, dict, str, Path], Path]


class EvidenceUsageError(Exception):
    """Bad arguments for the evidence commands: exit status 2 with this reason."""


def add_parsers(commands: argparse._SubParsersAction) -> None:
    listed = commands.add_parser("incidents", help="the incidents as JSON Lines")
    listed.add_argument("--config", dest="sub_config", required=True, help="station config")
    export = commands.add_parser(
        "export-incident", help="the incident event record as DIR/ID.json and DIR/ID.pdf"
    )
    export.add_argument("incident", help="incident id, e.g. INC-20261130-3F2A1C")
    export.add_argument("--config", dest="sub_config", required=True, help="station config")
    export.add_argument("--out", required=True, help="folder to write into")
    report = commands.add_parser("report", help="the weekly operations review as JSON and PDF")
    report.add_argument("--week", action="store_true", required=True, help="the seven days")
    report.add_argument("--ending", help="last day (YYYY-MM-DD); default: last day of production")
    report.add_argument("--config", dest="sub_config", required=True, help="station config")
    report.add_argument("--out", required=True, help="folder to write into")


def _store(config: Config) -> str:
    if not config.store.path or not Path(config.store.path).exists():
        raise EvidenceUsageError(
            f"no store at [store] path {config.store.path!r}: incidents live there"
        )
    return config.store.path


def run(args: argparse.Namespace, config: Config, pdf: PdfWriter) -> int:
    try:
        if args.command == "incidents":
            for row in listing(_store(config)):
                sys.stdout.write(json.dumps(row, separators=(",", ":")) + "\n")
            return 0
        if args.command == "report":
            record, path = write_review(_store(config), args.ending, config, args.out)
            title = f"Weekly review {record['week']['from'][:10]} to {record['week']['to'][:10]}"
        else:
            record, path = export_json(_store(config), args.incident, config, args.out)
            title = f"Incident {args.incident}"
    except ValueError as error:
        raise EvidenceUsageError(str(error)) from error
    except KeyError as error:
        raise EvidenceUsageError(f"no incident {error.args[0]} in the store") from error
    except (StoreError, OSError) as error:
        raise EvidenceUsageError(str(error)) from error
    digest = content_hash(record)
    pdf_path = pdf(title, record, digest, path.with_suffix(".pdf"))
    kind = "weekly_review" if args.command == "report" else "incident_export"
    out = {"event": kind, "id": path.stem, "json": str(path)}
    pdf_digest = hashlib.sha256(pdf_path.read_bytes()).hexdigest()
    out |= {"pdf": str(pdf_path), "sha256": digest, "pdf_sha256": pdf_digest}
    sys.stdout.write(json.dumps(out, separators=(",", ":")) + "\n")
    return 0
