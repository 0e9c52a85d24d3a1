"""`main.py analyze` prints the same alarm events, byte for byte, as when the golden files were
written: the refactoring guard of the engine and its detectors.

Each case simulates a stream with a fixed seed (the simulator is deterministic), analyzes it as a
user would, and compares the alarm event lines and the summary (without its `seconds`) with
`tests/golden/<case>.jsonl`. The stream's digest is kept too, so that a change of the simulator
is told apart from a change of the detectors. After an intended change of behaviour, rewrite the
files with `GOLDEN_UPDATE=1 uv run pytest tests/test_golden_alarms.py` and review the diff.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
SMALL = str(GOLDEN / "small.toml")

# case: (simulate arguments, analyze arguments)
CASES = {
    "drift": (["--scenario", "drift", "--days", "16", "--per-day", "1250", "--onset", "2"], SMALL),
    "jump": (["--scenario", "jump", "--days", "4"], None),
    "frozen": (["--scenario", "frozen", "--days", "4"], None),
    "noisy": (["--scenario", "noisy", "--days", "4"], None),
    "jump_noisy_small": (["--scenario", "jump+noisy", "--days", "8", "--per-day", "1250"], SMALL),
}


def run(*args: str) -> bytes:
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def alarm_output(stream: Path, config: str | None) -> bytes:
    out = run("analyze", str(stream), *(["--config", config] if config else []))
    lines = out.decode().splitlines()
    summary = json.loads(lines[-1])
    assert summary.pop("event") == "summary"
    summary.pop("seconds")
    return ("\n".join([*lines[:-1], json.dumps(summary, sort_keys=True)]) + "\n").encode()


@pytest.mark.parametrize("case", sorted(CASES))
def test_analyze_prints_the_golden_alarm_events(case, tmp_path):
    simulate_args, config = CASES[case]
    stream = tmp_path / f"{case}.jsonl"
    run("simulate", *simulate_args, "--seed", "7", "--to", str(stream))
    digest = hashlib.sha256(stream.read_bytes()).hexdigest()
    got = alarm_output(stream, config)
    golden = GOLDEN / f"{case}.jsonl"
    stream_digest = GOLDEN / f"{case}.stream.sha256"
    if os.environ.get("GOLDEN_UPDATE"):
        golden.write_bytes(got)
        stream_digest.write_text(digest + "\n")
    assert stream_digest.read_text().strip() == digest, (
        "the simulator now writes a different stream: check that change, then rewrite the "
        "golden files (see the module docstring)"
    )
    assert got == golden.read_bytes()
