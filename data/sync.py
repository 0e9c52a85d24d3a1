"""The plant sync: store and forward the station's outbox to the plant's PostgreSQL.

`PlantSync` owns one thread ("plant-sync"), its PostgreSQL connection and its own read-only
connection to the store (data/outbox.py), which a helper thread ("plant-sync-read") uses to read
the next batch while PostgreSQL works on the current one (never both at once); it never writes
the SQLite file itself, but asks the store writer to mark rows synced, to keep refused rows in
the quarantine and to purge old synced rows (`Retention`). It pushes the outbox in seq order,
one transaction per batch (data/push.py writes the batch), with
`linewatch.sync_state.high_water` moved in the same transaction, under a row lock, so that the
station's high-water mark is true exactly when its rows are there.

Only after COMMIT returned does the store hear that the rows arrived. A cut connection is an
unknown outcome, not a failure: the next attempt reads the high-water mark back (waiting on the
row lock for a transaction of ours the server may still be finishing) and replays the batch
unless it committed; replays change nothing thanks to the (station, seq) keys. At every start
the rows below the central high-water mark are counted, so a gap (rows lost centrally) is found
and refilled. Failures back off 1.6-2x per attempt with jitter, up to 2 minutes; while waiting
the server's port is probed, so the first retry follows soon after the database returns. A row
PostgreSQL refuses for a reason other than connectivity is found by splitting the batch, listed
centrally in `linewatch.refused` and locally in the quarantine with the reason; the queue moves on.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict

from console.config import ConfigError, Sync
from data import central
from data.central import CentralSchemaError
from data.outbox import OutboxBatch, OutboxReader
from data.push import (
    CONNECTIVITY,
    Refused,
    SyncRefused,
    central_high_water,
    insert_batch,
    one_line,
    open_session,
    quarantined,
    set_high_water,
)
from data.reading import StoreError, open_reader
from data.store import StoreWriter
from data.sync_status import SyncStatus

RETENTION_EVERY = 600.0  # seconds between purges of old synced rows
PURGE_CHUNK = 20_000


@dataclass
class Backoff:
    """Waits growing 1.6-2x per failure (random within that: jitter), capped."""

    first: float = 0.5
    cap: float = 120.0
    delay: float = 0.0

    def next(self, rng: random.Random) -> float:
        grown = self.delay * rng.uniform(1.6, 2.0) if self.delay else self.first
        self.delay = min(self.cap, grown)
        return self.delay

    def reset(self) -> None:
        self.delay = 0.0


class PlantSync:
    """Owns the sync thread, its PostgreSQL connection and its read view of the store."""

    def __init__(
        self,
        store,  # noqa: ANN001 - data.store.StoreWriter (or anything with its sync API)
        settings: Sync,
        *,
        clock: Callable[[], float] = time.time,
        on_event: Callable[[str, str], None] | None = None,
        backoff_first: float = 0.5,
        backoff_cap: float = 120.0,
        idle_poll: float = 0.2,
        seed: int | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.station = store.station
        self.clock = clock
        self._on_event = on_event
        self._reader = OutboxReader(store.path, self.station)
        self._ahead_pool = ThreadPoolExecutor(1, thread_name_prefix="plant-sync-read")
        self._ahead: Future[OutboxBatch] | None = None
        self._conn: psycopg.Connection | None = None
        self._backoff = Backoff(backoff_first, backoff_cap)
        self._rng = random.Random(seed)
        self._idle_poll = idle_poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()
        self._hw: int | None = None  # central high-water mark as last read or written
        self._verified = 0  # rows <= this were counted complete centrally by this process
        self._last_success: float | None = None
        self._last_success_mono: float | None = None
        self._last_error = ""
        self._oldest_at: float | None = None
        self._oldest_for = -1
        self._quarantined = 0
        self._retention = Retention(store, settings, clock, self._stop, self._event)
        # Figures for tests and the bench.
        self.connects = 0
        self.pushes = 0
        self.unheard_commits = 0  # pushes found committed after their outcome was unknown
        self.pushed_rows = 0

    # --- life cycle (caller's thread) ---

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="plant-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._thread is None or not self._thread.is_alive():
            self._disconnect()
            self._ahead_pool.shutdown(wait=True)
            self._reader.close()

    def __enter__(self) -> PlantSync:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wake(self) -> None:
        """New rows are waiting: skip the rest of an idle pause (not a failure back-off)."""
        self._wake.set()

    @property
    def status(self) -> SyncStatus:
        store = self.store.status
        high = max(self._hw or 0, store.last_seq - store.pending_outbox)
        pending = max(store.last_seq - high, 0)
        mono = time.monotonic()
        since = mono - (self._last_success_mono or self._started)
        return SyncStatus(
            configured=True,
            target=_target(self.settings.url),
            connected=self._conn is not None,
            pending=pending,
            oldest_pending_at=self._oldest_at if pending else None,
            last_success=self._last_success,
            since_success=since,
            last_error=self._last_error,
            quarantined=self._quarantined,
            high_water=high,
            stale=bool(pending) and since > self.settings.stale_seconds,
            taken=self.clock(),
        )

    # --- the sync thread ---

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                moved = self.attempt()
            except Exception as error:  # noqa: BLE001 - a bug must not end the thread
                self._fail(f"{type(error).__name__}: {error}")
                self._pause(self._backoff.next(self._rng), probe=False)
                continue
            if moved is None:
                self._pause(self._backoff.next(self._rng), probe=True)
            elif not moved:
                self._retention.keep_tidy()
                self._wake.wait(self._idle_poll)
                self._wake.clear()

    def attempt(self) -> bool | None:
        """One step: push one batch. True: rows moved; False: nothing waiting; None: failed."""
        try:
            ready = self._settle_read_ahead()
            if self._conn is None:
                self._connect()
            hw = self._hw or 0
            self._confirm_locally(hw)
            if ready is not None and ready.after == hw and ready.last > hw:
                batch = ready
            else:
                batch = self._reader.read(hw, self.settings.batch_rows)
            self._note_oldest(batch)
            if batch.last > batch.after:
                self._read_ahead(batch.last)
                self._push(batch)
                self._confirm_locally(self._hw or 0)
        except CONNECTIVITY as error:
            was = self._conn is not None
            self._disconnect()
            self._fail(one_line(error), event="disconnected" if was else "")
            return None
        except (CentralSchemaError, SyncRefused, ConfigError, StoreError, sqlite3.Error) as error:
            self._disconnect()
            self._fail(str(error), event="error")
            return None
        self._backoff.reset()
        return batch.last > batch.after

    def drain(self, timeout: float = 60.0) -> tuple[bool, str]:
        """Push until everything pending now has arrived (caller's thread; the CLI's `sync`).

        Returns (True, "") or (False, the last error) once `timeout` passed without success."""
        deadline = time.monotonic() + timeout
        while True:
            moved = self.attempt()
            if moved is False:
                return True, ""
            if moved is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False, self._last_error
                self._pause(min(self._backoff.next(self._rng), left), probe=True)

    def _read_ahead(self, after: int) -> None:
        """Read the next batch from the store while PostgreSQL works on this one."""
        self._ahead = self._ahead_pool.submit(self._reader.read, after, self.settings.batch_rows)

    def _settle_read_ahead(self) -> OutboxBatch | None:
        """The batch read ahead, once read: no one else uses the reader meanwhile."""
        ahead, self._ahead = self._ahead, None
        return ahead.result() if ahead is not None else None

    # --- connecting ---

    def _connect(self) -> None:
        conn = central.connect(self.settings, autocommit=True)
        try:
            last = self._reader.last_seq()
            hw = open_session(conn, self.station, self._verified, last, self._event)
        except BaseException:
            conn.close()
            raise
        self._verified = hw
        self._conn = conn
        if self._hw is not None and hw > self._hw:
            self.unheard_commits += 1  # a push whose answer the cut swallowed had committed
        self._hw = hw
        self.connects += 1
        self._last_error = ""
        self._event("connected", f"{_target(self.settings.url)}, high water {hw}")

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                conn.close()

    # --- pushing ---

    def _push(self, batch: OutboxBatch) -> None:
        conn = self._conn
        assert conn is not None
        refused: list[Refused] = []
        with conn.transaction():
            hw = central_high_water(conn, self.station, lock=True)
            if hw != batch.after:
                # An earlier push whose outcome we did not hear committed (hw >= last), or
                # someone else moved the mark: start again from what the plant says.
                self.unheard_commits += hw >= batch.last
                self._hw = hw
                return
            refused = insert_batch(conn, self.station, batch, self._event)
            set_high_water(conn, self.station, batch.last)
        self._hw = batch.last
        self.pushes += 1
        self.pushed_rows += len(batch)
        self._last_success = self.clock()
        self._last_success_mono = time.monotonic()
        if refused:
            self._quarantine(refused)

    def _quarantine(self, refused: list[Refused]) -> None:
        self._quarantined += len(refused)
        for kind, row, reason in refused:
            self._event("quarantine", f"seq {row[0]} ({kind}) refused: {reason}")
        rows = quarantined(refused)
        if rows:
            self.store.append_rejected(rows)
            self.store.flush()

    def _confirm_locally(self, hw: int) -> None:
        """Tell the store what the plant has (after COMMIT, or read back at start)."""
        status = self.store.status
        if hw > status.last_seq - status.pending_outbox:
            self.store.mark_synced(hw)

    def _note_oldest(self, batch: OutboxBatch) -> None:
        if batch.last > batch.after and self._oldest_for != batch.after:
            self._oldest_for = batch.after
            self._oldest_at = batch.first_at

    # --- waiting, tidying, telling ---

    def _pause(self, seconds: float, *, probe: bool) -> None:
        """Wait `seconds`, or less when the server's port comes back up (probe) or on stop."""
        pause(seconds, self._stop, central.endpoint(self.settings) if probe else None)

    def purge_now(self) -> int:
        """Ask the store to drop synced rows older than the retention; returns how many."""
        return self._retention.purge_now()

    def _fail(self, text: str, event: str = "") -> None:
        """Keep the error for the screen; tell it as an event once, not at every retry."""
        repeated = text == self._last_error
        self._last_error = text
        if event and not repeated:
            self._event(event, text)

    def _event(self, kind: str, text: str) -> None:
        if self._on_event is not None:
            with contextlib.suppress(Exception):  # a failing listener must not stop the sync
                self._on_event(kind, text)


