"""`main.py analyze` and `simulate` as WIRE.md §5 specifies them, run as a user would."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(*args, stdin=None, timeout=120):
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )


def test_analyze_prints_alarm_events_then_a_summary(tmp_path):
    stream = tmp_path / "jump.jsonl"
    assert (
        main(
            "simulate", "--scenario", "jump+noisy", "--days", "3.5", "--to", str(stream)
        ).returncode
        == 0
    )
    out = main("analyze", str(stream))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    summary = lines[-1]
    assert summary["event"] == "summary"
    assert summary["records"] == 17500
    assert summary["rejected"] > 100
    events = lines[:-1]
    assert events and all(e["event"] in ("alarm_raised", "alarm_cleared") for e in events)
    keys = {"event", "seq", "ts", "alarm", "source", "detector", "priority", "value"}
    assert all(keys <= set(e) for e in events)
    assert all(e["priority"] in ("low", "medium", "high", "urgent") for e in events)
    jump = next(e for e in events if e["alarm"] == "jump:focus")
    assert 15000 <= jump["seq"] <= 15200  # onset at day 3: part 15,000
    assert summary["alarms"] == sum(1 for e in events if e["event"] == "alarm_raised")
    assert all(e["seq"] >= 10000 for e in events)  # nothing fires inside the reference


def test_analyze_reads_standard_input_and_a_reference_file(tmp_path):
    reference = tmp_path / "ref.jsonl"
    assert main("simulate", "--days", "2", "--seed", "3", "--to", str(reference)).returncode == 0
    stream = main("simulate", "--scenario", "stable", "--days", "0.5", "--to", "-").stdout
    out = main("analyze", "-", "--reference", str(reference), stdin=stream)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.splitlines()[-1])
    assert summary["records"] == 2500 and summary["alarms"] == 0


def test_bad_arguments_and_unreadable_files_exit_2_with_one_line(tmp_path):
    missing = main("analyze", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert missing.stderr.decode().count("\n") == 1 and "nope.jsonl" in missing.stderr.decode()
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[station]\nidd = 1\n")
    out = main("analyze", "-", "--config", str(bad_config), stdin=b"")
    assert out.returncode == 2 and "station.idd" in out.stderr.decode()
    assert main("analyze").returncode == 2
    assert main("simulate", "--scenario", "meteor").returncode == 2


def test_a_stream_of_garbage_is_read_to_its_end(tmp_path):
    stream = tmp_path / "garbage.jsonl"
    stream.write_bytes(b'\x00\xff garbage\n{"not": "a record"}\n' * 1000 + b"no newline at end")
    out = main("analyze", str(stream))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.splitlines()[-1])
    assert summary["records"] == 0 and summary["rejected"] == 2001


def test_a_huge_line_without_newlines_is_one_rejected_line(tmp_path):
    stream = tmp_path / "huge.jsonl"
    good = main("simulate", "--days", "0.5", "--to", "-").stdout
    stream.write_bytes(good + b"x" * 5_000_000 + b"\n" + good)
    out = main("analyze", str(stream))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.splitlines()[-1])
    assert summary["records"] == 5000 and summary["rejected"] == 1


def test_every_sub_command_is_documented_in_the_readme():
    from console.cli import build_parser

    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert commands
    for name in commands:
        assert f"main.py {name}" in readme, name
    assert "uv run main.py" in readme and "uv run pytest" in readme


def test_the_last_records_of_a_file_are_watched_even_when_they_do_not_fill_a_micro_batch(tmp_path):
    """The engine watches records in micro-batches of `window.batch` (100); a file that ends 40
    records into one is watched to its end: 40 parts far out of range there are flagged."""
    stream = tmp_path / "tail.jsonl"
    assert (
        main("simulate", "--scenario", "stable", "--days", "2.2", "--to", str(stream)).returncode
        == 0
    )
    lines = stream.read_text().splitlines()
    body = lines[: len(lines) - len(lines) % 100]
    tail = []
    for line in body[-40:]:
        record = json.loads(line)
        record["features"]["brightness"] = 1e6
        tail.append(json.dumps(record))
    stream.write_text("\n".join(body + tail) + "\n")
    out = main("analyze", str(stream))
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()[:-1]]
    flagged = [e for e in events if e["source"] == "brightness" and e["event"] == "alarm_raised"]
    assert flagged, events
    assert min(e["seq"] for e in flagged) >= len(body)
