"""`open_sink`: every kind of target, end to end into the matching driver where there is one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.config import Source
from drivers import make_driver
from drivers.base import SourceThread
from drivers.sink import FolderSink, SerialSink, StreamSink, TcpSink, open_sink
from tests.drivers_helpers import IntakeCollector, Pty, part_of, record_line, wait_for

LINES = [record_line(i) for i in range(20)]


@pytest.fixture
def collector():
    collector = IntakeCollector()
    yield collector
    collector.close()


def run(source: Source, collector: IntakeCollector, **driver_options) -> SourceThread:
    driver = make_driver(source, collector.intake)
    for key, value in driver_options.items():
        setattr(driver, key, value)
    thread = SourceThread(driver, first_retry=0.01)
    thread.start()
    wait_for(lambda: thread.status().state == "connected")
    return thread


def test_file_sink_writes_json_lines(tmp_path: Path) -> None:
    sink = open_sink(str(tmp_path / "stream.jsonl"))
    assert isinstance(sink, StreamSink)
    sink.write_lines(LINES[:10])
    sink.write_lines(LINES[10:])
    sink.close()
    assert (tmp_path / "stream.jsonl").read_bytes().splitlines() == LINES


def test_stdout_sink(capsysbinary) -> None:
    sink = open_sink("-")
    sink.write_lines(LINES[:2])
    sink.close()
    assert capsysbinary.readouterr().out == LINES[0] + b"\n" + LINES[1] + b"\n"


def test_loop_url_is_a_serial_sink() -> None:
    sink = open_sink("loop://")
    assert isinstance(sink, SerialSink)
    sink.write_lines(LINES[:1])
    assert sink.port.readline() == LINES[0] + b"\n"
    sink.close()


def test_tcp_sink_feeds_the_tcp_driver(collector) -> None:
    thread = run(Source(kind="tcp", url="tcp://127.0.0.1:0"), collector)
    try:
        host, port = thread.driver.address
        sink = open_sink(f"tcp://{host}:{port}")
        assert isinstance(sink, TcpSink)
        sink.write_lines(LINES)
        sink.close()
        wait_for(lambda: len(collector.lines) == len(LINES))
    finally:
        thread.stop()
    assert collector.lines == LINES


def test_device_path_sink_writes_to_the_port() -> None:
    pty = Pty()
    # The sink opens the pty's slave like a real port; the test reads what arrives at the master.
    sink = open_sink(pty.path)
    assert isinstance(sink, SerialSink)
    sink.write_lines(LINES[:3])

    got = b""
    while got.count(b"\n") < 3:
        got += os.read(pty.master, 65536)
    sink.close()
    pty.unplug()
    assert got.splitlines() == LINES[:3]


@pytest.mark.parametrize("style", ["folder", "dir"])
def test_folder_sink_feeds_the_folder_driver(tmp_path: Path, collector, style: str) -> None:
    url = f"folder://{tmp_path}" if style == "folder" else f"dir:{tmp_path}"
    sink = open_sink(url)
    assert isinstance(sink, FolderSink)
    thread = run(
        Source(kind="folder", url=str(tmp_path), poll_interval=0.01), collector, settle=0.05
    )
    try:
        for start in range(0, 20, 5):
            sink.write_lines(LINES[start : start + 5])
        sink.close()
        wait_for(lambda: len(collector.lines) == 20)
    finally:
        thread.stop()
    assert sorted(map(part_of, collector.lines)) == sorted(map(part_of, LINES))
    assert len(list((tmp_path / "done").iterdir())) == 4


def test_simulate_to_a_port_that_vanishes_ends_with_one_line(tmp_path: Path) -> None:
    import select
    import subprocess
    import sys

    pty = Pty()
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "main.py", "simulate", "--to", pty.path, "--rate", "500", "--days", "50"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: _read_some(pty, select), timeout=60, what="the simulator writing")
        pty.unplug()  # the adapter is pulled out
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and pty.path in lines[0] and "went away" in lines[0]


def _read_some(pty: Pty, select) -> bool:
    """True once bytes came through (EIO: nobody holds the port open yet)."""
    if not select.select([pty.master], [], [], 0.1)[0]:
        return False
    try:
        return bool(os.read(pty.master, 4096))
    except OSError:
        return False
