"""Drivers for the real line: serial, Modbus RTU, folder drop, local TCP, and the simulator.

`open_source(source_cfg, intake, station_features)` builds the running source for one
`[[source]]` entry; call `start()` on it, `stop()` at the end, `status()` any time. No Qt here.
"""

from __future__ import annotations

from collections.abc import Sequence

from console.config import Source
from console.intake import Intake
from drivers.base import Driver, RunningSource, SourceMonitor, SourceThread


def source_name(source_cfg: Source) -> str:
    return source_cfg.name or f"{source_cfg.kind}:{source_cfg.url}"


def make_driver(source_cfg: Source, intake: Intake, station_features: Sequence[str] = ()) -> Driver:
    """The driver for a non-simulated source, with its monitor (not yet running)."""
    monitor = SourceMonitor(source_name(source_cfg), source_cfg.kind, source_cfg.url, intake)
    if source_cfg.kind == "serial":
        from drivers.serial_line import SerialLineDriver

        return SerialLineDriver(source_cfg, monitor)
    if source_cfg.kind == "modbus":
        from drivers.modbus_rtu import ModbusRtuDriver

        timeout = source_cfg.timeout if source_cfg.timeout > 0 else None
        return ModbusRtuDriver(source_cfg, monitor, station_features, response_timeout=timeout)
    if source_cfg.kind == "folder":
        from drivers.folder import FolderDriver

        return FolderDriver(source_cfg, monitor, settle=source_cfg.settle)
    if source_cfg.kind == "tcp":
        from drivers.tcp import TcpListenDriver

        return TcpListenDriver(source_cfg, monitor)
    raise ValueError(f"unknown source kind {source_cfg.kind!r}")


def open_source(
    source_cfg: Source, intake: Intake, station_features: Sequence[str] = ()
) -> RunningSource:
    """The running source for one config entry: a SourceThread, or the simulator's own thread.

    Not started yet. Raises ConfigError (e.g. a TCP listener on a non-loopback address without
    `allow_remote`) or ValueError for a config the driver cannot work with.
    """
    if source_cfg.kind == "simulator":
        from drivers.simulator import SimulatedSource

        return SimulatedSource(source_cfg, intake)
    return SourceThread(make_driver(source_cfg, intake, station_features))


__all__ = [
    "RunningSource",
    "SourceMonitor",
    "SourceThread",
    "make_driver",
    "open_source",
    "source_name",
]
