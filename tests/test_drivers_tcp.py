"""Local TCP driver: many clients at once, partial lines, disconnects, the loopback rule."""

from __future__ import annotations

import random
import socket
import threading

import pytest

from console.config import ConfigError, Source
from console.records import RecordParser
from drivers import make_driver, open_source
from drivers.base import SourceMonitor, SourceThread
from drivers.tcp import REFUSED_LINE, TcpListenDriver, is_loopback, parse_listen_url
from tests.drivers_helpers import IntakeCollector, part_of, record_line, wait_for


@pytest.fixture
def collector():
    collector = IntakeCollector()
    yield collector
    collector.close()


def listen(collector: IntakeCollector, **options) -> tuple[TcpListenDriver, SourceThread]:
    source = Source(kind="tcp", name="cam", url="tcp://127.0.0.1:0")
    monitor = SourceMonitor("cam", "tcp", source.url, collector.intake)
    driver = TcpListenDriver(source, monitor, **options)
    thread = SourceThread(driver)
    thread.start()
    wait_for(lambda: thread.status().state == "connected")
    return driver, thread


def test_listen_url_parsing_and_loopback_rule() -> None:
    assert parse_listen_url("tcp://127.0.0.1:9100") == ("127.0.0.1", 9100)
    assert parse_listen_url("tcp://[::1]:9100") == ("::1", 9100)
    with pytest.raises(ValueError):
        parse_listen_url("udp://127.0.0.1:9100")
    assert is_loopback("127.0.0.5") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.7")


def test_remote_listen_address_needs_allow_remote(collector) -> None:
    with pytest.raises(ConfigError) as error:
        open_source(Source(kind="tcp", url="tcp://0.0.0.0:9100"), collector.intake)
    assert error.value.key == "source.allow_remote"
    thread = open_source(
        Source(kind="tcp", url="tcp://0.0.0.0:0", allow_remote=True), collector.intake
    )
    thread.start()
    try:
        wait_for(lambda: thread.status().state == "connected")
    finally:
        thread.stop()


def test_many_clients_with_partial_lines_and_hang_ups(collector) -> None:
    driver, thread = listen(collector)
    port = driver.address[1]
    clients, per_client = 12, 500

    def camera(c: int) -> None:
        rng = random.Random(c)
        data = b"".join(record_line(c * 10_000 + i) + b"\n" for i in range(per_client))
        data += record_line(c * 10_000 + per_client)[:80]  # hangs up mid-line
        with socket.create_connection(("127.0.0.1", port)) as sock:
            at = 0
            while at < len(data):
                step = rng.choice((1, 7, 100, 4096, 65536))
                sock.sendall(data[at : at + step])
                at += step

    cameras = [threading.Thread(target=camera, args=(c,)) for c in range(clients)]
    for cam in cameras:
        cam.start()
    for cam in cameras:
        cam.join()
    try:
        wait_for(lambda: collector.count("disconnected") == clients, timeout=10)
        wait_for(lambda: len(collector.lines) == clients * (per_client + 1))
    finally:
        thread.stop()
    batch, rejected = RecordParser(("brightness",)).parse(collector.lines)
    assert len(batch) == clients * per_client and len(rejected) == clients
    assert {r.reason for r in rejected} == {"not_json"}  # the cut-off last lines
    for c in range(clients):  # each client's lines in its own order
        mine = [p for p in batch.part if int(p[1:]) // 10_000 == c]
        assert mine == [f"P{c * 10_000 + i:08d}" for i in range(per_client)]
    assert collector.count("connected") == clients + 1  # + the listener itself
    assert driver.clients() == 0


def test_over_long_line_costs_one_reject_and_other_clients_carry_on(collector) -> None:
    driver, thread = listen(collector)
    port = driver.address[1]
    try:
        with (
            socket.create_connection(("127.0.0.1", port)) as flood,
            socket.create_connection(("127.0.0.1", port)) as good,
        ):
            flood.sendall(b"{" + b"x" * 300_000)
            good.sendall(record_line(1) + b"\n")
            wait_for(lambda: len(collector.lines) == 1)
            flood.sendall(b"yyy\n" + record_line(2) + b"\n")
            wait_for(lambda: len(collector.lines) == 2 and len(collector.rejected) == 1)
    finally:
        thread.stop()
    assert [part_of(line) for line in collector.lines] == ["P00000001", "P00000002"]
    assert collector.rejected[0].reason == "too_long"
    assert len(collector.rejected[0].raw) <= 1024


def test_clients_beyond_the_limit_are_refused_and_counted(collector) -> None:
    driver, thread = listen(collector, max_clients=2)
    port = driver.address[1]
    try:
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        wait_for(lambda: driver.clients() == 2)
        with socket.create_connection(("127.0.0.1", port)) as extra:
            extra.settimeout(5)
            told = b"".join(iter(lambda: extra.recv(4096), b""))  # read until closed
            assert told == REFUSED_LINE  # the sender learns why its connection ended
        wait_for(lambda: collector.count("overflow") == 1)
        held[0].sendall(record_line(5) + b"\n")
        wait_for(lambda: len(collector.lines) == 1)
        for sock in held:
            sock.close()
        wait_for(lambda: driver.clients() == 0)
    finally:
        thread.stop()


def test_stop_flushes_connected_clients_partial_lines(collector) -> None:
    thread = SourceThread(
        make_driver(Source(kind="tcp", url="tcp://127.0.0.1:0"), collector.intake)
    )
    thread.start()
    wait_for(lambda: thread.status().state == "connected")
    port = thread.driver.address[1]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(record_line(1) + b"\n" + record_line(2))
        wait_for(lambda: len(collector.lines) == 1)
        thread.stop()
    wait_for(lambda: len(collector.lines) == 2)
    assert [part_of(line) for line in collector.lines] == ["P00000001", "P00000002"]
    assert thread.status().state == "stopped"
