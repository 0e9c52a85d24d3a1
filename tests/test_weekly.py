"""The weekly operations review and the operations metrics from a seeded store: `main.py report
--week` writes JSON (same bytes twice) and PDF with drift, incidents, interventions, overrides by
class, SLA performance, repeated interventions, costs and live accuracy."""

from __future__ import annotations

import json

from console.operations import shift_of
from tests.test_incident_record import run_main, seeded


def test_shifts_by_hour():
    assert [shift_of(h * 3600.0) for h in (5, 6, 13, 14, 21, 22)] == [
        "night", "early", "early", "late", "late", "night",
    ]  # fmt: skip


def test_weekly_review_from_the_store(tmp_path):
    config, incident, alarm, part = seeded(tmp_path)
    out = tmp_path / "review"
    code, text = run_main(["report", "--week", "--config", str(config), "--out", str(out)])
    assert code == 0, text
    done = json.loads(text)
    first = (out / f"{done['id']}.json").read_bytes()
    assert (out / f"{done['id']}.pdf").read_bytes().startswith(b"%PDF")
    assert run_main(["report", "--week", "--config", str(config), "--out", str(out)])[0] == 0
    assert (out / f"{done['id']}.json").read_bytes() == first
    r = json.loads(first)
    assert [i["id"] for i in r["incidents"]] == [incident]
    assert r["interventions"] == {"overrides": 1, "fallback_periods": 1, "shelved_alarms": 0}
    assert sum(c["overrides"] for c in r["overrides_by_class"].values()) == 1
    assert r["sla"]["opened"] == 1 and r["sla"]["mtta_minutes"] is not None
    assert set(r["drift"]) == {"alarms_raised", "by_input", "by_detector"}
    assert set(r["repeated_intervention"]) == {"inputs", "alarms", "models_overridden"}
    m = r["metrics"]
    assert set(m["overrides"]["by_shift"]) == {"early", "late", "night"}
    assert m["policy_exceptions"]["fallback_periods"][0]["by"] == "ann"
    assert m["cost"]["total"] > 0 and m["cost"]["currency"] == "EUR"
    assert m["accuracy"]["accuracy"]["n"] > 0  # the simulator labels about 2 % of parts
    # about 20 labels among the first 1,000 parts: too few to calibrate, and it says so
    assert "estimate" not in m["accuracy"] and "50 needed" in m["accuracy"]["estimate_note"]
    assert m["decision_cycle"]["overridden"] == 1


def test_report_without_production_needs_a_date(tmp_path, capsys):
    from console.cli import main

    path = tmp_path / "s.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "none.db"}"\n')
    assert main(["report", "--week", "--config", str(path), "--out", str(tmp_path)]) == 2
    assert "no store" in capsys.readouterr().err


def test_the_station_stores_its_metrics_for_the_plant(tmp_path):
    from console.config import load_config
    from console.runner import Station

    config, _, _, _ = seeded(tmp_path)
    station = Station(load_config(config), sources=False)
    try:
        metrics = station.store_metrics(station.clock())
        assert metrics is not None and metrics["period"]["parts"] > 0
        owner = station.login("ann", "123456")
        entry = next(
            t for t in station.audit_trail(session=owner) if t["action"] == "operations_metrics"
        )
        assert entry["user_name"] == "system" and entry["new"]["overrides"]["total"] == 1
        from data.reading import outbox_entries

        assert "audit" in {kind for _, kind in outbox_entries(station.store.path)}
    finally:
        station.stop()
