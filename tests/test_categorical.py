"""Categorical inputs (issue 12): text values declared or inferred, category shares against the
reference (χ² with scipy as the oracle), a value never seen in the reference, silence on stable
data, and the store, replay and export keeping the text exactly."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from console.categories import CategoryNames, category_code, category_text
from console.category_stats import chi2_sf, goodness_of_fit, homogeneity
from console.config import ConfigError, load_config, parse_config
from console.engine import Engine
from console.records import RecordParser, iso
from console.replay import replay
from data import replay as stored
from data.reading import load_records, rejected_lines
from data.store import StoreWriter

ROOT = Path(__file__).resolve().parents[1]
PARTS_PER_DAY = 2000
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SHARES = {"web": 0.22, "shop": 0.5, "phone": 0.28}
DRIFTED = {"web": 0.41, "shop": 0.31, "phone": 0.28}


def lines(
    n: int,
    *,
    seed: int = 1,
    onset: int | None = None,
    new_value: str = "",
    start_index: int = 0,
) -> list[str]:
    """A line with one numeric input, a channel and a yes/no flag (5 % missing); from `onset`
    the channel's shares move (to DRIFTED), and `new_value` appears once in a while."""
    rng = random.Random(seed)
    out = []
    for k in range(start_index, start_index + n):
        drifting = onset is not None and k >= onset
        shares = DRIFTED if drifting else SHARES
        channel = rng.choices(list(shares), list(shares.values()))[0]
        if new_value and drifting and rng.random() < 0.01:
            channel = new_value
        flag = None if rng.random() < 0.05 else rng.choice(["yes", "no"])
        record = {
            "ts": iso(START + k * 86400.0 / PARTS_PER_DAY),
            "station": "cat-line",
            "part": f"P{k:08d}",
            "batch": f"B{k // 500:04d}",
            "class": rng.choice(["ok", "ok", "ok", "scratch"]),
            "conf": round(rng.uniform(0.6, 1.0), 4),
            "features": {"size": rng.gauss(10.0, 1.0), "channel": channel, "flag": flag},
        }
        out.append(json.dumps(record))
    return out


def station_toml(folder: Path, categorical: str = '["channel", "flag"]') -> Path:
    path = folder / "station.toml"
    path.write_text(
        f"""
reference = {{ size = 2000 }}
window = {{ parts = 2000, batch = 50 }}
store = {{ path = "{folder / "line.db"}" }}

[station]
id = "cat-line"
features = ["size", "channel", "flag"]
categorical = {categorical}
"""
    )
    return path


def run(config, records: list[str], store=None) -> tuple[Engine, list[dict]]:
    events: list[dict] = []
    engine = Engine(config, store=store, on_event=lambda e: events.append(e.wire()))
    chunks = (137, 411, 59, 1003, 263, 17, 891)
    at = 0
    for size in chunks * (len(records) // sum(chunks) + 1):
        if at >= len(records):
            break
        engine.feed_lines(records[at : at + size])
        at += size
    return engine, events


# --- the record format and the config ----------------------------------------------------------


def test_declared_categorical_inputs_take_text_and_numbers_stay_numbers():
    parser = RecordParser(("size", "channel", "flag"))
    parser.categories = CategoryNames(parser.features, ("channel", "flag"))
    good = lines(3)
    bad_numeric = json.dumps(
        {**json.loads(good[0]), "features": {"size": "big", "channel": "web", "flag": None}}
    )
    bad_category = json.dumps(
        {**json.loads(good[0]), "features": {"size": 1.0, "channel": 2.5, "flag": "no"}}
    )
    batch, rejected = parser.parse([*good, bad_numeric, bad_category], timed=False)
    assert len(batch) == 3
    texts = [json.loads(x)["features"]["channel"] for x in good]
    assert batch.features[:, 1].tolist() == [category_code(t) for t in texts]
    assert [category_text(c) for c in batch.features[:, 1]] == texts
    assert [(r.reason, r.detail) for r in rejected] == [
        ("bad_type", "feature 'size' must be a number or null"),
        ("bad_type", "feature 'channel' is categorical: a string of 1-64 characters"),
    ]


def test_a_categorical_input_takes_at_most_256_values():
    parser = RecordParser(("size", "channel", "flag"))
    parser.categories = CategoryNames(parser.features, ("channel", "flag"))
    base = json.loads(lines(1)[0])
    many = [
        json.dumps({**base, "part": f"P{i}", "features": {"size": 1.0, "channel": f"c{i}"}})
        for i in range(300)
    ]
    batch, rejected = parser.parse(many, timed=False)
    assert len(batch) == 256 and {r.reason for r in rejected} == {"too_many_categories"}


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ('"channel"', "must be a list"),
        ('["chan nel"]', "list input names as the records send them"),
        ('["colour"]', "add 'colour' to station.features"),
        ('["channel", "channel"]', "list each input once"),
    ],
)
def test_a_bad_categorical_entry_names_the_key_and_the_fix(value, fix):
    raw = f'[station]\nfeatures = ["size", "channel"]\ncategorical = {value}\n'
    import tomllib

    with pytest.raises(ConfigError) as caught:
        parse_config(tomllib.loads(raw))
    assert caught.value.key.startswith("station.categorical")
    assert fix in str(caught.value)


