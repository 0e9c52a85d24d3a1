"""The incident event record from a seeded scenario: a running simulated line with its store, an
alarm, an escalation, an override, an acknowledgement, a fallback, an incident moved on. Then
`main.py incidents` lists it and `main.py export-incident` writes DIR/ID.json and DIR/ID.pdf with
every field the EU AI Act evidence needs, the drift charts around the incident among them;
exported twice, in two processes, the JSON and the PDF are the same bytes."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

from console.actions import Acknowledge, Escalate, Override
from console.cli import main
from console.config import DEMO_CLASSES, DEMO_FEATURES, load_config
from console.runner import Station
from tests.drivers_helpers import wait_for

TOML = """
[station]
id = "press-7"
name = "Press line 7"
features = {features}
classes = {classes}
[[source]]
kind = "simulator"
scenario = "{scenario}"
rate = 3000.0
parts_per_day = 20000.0
[store]
path = "{store}"
[reference]
size = 1000
[window]
parts = 1000
batch = 50
"""


DRIFT_ALARM = "mean_shift:brightness"


def seeded(tmp_path: Path, scenario: str = "stable") -> tuple[Path, str, str, str]:
    """A config file, the incident id, the alarm and the overridden part. On the stable line
    the only alarms are the ones raised here (no policy incident of a real drift alarm, whose
    timing would depend on the machine); the docs' pictures use the demo drift."""
    path = tmp_path / "station.toml"
    path.write_text(
        TOML.format(
            features=json.dumps(list(DEMO_FEATURES)),
            classes=json.dumps(list(DEMO_CLASSES)),
            store=tmp_path / "line.db",
            scenario=scenario,
        )
    )
    station = Station(load_config(path))
    station.start()
    try:
        admin = station.first_admin("ann", "123456")
        wait_for(lambda: not station.refresh().learning, 120, "the reference learnt")
        event = station.engine.alarms.trip(
            "source", "cam", value=1, priority="high", seq=0, ts="", message="camera lost"
        )
        station.engine.emit(event)
        # a medium drift alarm on an input (medium: no policy incident of its own) is charted;
        # the store first catches up, so the alarm's wall time finds its records' line time
        station.store.flush()
        drift = station.engine.alarms.trip(
            "mean_shift", "brightness", value=1.2, priority="medium", seq=0, ts="",
            message="brightness mean shifted",
        )  # fmt: skip
        if drift is not None:  # None: the detector had raised it already
            station.engine.emit(drift)
        snap = station.refresh()
        part = snap.recent[0]
        station.override(
            Override(part.part, part.cls, "scratch" if part.cls == "ok" else "ok", "misclassified",
                     "ann", old_conf=part.conf, model=part.model or ""),
            admin,
        )  # fmt: skip
        incident = station.escalate(
            Escalate("camera lost, parts uninspected", "urgent", "ann",
                     alarms=(event.alarm, DRIFT_ALARM), parts=(part.part,)),
            admin,
        )  # fmt: skip
        station.acknowledge(Acknowledge(event.alarm, "ann", note="cable reseated"), admin)
        station.set_fallback(True, "camera lost", admin)
        station.move_incident(incident.id, "acknowledge", "on it", admin)
        station.store.flush()
    finally:
        station.stop()
    return path, incident.id, event.alarm, part.part


