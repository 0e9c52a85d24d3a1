"""The running station with `[sync]` set: the plant sync runs on its own thread, the snapshot
says honestly where it stands, a stale sync raises an alarm, and the header shows the states."""

from __future__ import annotations

from dataclasses import replace

from console.config import demo_config
from console.runner import Station
from data.sync_status import SyncStatus
from tests.drivers_helpers import wait_for
from tests.postgres_server import free_port
from tests.sync_helpers import Plant, sync_settings


def demo_station(tmp_path, sync) -> Station:  # noqa: ANN001
    config = demo_config()
    fast = replace(config.source[0], rate=1000.0)
    config = replace(config, source=(fast,), sync=sync)
    return Station(config, store_path=str(tmp_path / "line.db"))


def test_a_station_with_sync_configured_keeps_the_plant_up_to_date(plant: Plant, tmp_path):
    station = demo_station(tmp_path, sync_settings(plant, batch_rows=500))
    station.start()
    try:
        wait_for(lambda: station.engine.accepted > 3000, 60, "parts")
        wait_for(lambda: station.refresh().sync.connected, 60, "sync connected")
        wait_for(lambda: plant.high_water(station.config.station.id) > 2000, 60, "rows at plant")
        status = station.snapshot.sync
        assert status.configured and status.last_error == ""
        assert any(e[2] == "plant sync" for e in station.engine.system_events)
    finally:
        station.stop()
    # After stopping, what was synced is exact; the rest waits locally and is still pending.
    local_pending = station.store.status.pending_outbox
    high = plant.high_water(station.config.station.id)
    assert high == station.store.status.last_seq - local_pending


def test_without_sync_the_header_says_so_and_nothing_is_pending_to_nowhere(tmp_path):
    station = demo_station(tmp_path, replace(demo_config().sync, url=""))
    station.start()
    try:
        wait_for(lambda: station.engine.accepted > 100, 60, "parts")
        snapshot = station.refresh()
        assert snapshot.sync.headline() == "no sync configured"
        assert snapshot.store == "ok"
    finally:
        station.stop()


def test_a_stale_sync_raises_an_alarm(tmp_path):
    url = f"postgresql://linewatch@127.0.0.1:{free_port()}/linewatch"
    sync = replace(demo_config().sync, url=url, stale_seconds=1.0)
    station = demo_station(tmp_path, sync)
    station.start()
    try:
        wait_for(
            lambda: any(
                a.id == "sync_stale:plant sync" and a.active for a in station.refresh().alarms
            ),
            60,
            "the stale-sync alarm",
        )
        status = station.snapshot.sync
        assert status.stale and not status.connected and status.pending > 0
        assert "offline" in status.headline() and status.last_error
    finally:
        station.stop()


def test_the_header_shows_each_sync_state(qtbot, tmp_path):
    from widgets.header import OverviewHeader
    from widgets.sync_states import example_states, render

    header = OverviewHeader("line1-cam1")
    qtbot.addWidget(header)
    shown = []
    for _meaning, status in example_states(1_800_000_000.0):
        header.show_sync(status)
        shown.append(header.sync.value.text())
    assert shown[0] == "no sync configured"
    assert shown[1] == "up to date"
    assert shown[2] == "connected · 1.28 M waiting"
    assert shown[3] == "offline · 60,012 waiting"
    header.show_sync(SyncStatus(configured=True, connected=True, pending=5, taken=0.0))
    assert header.sync.value.text() == "connected · 5 waiting"
    assert render(tmp_path / "states.png").stat().st_size > 10_000
