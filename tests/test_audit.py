"""The audit trail: written with the action, chained, and every kind of tampering found.

The tamper test applies 1,000 random edits, deletions, insertions and reorderings, each to a
fresh copy of a 100,000-entry trail, and checks `verify_rows` (what `audit verify` runs) names
the exact first bad entry. To keep it minutes-free, each check starts from the verified hash of
a checkpoint up to 1,000 entries before the first tampered row (the prefix is byte-identical to
the original); a sample of tampers goes through `main.py audit verify` on a real store file,
from the genesis hash.
"""

import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from console.actions import Override
from console.config import demo_config
from console.runner import Station
from data import audit
from data.audit import Anchor, AuditFacts, chain_rows, verify_rows
from data.reading import outbox_entries
from data.schema import GENESIS_HASH, canonical_json

ROOT = Path(__file__).resolve().parents[1]
TRAIL = 100_000
TAMPERS = 1_000
CHECKPOINT = 1_000


def entries(n: int, first_seq: int = 1, stride: int = 3) -> list[tuple]:
    """n plausible entries with gaps in seq (the outbox seq is shared with other rows)."""
    users = [("ana", "operator"), ("bo", "shift_lead"), ("kim", "quality_engineer")]
    rows = []
    for i in range(n):
        user, role = users[i % 3]
        at = 1_800_000_000.0 + i * 0.75
        facts = AuditFacts(user, role, "override", f"P{i:07d}", "ok", "dent", "misclassified",
                           station_seq=i * 10, at=at)  # fmt: skip
        detail = canonical_json(facts.detail())
        rows.append((first_seq + i * stride, at, user, role, "override", detail))
    return chain_rows(rows)


@pytest.fixture(scope="module")
def trail() -> list[tuple]:
    return entries(TRAIL)


def head(rows: list[tuple]) -> Anchor:
    return Anchor(rows[-1][0], rows[-1][7], len(rows))


def tamper(rows: list[tuple], rng: random.Random) -> tuple[list[tuple], int, int]:
    """A tampered copy, the index it starts at, and the seq verify must name."""
    kind = rng.choice(("edit", "delete", "insert", "reorder"))
    n = len(rows)
    copy = list(rows)
    if kind == "edit":
        k = rng.randrange(n)
        field = rng.randrange(1, 8)
        row = list(copy[k])
        if field == 1:
            row[1] = row[1] + rng.choice((0.001, -1.0, 3600.0))
        elif field == 5:
            row[5] = row[5].replace('"dent"', '"scratch"')
        elif field in (6, 7):
            row[field] = f"{rng.getrandbits(256):064x}"
        else:
            row[field] = row[field] + "x"
        copy[k] = tuple(row)
        return copy, k, rows[k][0]
    if kind == "delete":
        k = rng.randrange(n)
        del copy[k]
        return copy, k, rows[k + 1][0] if k + 1 < n else rows[-1][0]
    if kind == "insert":
        k = rng.randrange(n - 1)  # between two entries; appending is what new entries do
        forged = (rows[k][0] + 1, rows[k][1], "mallory", "admin", "fallback", '{"new":false}')
        copy.insert(k + 1, chain_rows([forged], rows[k][7])[0])  # even with a valid hash
        return copy, k + 1, rows[k + 1][0]
    i, j = sorted(rng.sample(range(n), 2))
    copy[i] = (rows[i][0], *rows[j][1:])
    copy[j] = (rows[j][0], *rows[i][1:])
    return copy, i, rows[i][0]


def test_a_thousand_random_tampers_are_each_found_at_the_right_entry(trail):
    assert verify_rows(trail).ok
    anchor = head(trail)
    rng = random.Random(20261130)
    kinds = set()
    for _ in range(TAMPERS):
        copy, start, bad_seq = tamper(trail, rng)
        begin = max(0, start - rng.randrange(1, CHECKPOINT))
        prev = trail[begin - 1][7] if begin else GENESIS_HASH
        shifted = Anchor(anchor.seq, anchor.hash, anchor.entries - begin)
        verdict = verify_rows(copy[begin:], shifted, prev)
        assert not verdict.ok and verdict.first_bad_seq == bad_seq, (start, bad_seq, verdict)
        kinds.add(len(copy) - len(trail))
    assert kinds == {-1, 0, 1}


def test_a_rewritten_chain_and_deleted_newest_entries_are_caught_only_by_the_anchor(trail):
    anchor = head(trail)
    rows = [r[:6] for r in trail]
    edited = list(rows)
    edited[500] = (*rows[500][:2], "mallory", *rows[500][3:])
    rewritten = chain_rows(edited)
    assert verify_rows(rewritten).ok  # recomputed hashes: the file alone cannot tell
    verdict = verify_rows(rewritten, anchor)
    assert not verdict.ok and verdict.first_bad_seq == anchor.seq
    shortened = trail[:-5]
    assert verify_rows(shortened).ok
    verdict = verify_rows(shortened, anchor)
    assert not verdict.ok and verdict.first_bad_seq == anchor.seq
    grown = trail + chain_rows(
        [(anchor.seq + 1, 0.0, "ana", "operator", "login", "{}")], anchor.hash
    )
    assert verify_rows(grown, anchor).ok  # new entries after the anchor are fine


