"""Containment: a record's `image` names only regular files inside its source folder and is read
off the UI thread (a FIFO cannot hang the window); a thousand idle TCP connections cannot make a
real camera lose a record."""

from __future__ import annotations

import os
import socket
import struct
import time
import zlib

import pytest

from console.config import Source
from console.part_images import read_image, resolve_image
from drivers.base import SourceMonitor, SourceThread
from drivers.tcp import REFUSED_LINE, TcpListenDriver
from tests.drivers_helpers import IntakeCollector, part_of, record_line, wait_for


def _png() -> bytes:
    """A valid 1×1 grey PNG, built here so the test needs no image file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))  # fmt: skip


PNG = _png()


@pytest.fixture
def folders(tmp_path):
    root = tmp_path / "drop"
    (root / "img").mkdir(parents=True)
    (root / "img" / "p1.png").write_bytes(PNG)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(PNG)
    os.mkfifo(root / "img" / "pipe.png")
    os.symlink(outside / "secret.png", root / "img" / "link.png")
    (root / "img" / "huge.png").write_bytes(PNG + b"\0" * (9 * 1024 * 1024))
    return root, outside


def test_only_regular_files_inside_the_source_folder_are_read(folders):
    root, outside = folders
    roots = (str(root),)
    good = resolve_image("img/p1.png", roots)
    assert good is not None and read_image(good) == PNG
    assert resolve_image("../outside/secret.png", roots) is None
    assert resolve_image(str(outside / "secret.png"), roots) is None
    assert resolve_image("img/link.png", roots) is None  # a symlink out of the folder
    assert resolve_image("img/p1.png", ()) is None  # no folder source: nothing is read
    fifo = resolve_image("img/pipe.png", roots)
    assert fifo is not None and read_image(fifo) is None  # returns at once, reads nothing
    assert read_image(str(root / "img" / "huge.png")) is None
    assert resolve_image("img", roots) is not None and read_image(str(root / "img")) is None


def test_the_window_shows_a_fifo_image_as_refused_without_hanging(qtbot, folders):
    from widgets.parts import Thumbnails

    root, _ = folders
    thumbs = Thumbnails((str(root),))
    started = time.monotonic()
    first = thumbs.get("img/pipe.png")  # the UI thread only asks; the loader thread reads
    assert time.monotonic() - started < 5.0
    assert first is thumbs.loading or first is thumbs.refused
    qtbot.waitUntil(lambda: thumbs.get("img/pipe.png") is thumbs.refused, timeout=10_000)
    qtbot.waitUntil(lambda: thumbs.get("../outside/secret.png") is thumbs.refused, timeout=10_000)
    qtbot.waitUntil(lambda: thumbs.get("img/p1.png") is not thumbs.loading, timeout=10_000)
    shown = thumbs.get("img/p1.png")
    assert shown is not thumbs.refused and shown.width() == thumbs.size


def test_a_thousand_idle_connections_cannot_make_a_real_client_lose_records():
    collector = IntakeCollector()
    source = Source(kind="tcp", name="cam", url="tcp://127.0.0.1:0", idle_seconds=3.0)
    monitor = SourceMonitor("cam", "tcp", source.url, collector.intake)
    driver = TcpListenDriver(source, monitor)
    thread = SourceThread(driver)
    thread.start()
    idle: list[socket.socket] = []
    try:
        wait_for(lambda: thread.status().state == "connected")
        port = driver.address[1]
        for _ in range(1000):
            try:
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            except OSError:
                break  # the backlog is full: the kernel refuses, which is also a refusal
        wait_for(lambda: driver.refused > 0, timeout=30, what="refusals")
        assert driver.clients() <= driver.max_clients
        lines = [record_line(i) for i in range(500)]
        sent = send_when_accepted(port, b"\n".join(lines) + b"\n")
        wait_for(lambda: len(collector.lines) >= 500, timeout=60, what="500 records")
        assert sorted(part_of(line) for line in collector.lines) == [part_of(x) for x in lines]
        assert sent >= 1
        wait_for(lambda: collector.count("overflow") >= 1, timeout=10, what="overflow event")
    finally:
        for sock in idle:
            sock.close()
        thread.stop()
        collector.close()


def send_when_accepted(port: int, payload: bytes, patience: float = 120.0) -> int:
    """A camera that checks it was let in before it sends: a refused connection is told so
    and closed at once; an accepted one hears nothing. It retries after a short pause, as a
    camera backs off. Returns the attempts it took."""
    deadline = time.monotonic() + patience
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.settimeout(0.5)
            try:
                told = sock.recv(len(REFUSED_LINE))
            except TimeoutError:
                sock.settimeout(10)
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(30)
                assert sock.recv(1) == b""  # the listener read it all, then closed
                return attempt
            assert told in (REFUSED_LINE, b"")
        time.sleep(0.05)  # the camera's back-off between attempts, not a wait on a thread
    raise AssertionError("never accepted")