def run_main(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def test_export_has_every_field_and_is_the_same_twice(tmp_path):
    config, incident, alarm, part = seeded(tmp_path)
    code, text = run_main(["incidents", "--config", str(config)])
    assert code == 0
    listed = [json.loads(x) for x in text.splitlines()]
    assert listed == [
        {"event": "incident", "id": incident, "status": "acknowledged", "severity": "urgent",
         "opened": listed[0]["opened"], "owner": listed[0]["owner"]}
    ]  # fmt: skip
    out = tmp_path / "out"
    code, text = run_main(["export-incident", incident, "--config", str(config), "--out", str(out)])
    assert code == 0
    first = (out / f"{incident}.json").read_bytes()
    assert (out / f"{incident}.pdf").read_bytes().startswith(b"%PDF")
    code, _ = run_main(["export-incident", incident, "--config", str(config), "--out", str(out)])
    assert (
        hashlib.sha256((out / f"{incident}.json").read_bytes()).digest()
        == hashlib.sha256(first).digest()
    )
    assert json.loads(text)["sha256"] == hashlib.sha256(first).hexdigest()
    r = json.loads(first)
    assert r["station"] == {"id": "press-7", "name": "Press line 7"} and r["line"]
    assert r["incident"]["id"] == incident and r["incident"]["status"] == "acknowledged"
    assert [s["status"] for s in r["incident"]["states"]] == ["open", "acknowledged"]
    assert [p["part"] for p in r["parts"]] == [part] and r["batches"]
    assert r["models"] and all(len(m["sha256"]) == 64 for m in r["models"])
    assert r["configuration"]["file"] == "station.toml"
    assert r["configuration"]["sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert "version" in r["reference"]
    assert r["drift"]["drift"] and r["drift"]["model"]
    journal = r["alarms"][0]["journal"]
    assert r["alarms"][0]["alarm"] == alarm
    assert [j["state"] for j in journal][-1] == "acknowledged" and journal[-1]["user_name"] == "ann"
    assert [o["part"] for o in r["overrides"]] == [part]
    assert r["overrides"][0]["reason"] == "misclassified"
    assert r["escalations"][0]["what"].startswith("opened, sent to")
    actions = {a["action"] for a in r["human_actions"]}
    assert {"override", "incident_open", "alarm_acknowledged", "fallback"} <= actions
    assert all(a["user"] == "ann" and a["role"] == "admin" for a in r["human_actions"])
    assert all("meaning" in a and "reason" in a for a in r["human_actions"])
    assert r["known_at"] == r["incident"]["opened_at"] == r["art73"]["known_at"]
    assert r["art73"]["class_days"] == 2 and r["art73"]["clause"] == "Art. 73(3)"
    assert r["art73"]["due"] > r["known_at"]
    assert [a["what"] for a in r["actions_taken"] if "what" in a][-1] == "acknowledged"
    assert any(a.get("note") == "on it" for a in r["actions_taken"])
    head = r["audit"]["chain_head"]
    assert len(head["hash"]) == 64 and head["seq"] >= max(e["seq"] for e in r["audit"]["entries"])
    assert_charts(r["charts"])


def assert_charts(charts: dict) -> None:
    """The series the PDF's charts are drawn from: the input in alarm, its parts before and
    after the incident against the reference band, the incident and its alarm marked."""
    assert charts["reference_source"] == "reference version 1"
    assert charts["from"] < charts["known_at_line_time"] < charts["to"]
    assert [(c["input"], c["why"]) for c in charts["inputs"]] == [("brightness", "in alarm")]
    for chart in charts["inputs"]:
        bins, ref = chart["bins"], chart["reference"]
        assert len({len(v) for v in bins.values()}) == 1 and len(bins["hours"]) > 10
        assert min(bins["hours"]) < 0 < max(bins["hours"])  # hours before and after
        assert all(
            lo <= m <= hi for lo, m, hi in zip(bins["p5"], bins["mean"], bins["p95"], strict=True)
        )
        assert ref["p5"] < ref["mean"] < ref["p95"]
        marks = {m["what"] for m in chart["marks"]}
        assert marks == {"incident known", f"{DRIFT_ALARM} raised"}


def test_an_alarm_naming_an_input_charts_that_input():
    from console.incident_charts import _inputs

    names = ("brightness", "focus", "hue")
    kept = {"alarms": ["source:cam", "mean_shift:focus"], "snapshot": {"drift": {}}}
    assert _inputs(kept, names) == [("mean_shift:focus", "focus", "in alarm")]
    drift = {"hue": {"psi": 0.9, "mean": 1.0}, "brightness": {"psi": 0.1}, "focus": {"ks": 0.5}}
    kept = {"alarms": ["source:cam"], "snapshot": {"drift": drift}}
    assert [name for _, name, _ in _inputs(kept, names)] == ["hue", "focus"]


def test_two_processes_export_the_same_bytes_of_json_and_pdf(tmp_path):
    config, incident, _, _ = seeded(tmp_path)
    root = Path(__file__).resolve().parent.parent
    outputs = []
    for k in (1, 2):
        out = tmp_path / f"out{k}"
        done = subprocess.run(
            [sys.executable, str(root / "main.py"), "export-incident", incident,
             "--config", str(config), "--out", str(out)],
            capture_output=True, text=True, timeout=300, cwd=root,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs.append((json.loads(done.stdout), out))
    (said1, out1), (said2, out2) = outputs
    for suffix in (".json", ".pdf"):
        assert (out1 / f"{incident}{suffix}").read_bytes() == (
            out2 / f"{incident}{suffix}"
        ).read_bytes()
    pdf = (out1 / f"{incident}.pdf").read_bytes()
    assert said1["pdf_sha256"] == said2["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert said1["sha256"] == hashlib.sha256((out1 / f"{incident}.json").read_bytes()).hexdigest()
    record = json.loads((out1 / f"{incident}.json").read_bytes())
    assert pdf.count(b"/Subtype /Image") >= len(record["charts"]["inputs"])  # a chart per input
    known = record["known_at"].replace("-", "").replace(":", "").replace("T", "")[:14]
    assert f"/CreationDate (D:{known}Z)".encode() in pdf  # the incident's time, not the export's


def test_an_unknown_incident_is_a_usage_error(tmp_path, capsys):
    config, _, _, _ = seeded(tmp_path)
    assert (
        main(["export-incident", "INC-NOPE", "--config", str(config), "--out", str(tmp_path)]) == 2
    )
    assert "no incident INC-NOPE" in capsys.readouterr().err


def render_page(pdf: Path, page: int, png: Path) -> None:
    """One page of a PDF as PNG (poppler's pdftoppm), for docs/."""
    stem = png.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", "-f", str(page), "-l",
                    str(page), str(pdf), str(stem)], check=True, timeout=120)  # fmt: skip


def test_the_pdf_pages_are_rendered_for_the_docs(tmp_path):
    """The incident record's first page and its charts page, and the weekly review's first
    page, as PNG in docs/ (only with SCREENSHOTS=1; needs pdftoppm)."""
    import os
    import shutil

    if os.environ.get("SCREENSHOTS") != "1" or shutil.which("pdftoppm") is None:
        return
    config, incident, _, _ = seeded(tmp_path, "demo")
    out = tmp_path / "out"
    assert (
        run_main(["export-incident", incident, "--config", str(config), "--out", str(out)])[0] == 0
    )
    code, text = run_main(["report", "--week", "--config", str(config), "--out", str(out)])
    assert code == 0
    pdf = out / f"{incident}.pdf"
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")  # fmt: skip
    charts = next(i for i, page in enumerate(pages, 1) if "\ncharts\n" in f"\n{page}")
    docs = Path(__file__).resolve().parent.parent / "docs"
    render_page(pdf, 1, docs / "incident_record.png")
    render_page(pdf, charts, docs / "incident_record_charts.png")
    render_page(Path(json.loads(text)["pdf"]), 1, docs / "weekly_review.png")
    assert (docs / "incident_record_charts.png").stat().st_size > 10_000