def write_store(tmp_path: Path, rows: list[tuple]) -> tuple[Path, Path]:
    """A real store file holding `rows` as its audit trail, and its config."""
    db = tmp_path / "line.db"
    station = Station(demo_config(), store_path=str(db), sources=False)
    station.stop()
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(f"INSERT INTO audit ({', '.join(audit.TRAIL_COLUMNS)}) VALUES "
                         "(?, ?, ?, ?, ?, ?, ?, ?)", rows)  # fmt: skip
    conn.close()
    config = tmp_path / "station.toml"
    config.write_text(f'[station]\nid = "sim-line1"\n\n[store]\npath = "{db}"\n')
    return db, config


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip


def test_audit_verify_on_a_store_file_from_the_start(tmp_path, trail):
    rows = trail[:20_000]
    db, config = write_store(tmp_path, rows)
    done = cli("audit", "verify", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"event": "audit_verify", "entries": 20_000, "ok": True,
                                       "first_bad_seq": None}  # fmt: skip
    exported = cli("audit", "export", "--config", str(config), "--out", str(tmp_path / "a.csv"))
    anchor_file = tmp_path / "anchor.json"
    anchor_file.write_text(exported.stdout)
    assert json.loads(exported.stdout)["hash"] == rows[-1][7]
    assert (tmp_path / "a.csv").read_text().count("\n") == 20_001
    rng = random.Random(7)
    conn = sqlite3.connect(db)
    for _ in range(12):
        k = rng.randrange(len(rows))
        what = rng.choice(("edit", "delete", "reorder"))
        with conn:
            if what == "edit":
                conn.execute("UPDATE audit SET user_name = 'mallory' WHERE seq = ?", (rows[k][0],))
            elif what == "delete":
                conn.execute("DELETE FROM audit WHERE seq = ?", (rows[k][0],))
            else:
                conn.execute("UPDATE audit SET seq = -seq WHERE seq = ?", (rows[k][0],))
        done = cli("audit", "verify", "--config", str(config), "--anchor", str(anchor_file))
        verdict = json.loads(done.stdout)
        assert done.returncode == 1 and verdict["ok"] is False, (what, k, verdict)
        expected = rows[k][0] if what != "delete" or k + 1 == len(rows) else rows[k + 1][0]
        if what == "reorder":
            expected = -rows[k][0]  # the moved row now comes first, out of its place
        assert verdict["first_bad_seq"] == expected, (what, k, verdict)
        with conn:  # undo
            conn.execute("DELETE FROM audit WHERE seq IN (?, ?)", (rows[k][0], -rows[k][0]))
            conn.execute(f"INSERT INTO audit VALUES ({', '.join('?' * 8)})", rows[k])
    conn.close()
    assert (
        cli("audit", "verify", "--config", str(config), "--anchor", str(anchor_file)).returncode
        == 0
    )
    assert cli("audit", "verify").returncode == 2
    assert (
        cli("audit", "verify", "--config", str(config), "--anchor", str(tmp_path)).returncode == 2
    )


def test_actions_and_their_audit_entries_share_one_transaction_and_the_outbox(tmp_path):
    db = tmp_path / "line.db"
    station = Station(demo_config(), store_path=str(db), sources=False)
    try:
        station.first_admin("ada", "9999")
        seq = station.override(Override("P1", "ok", "dent", "misclassified", user="x", note="n"))
    finally:
        station.stop()
    trail = audit.trail(db)
    entry = next(t for t in trail if t["action"] == "override")
    assert entry["seq"] == seq + 1 and entry["user_name"] == "ada" and entry["role"] == "admin"
    assert (entry["old"], entry["new"], entry["reason"]) == ("ok", "dent", "misclassified")
    kinds = dict(outbox_entries(db))
    assert kinds[seq] == "override" and kinds[seq + 1] == "audit"
    assert audit.verify_trail(db).ok
    assert b"9999" not in db.read_bytes()


def test_user_add_list_disable_from_the_shell_are_audited(tmp_path):
    db, config = write_store(tmp_path, [])
    added = cli(
        "user", "add", "ada", "--role", "operator", "--config", str(config), stdin="1234\n1234\n"
    )
    assert added.returncode == 2 and "first user must be an admin" in added.stderr
    assert (
        cli(
            "user", "add", "ada", "--role", "admin", "--config", str(config), stdin="1234\n1235\n"
        ).returncode
        == 2
    )
    assert (
        cli(
            "user",
            "add",
            "ada",
            "--role",
            "admin",
            "--config",
            str(config),
            stdin="48213957\n48213957\n",
        ).returncode
        == 0
    )
    assert (
        cli(
            "user",
            "add",
            "bo",
            "--role",
            "shift_lead",
            "--config",
            str(config),
            stdin="5555\n5555\n",
        ).returncode
        == 0
    )
    assert cli("user", "disable", "bo", "--config", str(config)).returncode == 0
    listed = [
        json.loads(line)
        for line in cli("user", "list", "--config", str(config)).stdout.splitlines()
    ]
    assert [(u["name"], u["role"], u["disabled"]) for u in listed] == [
        ("ada", "admin", False), ("bo", "shift_lead", True)
    ]  # fmt: skip
    actions = [(t["action"], t["target"], t["role"]) for t in reversed(audit.trail(db))]
    assert actions == [("user_add", "ada", "shell"), ("user_add", "bo", "shell"),
                       ("user_disable", "bo", "shell")]  # fmt: skip
    assert b"48213957" not in db.read_bytes()
    assert cli("audit", "verify", "--config", str(config)).returncode == 0
