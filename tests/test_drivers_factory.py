"""`open_source` maps each configured kind to its running source."""

from __future__ import annotations

import pytest

from console.config import Source
from console.intake import Intake
from drivers import open_source
from drivers.base import SourceThread
from drivers.folder import FolderDriver
from drivers.modbus_rtu import ModbusRtuDriver
from drivers.serial_line import SerialLineDriver
from drivers.tcp import TcpListenDriver
from tests.drivers_helpers import wait_for


@pytest.mark.parametrize(
    ("source", "driver_type"),
    [
        (Source(kind="serial", url="loop://"), SerialLineDriver),
        (Source(kind="modbus", url="loop://"), ModbusRtuDriver),
        (Source(kind="folder", url="/nonexistent/drop"), FolderDriver),
        (Source(kind="tcp", url="tcp://127.0.0.1:0"), TcpListenDriver),
    ],
)
def test_each_kind_gets_its_driver_in_a_source_thread(source: Source, driver_type: type) -> None:
    running = open_source(source, Intake(), ("brightness",))
    assert isinstance(running, SourceThread) and isinstance(running.driver, driver_type)
    assert running.status().state == "starting" and running.name == f"{source.kind}:{source.url}"


def test_simulator_kind_runs_the_simulator() -> None:
    intake = Intake()
    running = open_source(Source(kind="simulator", name="sim", rate=200.0), intake)
    running.start()
    try:
        wait_for(lambda: running.status().lines > 0, timeout=60)
    finally:
        running.stop()
    assert running.status().kind == "simulator"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown source kind"):
        open_source(Source(kind="carrier-pigeon", url="x"), Intake())
