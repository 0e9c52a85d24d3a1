"""Serial line driver against real peers: pty pairs (USB unplug/replug) and socket:// ."""

from __future__ import annotations

import os
import socket

import pytest

from console.config import Source
from console.records import RecordParser
from drivers import make_driver, open_source
from drivers.base import SourceThread
from drivers.framing import with_checksum
from tests.drivers_helpers import IntakeCollector, Pty, part_of, point_link, record_line, wait_for


@pytest.fixture
def collector():
    collector = IntakeCollector()
    yield collector
    collector.close()


def start(source: Source, collector: IntakeCollector, first_retry: float = 0.01) -> SourceThread:
    thread = SourceThread(make_driver(source, collector.intake), first_retry=first_retry)
    thread.start()
    return thread


def test_json_lines_arrive_from_a_pty_in_any_chunking(collector: IntakeCollector) -> None:
    pty = Pty()
    thread = open_source(Source(kind="serial", name="cam", url=pty.path), collector.intake)
    assert isinstance(thread, SourceThread)
    thread.start()
    try:
        wait_for(lambda: thread.status().state == "connected", what="connected")
        blob = b"".join(record_line(i) + b"\r\n" for i in range(300)) + b"garbage\n"
        for start_at in range(0, len(blob), 777):
            pty.write(blob[start_at : start_at + 777])
        wait_for(lambda: len(collector.lines) == 301, what="301 lines")
        assert [part_of(line) for line in collector.lines[:300]] == [
            f"P{i:08d}" for i in range(300)
        ]
        status = thread.status()
        assert status.lines == 301 and status.last_data is not None and status.url == pty.path
    finally:
        thread.stop()
        pty.unplug()
    assert thread.status().state == "stopped"
    wait_for(lambda: collector.count("stopped") == 1)


def test_delimited_text_with_checksums_is_converted_and_bad_lines_rejected(
    collector: IntakeCollector,
) -> None:
    pty = Pty()
    source = Source(
        kind="serial",
        url=pty.path,
        format="delimited",
        fields=("_", "part", "class", "conf", "brightness", "focus"),
        checksum=True,
    )
    thread = start(source, collector)
    try:
        wait_for(lambda: thread.status().state == "connected")
        good = with_checksum(b"INSP,P1,ok,0.93,0.58,117.7")
        pty.write(good + b"\r\n")
        pty.write(good[:-2] + b"00\r\n")  # corrupted checksum
        pty.write(with_checksum(b"INSP,P2,ok,0.93") + b"\n")  # wrong field count
        pty.write(with_checksum(b"INSP,P3,dent,0.51,0.61,") + b"\n")
        wait_for(lambda: len(collector.lines) + len(collector.rejected) == 4)
    finally:
        thread.stop()
        pty.unplug()
    assert [part_of(line) for line in collector.lines] == ["P1", "P3"]
    assert [r.reason for r in collector.rejected] == ["bad_checksum", "bad_field_count"]
    batch, bad = RecordParser(("brightness", "focus")).parse(collector.lines)
    assert not bad
    assert batch.features[1, 1] != batch.features[1, 1]  # the empty focus field is missing (NaN)


def test_line_cut_by_an_unplug_is_judged_not_lost(tmp_path, collector: IntakeCollector) -> None:
    pty = Pty()
    link = str(tmp_path / "usb-cam")
    point_link(link, pty.path)
    thread = start(Source(kind="serial", url=link), collector)
    try:
        wait_for(lambda: thread.status().state == "connected")
        pty.write(record_line(1) + b"\n" + record_line(2)[:50])
        wait_for(lambda: len(collector.lines) == 1)
        os.unlink(link)
        pty.unplug()
        wait_for(lambda: len(collector.lines) == 2, what="cut line delivered")
        wait_for(lambda: collector.count("error") >= 1, what="failed reopen reported")
        assert thread.status().state == "reconnecting"
    finally:
        thread.stop()
    assert collector.lines[1] == record_line(2)[:50]
    _batch, bad = RecordParser(()).parse(collector.lines[1:])
    assert [r.reason for r in bad] == ["not_json"]
    assert collector.count("disconnected") == 1


@pytest.mark.slow
def test_500_unplug_replug_cycles_behind_a_by_id_link(tmp_path, collector: IntakeCollector) -> None:
    link = str(tmp_path / "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0")
    pty = Pty()
    point_link(link, pty.path)
    thread = start(Source(kind="serial", name="usb", url=link), collector, first_retry=0.01)
    devices = set()
    try:
        wait_for(lambda: thread.status().state == "connected")
        for cycle in range(500):
            devices.add(pty.path)
            pty.write(record_line(cycle) + b"\n")
            wait_for(lambda n=cycle + 1: len(collector.lines) == n, what=f"line {cycle}")
            replacement = Pty()  # opened before the unplug, so it gets a new device name
            # Like udev: the by-id link goes with the device. A stale link could otherwise lead
            # to a pty number that another process (a parallel test run) has just been given.
            os.unlink(link)
            pty.unplug()
            wait_for(
                lambda n=cycle + 1: thread.monitor.count("disconnected") == n, what="unplug seen"
            )
            point_link(link, replacement.path)
            pty = replacement
            wait_for(lambda n=cycle + 1: thread.monitor.count("reconnected") == n, timeout=30.0)
        assert thread.is_alive()
        assert thread.status().detail.endswith(pty.path)  # it reports the device it resolved to
    finally:
        thread.stop()
        pty.unplug()
    assert [part_of(line) for line in collector.lines] == [f"P{i:08d}" for i in range(500)]
    assert collector.count("disconnected") == 500
    assert collector.count("reconnected") == 500
    assert len(devices) > 1
    assert dict(thread.status().errors)["disconnected"] == 500


def test_socket_url_reconnects_when_the_peer_restarts(collector: IntakeCollector) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(5)
        port = server.getsockname()[1]
        thread = start(Source(kind="serial", url=f"socket://127.0.0.1:{port}"), collector)
        try:
            for round_ in range(3):
                peer, _ = server.accept()
                with peer:
                    wait_for(lambda: thread.status().state == "connected")
                    peer.sendall(record_line(round_) + b"\n")
                    wait_for(lambda n=round_ + 1: len(collector.lines) == n)
                    if round_ == 2:
                        # The peer is gone for good: otherwise the driver's next attempt lands in
                        # the listen backlog before stop() and counts a third reconnect.
                        server.close()
                wait_for(lambda n=round_ + 1: thread.monitor.count("disconnected") == n)
        finally:
            thread.stop()
    assert collector.count("connected") == 1 and collector.count("reconnected") == 2
