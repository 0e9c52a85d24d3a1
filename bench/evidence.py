"""The evidence exports, timed as a user runs them (target: an incident record in < 10 s).

Seeds the scenario of tests/test_incident_record.py (a simulated line with its store, an alarm,
an override, an escalation, an acknowledgement, a fallback), then runs `main.py export-incident`
and `main.py report --week` each twice as separate processes — interpreter start, Qt and the
PDF included — and says whether the second run wrote the same bytes (JSON and PDF); then once
inside this process (the work itself, without the interpreter's start and imports). Used by
`main.py bench --only evidence`; main thread.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.test_incident_record import run_main, seeded

ROOT = Path(__file__).resolve().parent.parent


def _run(argv: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv],
        capture_output=True, text=True, timeout=600, cwd=ROOT, check=True,
    )  # fmt: skip
    return time.perf_counter() - started, json.loads(done.stdout)


def bench_evidence() -> dict[str, dict]:
    """{case: {"seconds": [first, second], "in_process_seconds", "same_json", "same_pdf", ...}}."""
    with tempfile.TemporaryDirectory() as folder:
        config, incident, _, _ = seeded(Path(folder))
        cases = {
            "export-incident": ["export-incident", incident],
            "report --week": ["report", "--week"],
        }
        figures = {}
        for case, argv in cases.items():
            runs = [
                _run([*argv, "--config", str(config), "--out", str(Path(folder) / f"{case}{k}")])
                for k in (1, 2)
            ]
            (first, said1), (second, said2) = runs
            out = str(Path(folder) / f"{case}-in-process")
            started = time.perf_counter()
            run_main([*argv, "--config", str(config), "--out", out])
            figures[case] = {
                "seconds": [round(first, 2), round(second, 2)],
                "in_process_seconds": round(time.perf_counter() - started, 2),
                "same_json": said1["sha256"] == said2["sha256"],
                "same_pdf": said1["pdf_sha256"] == said2["pdf_sha256"],
                "json_bytes": Path(said1["json"]).stat().st_size,
                "pdf_bytes": Path(said1["pdf"]).stat().st_size,
            }
        return figures