def test_text_values_are_inferred_as_categories_and_said_once():
    config = parse_config({"reference": {"size": 2000}, "window": {"parts": 2000, "batch": 50}})
    engine, events = run(config, lines(6000))
    assert engine.reader.categorical == ("channel", "flag")
    said = [e for e in engine.system_events if e[1] == "categories"]
    assert [e[3] for e in said] == [
        "channel: text values, watched as categories",
        "flag: text values, watched as categories",
    ]
    assert events == [] and not engine.rejected


# --- the statistics, scipy as the oracle ----------------------------------------------------


def test_chi_square_p_values_match_scipy():
    rng = np.random.default_rng(3)
    for dof in (1, 2, 3, 7, 30, 120):
        for q in (0.01, 0.5, dof * 0.8, dof, dof + 3.0, 3.0 * dof + 20.0, 400.0):
            assert chi2_sf(q, dof) == pytest.approx(stats.chi2.sf(q, dof), rel=1e-9, abs=1e-300)
    for k in (2, 3, 5, 12):
        shares = rng.dirichlet(np.ones(k))
        counts = rng.multinomial(5000, rng.dirichlet(np.ones(k) * 20))
        stat, p = goodness_of_fit(counts, shares)
        oracle = stats.chisquare(counts, counts.sum() * shares)
        assert stat == pytest.approx(oracle.statistic, rel=1e-12)
        assert p == pytest.approx(oracle.pvalue, rel=1e-8, abs=1e-300)
        reference = rng.multinomial(8000, shares)
        stat, dof = homogeneity(counts, reference)
        table = stats.chi2_contingency(np.vstack([counts, reference]), correction=False)
        assert stat == pytest.approx(table.statistic, rel=1e-10) and dof == table.dof


# --- the detectors --------------------------------------------------------------------------


def test_stable_categorical_data_stays_silent_for_days(tmp_path):
    config = load_config(station_toml(tmp_path))
    engine, events = run(config, lines(8 * PARTS_PER_DAY, seed=7))
    assert events == []
    assert engine.watch is not None and engine.watch.categorical.tolist() == [1, 2]


def test_a_share_drift_alarms_in_plain_words_and_numeric_detectors_skip_codes(tmp_path):
    config = load_config(station_toml(tmp_path))
    onset = 3 * PARTS_PER_DAY
    engine, events = run(config, lines(5 * PARTS_PER_DAY, seed=2, onset=onset))
    raised = [e for e in events if e["event"] == "alarm_raised"]
    assert [e["alarm"] for e in raised] == ["categories:channel"]
    assert onset < raised[0]["seq"] < onset + PARTS_PER_DAY // 2
    view = next(v for v in engine.alarms.views() if v.id == "categories:channel")
    # web went 22 % → 41 %, shop 50 % → 31 %: either is the largest move
    assert re.fullmatch(
        r"channel: share of '(web|shop)' \d+ % vs \d+ % in the reference", view.message
    )


def test_a_value_never_seen_in_the_reference_is_a_data_quality_alarm(tmp_path):
    config = load_config(station_toml(tmp_path))
    engine, events = run(config, lines(3000, seed=4, onset=2500, new_value="kiosk"))
    new = [e for e in events if e["detector"] == "new_category"]
    assert [e["event"] for e in new] == ["alarm_raised"]
    view = next(v for v in engine.alarms.views() if v.id == "new_category:channel")
    assert view.message == "channel: new value 'kiosk' (not in the reference)"
    detector = next(d for d in engine.watch.detectors if hasattr(d, "new_values"))
    assert detector.new_values()["channel"]["kiosk"] >= 1