class Retention:
    """Purges synced rows past `[sync] retention_days` from the local store: records by their
    time, the journals after `journal_retention_days` (never under the 183 days the EU AI Act
    asks). The store writer does the deleting; never a row not yet synced (sync thread)."""

    def __init__(
        self,
        store: StoreWriter,
        settings: Sync,
        clock: Callable[[], float],
        stop: threading.Event,
        event: Callable[[str, str], None],
    ) -> None:
        self.store, self.settings, self.clock = store, settings, clock
        self._stop, self._event = stop, event
        self._next = time.monotonic() + 5.0

    def keep_tidy(self) -> None:
        """Purge, every RETENTION_EVERY seconds (sync thread, when nothing waits)."""
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + RETENTION_EVERY
        self.purge_now()

    def purge_now(self) -> int:
        now = self.clock()
        records_before = now - self.settings.retention_days * 86400.0
        journal_before = now - max(self.settings.journal_retention_days, 183.0) * 86400.0
        gone = 0
        try:
            while True:
                n = self.store.purge_synced(records_before, journal_before, PURGE_CHUNK)
                gone += n
                if n < PURGE_CHUNK or self._stop.is_set():
                    break
        except StoreError as error:
            self._event("error", f"retention purge failed: {error}")
        return gone


def pause(seconds: float, stop: threading.Event, address: tuple[str, int] | None) -> None:
    """Wait `seconds`, or less on `stop` or when the server's port at `address` comes back up
    (if it was down at first): the first retry then follows soon after the database returns."""
    was_up = _reachable(address) if address else True
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        stop.wait(min(left, 0.25))
        if address and not was_up and _reachable(address):
            return  # the database is back: the first retry comes now
        if address and was_up:
            was_up = _reachable(address)


