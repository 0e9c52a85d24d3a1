"""Fixtures and helpers for the plant-sync tests: a real PostgreSQL, a station store, a cuttable
TCP proxy, and the check that the central set equals the local set.

Loaded as a pytest plugin by tests/conftest.py. The PostgreSQL server is started once per test
session (tests/postgres_server.py); when it cannot start, the sync tests fail under CI (env CI
set) and are skipped elsewhere.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import orjson
import pytest

from console.actions import Override
from console.config import Sync
from console.records import RecordBatch
from data import central
from data.reading import open_reader
from data.store import StoreWriter
from tests.postgres_server import PASSWORD, PostgresServer, PostgresUnavailable, start_server

FEATURES = ("brightness", "contrast", "focus")
CLASSES = ("ok", "scratch", "dent")
_names = itertools.count(1)


def server_or_fail() -> PostgresServer:
    """A started server; under CI a failure to start fails the test instead of skipping it."""
    try:
        server = start_server()
        server.wait_ready()
    except (PostgresUnavailable, OSError, subprocess.SubprocessError) as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL could not be started for the sync tests: {error}")
        pytest.skip(f"PostgreSQL could not be started: {error}")
    return server


@pytest.fixture(scope="session")
def postgres():
    server = server_or_fail()
    yield server
    server.destroy()


@dataclass
class Plant:
    """One plant database (a fresh PostgreSQL database) with the linewatch schema."""

    server: PostgresServer
    name: str
    settings: Sync

    def connect(self):  # noqa: ANN201
        return central.connect(self.settings, autocommit=True)

    def seqs(self, station: str) -> list[int]:
        """Every seq of `station` in the outbox tables (with repeats, if there were any)."""
        union = " UNION ALL ".join(
            f"SELECT seq FROM linewatch.{t} WHERE station = %(s)s" for t in central.OUTBOX_TABLES
        )
        with self.connect() as conn:
            return [r[0] for r in conn.execute(f"{union} ORDER BY 1", {"s": station})]

    def high_water(self, station: str) -> int:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT high_water FROM linewatch.sync_state WHERE station = %s", (station,)
            ).fetchone()
            return int(row[0]) if row else 0

    def query(self, sql: str, params=()) -> list[tuple]:  # noqa: ANN001
        with self.connect() as conn:
            return list(conn.execute(sql, params))


def make_plant(server: PostgresServer, monkeypatch, **settings) -> Plant:  # noqa: ANN001
    name = f"plant_{next(_names)}_{os.getpid()}"
    server.create_database(name)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    settings = {"retention_days": 36500.0, **settings}  # test rows are from March 2026
    sync = Sync(url=server.url(name), batch_rows=2000, **settings)
    with central.connect(sync, autocommit=True) as conn:
        central.migrate(conn)
    return Plant(server, name, sync)


@pytest.fixture
def plant(postgres, monkeypatch) -> Plant:  # noqa: ANN001
    return make_plant(postgres, monkeypatch)


def make_batch(n: int, start: int = 0, seed: int = 0, t0: float = 1_772_430_000.0) -> RecordBatch:
    """n records with extreme and missing feature values (exactness), unique part numbers."""
    rng = np.random.default_rng(seed + start)
    features = rng.normal(size=(n, len(FEATURES))) * 10.0 ** rng.integers(-300, 300, (n, 1))
    features[rng.random(features.shape) < 0.2] = np.nan
    return RecordBatch(
        features=features,
        class_codes=rng.integers(0, len(CLASSES), n).astype(np.int32),
        conf=rng.random(n),
        ts=t0 + np.arange(start, start + n) / 50.0,
        ts_text=tuple(f"2026-03-02T06:00:{i % 60:02d}.{i:06d}Z" for i in range(start, start + n)),
        part=tuple(f"P{i:09d}" for i in range(start, start + n)),
        batch=tuple(None if i % 3 else f"B{i // 100}" for i in range(start, start + n)),
        model=("defnet-3.2",) * n,
        image=tuple(f"img/{i}.png" if i % 2 else None for i in range(start, start + n)),
        label=(None,) * n,
        station=tuple(None if i % 4 else "line9-cam2" for i in range(start, start + n)),
    )


def open_store(path: Path, station: str = "line1-cam1") -> StoreWriter:
    return StoreWriter(path, station, FEATURES)


def add_journal_rows(store: StoreWriter, i: int, at: float | None = None) -> None:
    """One of each non-record outbox kind: override, alarm, incident, audit."""
    store.save_override(
        Override(
            part=f"P{i:09d}",
            old_class="ok",
            old_conf=0.9,
            new_class="scratch",
            reason="misclassified",
            note=f"note {i}",
            user="anna",
            role="operator",
            model="defnet-3.2",
            at=at if at is not None else 1_772_430_000.0 + i,
        )
    )
    store.journal_alarm(f"psi:brightness:{i}", "brightness", "psi", "raised", "high", 0.31, at=at)
    store.save_incident(f"INC-{i}", "open", "high", "Model owner", "drift", {"i": i}, at=at)
    store.audit("anna", "operator", "override", {"part": f"P{i:09d}"}, at=at)


def local_seqs(path: Path) -> list[int]:
    db = open_reader(path)
    try:
        return [
            r[0]
            for r in db.execute(
                "SELECT seq FROM records UNION ALL SELECT seq FROM outbox ORDER BY 1"
            )
        ]
    finally:
        db.close()


def assert_central_equals_local(plant: Plant, path: Path, station: str) -> int:
    """Every local outbox row is centrally exactly once; high water = last seq. Returns count."""
    local = local_seqs(path)
    remote = plant.seqs(station)
    assert len(remote) == len(set(remote)), "duplicates in the plant database"
    missing = sorted(set(local) - set(remote))
    extra = sorted(set(remote) - set(local))
    assert not missing, f"{len(missing)} rows never arrived, first {missing[:5]}"
    assert not extra, f"{len(extra)} rows the station does not have, first {extra[:5]}"
    assert plant.high_water(station) == (local[-1] if local else 0)
    return len(remote)


def assert_records_exact(plant: Plant, path: Path, station: str) -> None:
    """Central records hold the local values: features bit for bit (NaN as null), times, text."""
    from data.reading import load_records

    stored = load_records(path)
    rows = plant.query(
        "SELECT seq, extract(epoch from ts)::float8, part, class, conf, features::text, origin"
        " FROM linewatch.records WHERE station = %s ORDER BY seq",
        (station,),
    )
    assert [r[0] for r in rows] == stored.seq.tolist()
    names = list(stored.feature_names)
    central_matrix = np.array(
        [[_num(orjson.loads(r[5]).get(n)) for n in names] for r in rows]
    ).reshape(len(rows), len(names))
    assert np.array_equal(central_matrix, stored.batch.features, equal_nan=True)
    assert [r[2] for r in rows] == list(stored.batch.part)
    classes = [stored.class_names[c] for c in stored.batch.class_codes]
    assert [r[3] for r in rows] == classes
    assert np.array_equal(np.array([r[4] for r in rows]), stored.batch.conf)
    assert np.allclose(np.array([r[1] for r in rows]), stored.batch.ts, rtol=0, atol=1e-6)
    origins = [None if s in (None, station) else s for s in stored.batch.station]
    assert [r[6] for r in rows] == origins


def _num(value):  # noqa: ANN001, ANN202
    return np.nan if value is None else float(value)


def sync_settings(plant: Plant, **changes) -> Sync:  # noqa: ANN001
    return replace(plant.settings, **changes)


class CutProxy:
    """A TCP proxy on 127.0.0.1 in front of the database whose connections a test can cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self.bytes_up = 0  # client → server, all time
        self.cuts = 0
        self.cut_after: bytes | None = None  # cut just after forwarding a message with this
        self._muted = False
        self._closed = False
        threading.Thread(target=self._accept, name="cut-proxy", daemon=True).start()

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if up:
                    self.bytes_up += len(data)
                    if self.cut_after and self.cut_after in data:
                        # The server gets the message; its answer never reaches the client.
                        self._muted = True
                        threading.Timer(0.1, self.cut).start()
                elif self._muted:
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def active(self) -> int:
        with self._lock:
            self._pairs = [(c, s) for c, s in self._pairs if c.fileno() != -1]
            return len(self._pairs)

    def cut(self) -> int:
        """Close every open connection at once (both directions); returns how many."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self._muted = False
        n = 0
        for client, server in pairs:
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    n += s is client
                except OSError:
                    pass
        self.cuts += bool(n)
        return n

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()