def test_missing_categorical_values_count_as_missing(tmp_path):
    config = load_config(station_toml(tmp_path))
    records = lines(4000, seed=5)
    for k in range(2000, 4000):
        record = json.loads(records[k])
        record["features"]["flag"] = None
        records[k] = json.dumps(record)
    engine, events = run(config, records)
    alarms = {e["alarm"] for e in events if e["event"] == "alarm_raised"}
    assert alarms & {"missing:flag", "missing_rate:flag"}
    assert not any(a.endswith(":channel") for a in alarms)


# --- store, replay, export ------------------------------------------------------------------


def _main(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow  # three runs of main.py (export, analyze, export) besides the replay
def test_replay_equals_live_and_the_export_round_trips_the_text(tmp_path):
    config_path = station_toml(tmp_path, categorical="[]")  # inferred, then kept by the store
    config = load_config(config_path)
    records = lines(5 * PARTS_PER_DAY, seed=2, onset=3 * PARTS_PER_DAY, new_value="kiosk")
    broken = json.dumps(
        {**json.loads(records[10]), "features": {"size": 1.0, "channel": 7.5, "flag": "no"}}
    )
    store = StoreWriter(config.store.path, config.station.id, config.station.features)
    try:
        engine, live = run(config, [*records[:1500], broken, *records[1500:]], store=store)
        store.flush()
    finally:
        store.close()
    assert {e["detector"] for e in live} >= {"categories", "new_category"}
    quarantined = rejected_lines(config.store.path)
    assert [(r["reason"], r["detail"]) for r in quarantined] == [
        ("bad_type", "feature 'channel' is categorical: a string of 1-64 characters")
    ]
    assert bytes(quarantined[0]["raw"]).decode() == broken

    again = replay(config.store.path, config, stored.Selection())
    assert [e.wire() for e in again.events] == live

    kept = load_records(config.store.path)
    assert kept.categorical == ("channel", "flag")
    out = tmp_path / "run.jsonl"
    _main("export", "--config", str(config_path), "--from", "2025-01-01T00:00:00Z",
          "--to", "2027-01-01T00:00:00Z", "--format", "jsonl", "--out", str(out))  # fmt: skip
    exported = [json.loads(x) for x in out.read_text().splitlines()]
    assert exported == [json.loads(x) for x in records]
    analyzed = _main("analyze", str(out), "--config", str(config_path))
    assert [json.loads(x) for x in analyzed.stdout.splitlines()[:-1]] == live
    said = [json.loads(x) for x in analyzed.stderr.splitlines() if '"categories"' in x]
    assert said == [
        {
            "event": "categories",
            "source": name,
            "message": f"{name}: text values, watched as categories",
        }
        for name in ("channel", "flag")
    ]

    csv_out = tmp_path / "b.csv"
    _main("export", "--config", str(config_path), "--batch", "B0000", "--format", "csv",
          "--out", str(csv_out))  # fmt: skip
    first = csv_out.read_text().splitlines()[1].split(",")
    assert first[-2:] == [
        json.loads(records[0])["features"]["channel"],
        json.loads(records[0])["features"]["flag"] or "",
    ]


def test_a_restart_keeps_watching_the_inferred_categories(tmp_path):
    from console.station_memory import remember

    config = load_config(station_toml(tmp_path, categorical="[]"))
    records = lines(4 * PARTS_PER_DAY, seed=3)
    store = StoreWriter(config.store.path, config.station.id, config.station.features)
    try:
        _, before = run(config, records[:3000], store=store)
        store.flush()
    finally:
        store.close()
    store = StoreWriter(config.store.path, config.station.id, config.station.features)
    try:
        events: list[dict] = []
        engine = Engine(config, store=store, on_event=lambda e: events.append(e.wire()))
        remember(engine, config.store.path)
        assert engine.reader.categorical == ("channel", "flag")
        assert engine.watch is not None and engine.watch.categorical.tolist() == [1, 2]
        for begin in range(3000, len(records), 500):
            engine.feed_lines(records[begin : begin + 500])
    finally:
        store.close()
    assert before == [] and events == [] and not engine.rejected