def _reachable(address: tuple[str, int] | None) -> bool:
    if address is None:
        return True
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


def _target(url: str) -> str:
    """host:port/database of the URL, never the user or a password."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "plant database"
    host = params.get("host") or "localhost"
    port = params.get("port")
    return f"{host}{':' + str(port) if port else ''}/{params.get('dbname') or ''}"


# --- the command line's `sync` (main thread) ----------------------------------------------------


def init_central(settings: Sync) -> tuple[int, int]:
    """`main.py sync --init`: create or migrate the central schema; (version before, now)."""
    with central.connect(settings, autocommit=True) as conn:
        return central.migrate(conn)


def drain_store(
    store_path: str, station: str, settings: Sync, timeout: float = 60.0
) -> tuple[bool, str, SyncStatus]:
    """`main.py sync`: push everything pending once; (all arrived, reason if not, status)."""
    names = _stored_features(store_path)
    store = StoreWriter(store_path, station, names)
    try:
        with PlantSync(store, settings, backoff_cap=5.0) as sync:
            ok, reason = sync.drain(timeout)
            return ok, reason, sync.status
    finally:
        store.close()


def _stored_features(path: str) -> tuple[str, ...]:
    """The newest feature list the store was written with (so no new one is recorded)."""
    db = open_reader(path)
    try:
        row = db.execute("SELECT names FROM feature_sets ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        db.close()
    return tuple(json.loads(row[0])) if row else ()
