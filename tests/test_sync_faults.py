"""The plant sync under faults, on its own PostgreSQL server: connections cut at random points
mid-batch through a TCP proxy, the server killed (`pg_ctl stop -m immediate`) and restarted, and
an outage during which production goes on. Afterwards the central set equals the local set,
without a duplicate or a gap."""

from __future__ import annotations

import random
import threading
import time

import pytest

from data.sync import PlantSync
from tests.drivers_helpers import wait_for
from tests.sync_helpers import (
    CLASSES,
    CutProxy,
    add_journal_rows,
    assert_central_equals_local,
    assert_records_exact,
    make_batch,
    make_plant,
    open_store,
    server_or_fail,
    sync_settings,
)

STATION = "line1-cam1"


@pytest.fixture(scope="module")
def own_server():
    server = server_or_fail()
    yield server
    server.destroy()


class Production:
    """Records (and now and then an operator action) flowing into the store from a thread."""

    def __init__(self, store, chunk: int = 500) -> None:  # noqa: ANN001
        self.store = store
        self.chunk = chunk
        self.written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="production", daemon=True)

    def start(self) -> Production:
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            self.store.append_records(make_batch(self.chunk, self.written), CLASSES)
            self.written += self.chunk
            i += 1
            if i % 10 == 0:
                add_journal_rows(self.store, i)
            self._stop.wait(0.025)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.store.flush(timeout=60)


def test_200_cuts_mid_batch_and_20_server_kills_lose_and_double_nothing(
    own_server, monkeypatch, tmp_path
):
    plant = make_plant(own_server, monkeypatch)
    proxy = CutProxy((own_server.host, own_server.port))
    settings = sync_settings(plant, url=proxy.url(plant.name), batch_rows=1000)
    path = tmp_path / "station.db"
    rng = random.Random(11)
    with open_store(path) as store:
        sync = PlantSync(store, settings, backoff_first=0.005, backoff_cap=0.05, seed=3)
        production = Production(store).start()
        sync.start()
        try:
            # Cuts at a random byte count into the traffic since the last one: mid-batch.
            while proxy.cuts < 200:
                mark = proxy.bytes_up + rng.randint(1, 300_000)
                wait_for(lambda m=mark: proxy.bytes_up >= m and proxy.active(), 60, "traffic")
                proxy.cut()
            cut_pushes = sync.pushes
            for _ in range(20):
                pushed = sync.pushes
                wait_for(lambda p=pushed: sync.pushes > p, 120, "a push between kills")
                time.sleep(rng.uniform(0.0, 0.05))  # a random point of the next batch
                own_server.stop("immediate")
                own_server.start()
            production.stop()
            sync.wake()
            wait_for(lambda: store.status.pending_outbox == 0, 300, "the backlog to drain")
        finally:
            sync.stop()
            proxy.close()
    print(
        f"\ncuts {proxy.cuts}, kills 20, connects {sync.connects}, pushes {sync.pushes}"
        f" ({cut_pushes} during cuts), commits whose answer was lost {sync.unheard_commits},"
        f" rows {production.written}"
    )
    assert proxy.cuts >= 200 and sync.connects >= 200
    assert assert_central_equals_local(plant, path, STATION) > 10_000
    assert_records_exact(plant, path, STATION)


def test_a_commit_whose_answer_is_lost_is_not_pushed_twice(own_server, monkeypatch, tmp_path):
    """The connection dies after the server got COMMIT, before the client heard back: an
    unknown outcome. The next attempt finds the batch committed and moves on."""
    plant = make_plant(own_server, monkeypatch)
    proxy = CutProxy((own_server.host, own_server.port))
    settings = sync_settings(plant, url=proxy.url(plant.name), batch_rows=1000)
    path = tmp_path / "station.db"
    with open_store(path) as store:
        store.append_records(make_batch(20_000, 0), CLASSES)
        store.flush()
        sync = PlantSync(store, settings, backoff_first=0.01, backoff_cap=0.05)
        proxy.cut_after = b"Q\x00\x00\x00\x0bCOMMIT\x00"  # the COMMIT query message
        sync.start()
        try:
            wait_for(lambda: sync.unheard_commits >= 5, 120, "commits whose answer was lost")
            proxy.cut_after = None
            wait_for(lambda: store.status.pending_outbox == 0, 120, "the rest")
        finally:
            sync.stop()
            proxy.close()
    assert proxy.cuts >= 5
    assert assert_central_equals_local(plant, path, STATION) == 20_000


def outage(own_server, monkeypatch, tmp_path, records: int, chunk: int) -> None:  # noqa: ANN001
    """The database is down while `records` records arrive; then it returns."""
    plant = make_plant(own_server, monkeypatch)
    settings = sync_settings(plant, batch_rows=20_000)
    path = tmp_path / "station.db"
    with open_store(path) as store:
        sync = PlantSync(store, settings)  # real back-off: 0.5 s growing to 2 min
        sync.start()
        try:
            store.append_records(make_batch(1000, 0), CLASSES)
            wait_for(lambda: store.status.pending_outbox == 0 and store.status.last_seq, 60)
            own_server.stop("fast")
            started = time.monotonic()
            for begin in range(1000, records, chunk):
                store.append_records(make_batch(min(chunk, records - begin), begin), CLASSES)
                if begin % (chunk * 200) == 0:
                    add_journal_rows(store, begin)
            store.flush(timeout=120)
            written = time.monotonic() - started
            wait_for(lambda: not sync.status.connected and sync.status.pending, 60, "offline")
            assert sync.status.pending >= records - 1000
            own_server.start()
            back = time.monotonic()
            wait_for(lambda: sync.status.connected, 300, "reconnect after the outage")
            reconnected = time.monotonic() - back
            wait_for(lambda: store.status.pending_outbox == 0, 3600, "the backlog to drain")
            drained = time.monotonic() - back
        finally:
            sync.stop()
    print(
        f"\noutage: {records:,} records written in {written:.1f} s while down; first retry"
        f" {reconnected:.1f} s after the server was back; drained in {drained:.1f} s"
        f" ({records / drained:,.0f} records/s)"
    )
    assert assert_central_equals_local(plant, path, STATION) >= records


def test_an_outage_with_production_going_on_ends_with_every_row_once(
    own_server, monkeypatch, tmp_path
):
    outage(own_server, monkeypatch, tmp_path, records=200_000, chunk=2000)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_day_at_50_parts_a_second_offline_then_back(own_server, monkeypatch, tmp_path):
    """24 h at 50 parts/s = 4.32 million records, time-compressed."""
    outage(own_server, monkeypatch, tmp_path, records=4_320_000, chunk=5000)
