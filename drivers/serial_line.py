"""Serial line driver: JSON Lines or delimited text from any pyserial URL (WIRE.md §2).

The port is opened with `serial.serial_for_url`, so `/dev/serial/by-id/...`, `/dev/ttyUSB0`,
`loop://`, `socket://host:port`, `rfc2217://` and `spy://` all work. A by-id path is opened by
name on every (re)connect, so a USB adapter that comes back under a new `/dev/ttyUSBn` is found
again through its stable link; `open()` reports the device it resolved to. A vanished port
raises in `read_batch` and the SourceThread reconnects with backoff. Bytes are cut into lines by
`LineFramer` (bounded, resyncing) and, for `format = "delimited"`, turned into canonical JSON
lines by `DelimitedDecoder`. Runs in the source's thread.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import serial

from console.config import Source
from console.records import Rejected
from drivers.base import Batch, Driver, SourceLost, SourceMonitor
from drivers.framing import DelimitedDecoder, LineFramer


def is_device_path(url: str) -> bool:
    """A local device path (not a `scheme://` URL)."""
    return "://" not in url


def resolve_port(url: str) -> str:
    """The device a by-id (or any symlinked) path points at now; URLs are returned unchanged."""
    return os.path.realpath(url) if is_device_path(url) else url


def open_port(source: Source, timeout: float, **extra: float) -> serial.Serial:
    """Open the source's port (any pyserial URL) with its line settings from the config.

    A real device is opened exclusively: a second reader would steal half the lines.
    """
    options: dict[str, Any] = {
        "baudrate": source.baudrate,
        "bytesize": source.bytesize,
        "parity": source.parity,
        "stopbits": source.stopbits,
        "timeout": timeout,
        **extra,
    }
    if is_device_path(source.url):
        options["exclusive"] = True
    return serial.serial_for_url(source.url, **options)


class SerialLineDriver(Driver):
    """Reads record lines from one serial port; runs in its SourceThread."""

    kind = "serial"

    def __init__(
        self, source: Source, monitor: SourceMonitor, *, read_timeout: float = 0.1
    ) -> None:
        super().__init__(source, monitor)
        self.read_timeout = read_timeout
        self.decoder = (
            DelimitedDecoder(
                source.fields, source.delimiter, checksum=source.checksum, source=monitor.name
            )
            if source.format == "delimited"
            else None
        )
        self.device = ""
        self._port: serial.Serial | None = None
        self._framer = LineFramer(monitor.name)

    def open(self) -> str:
        url = self.source.url
        device = resolve_port(url)
        self._port = open_port(self.source, self.read_timeout)
        # A line cut by the last unplug was already flushed on close; start clean.
        self._framer = LineFramer(self.monitor.name)
        self.device = device
        return url if device == url else f"{url} -> {device}"

    def read_batch(self, timeout: float) -> Batch:
        port = self._port
        if port is None:
            raise SourceLost("port is not open")
        data = port.read(port.in_waiting or 1)
        if not data:
            return [], []
        lines, rejected = self._framer.feed(data)
        return self._decode(lines, rejected)

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            # The device may already be gone; there is nothing left to release then.
            with contextlib.suppress(OSError, serial.SerialException):
                port.close()
        # The unterminated line the port was in the middle of is judged, not silently dropped.
        lines, rejected = self._framer.flush()
        if lines or rejected:
            self.monitor.deliver(*self._decode(lines, rejected))

    def _decode(self, lines: list[bytes], rejected: list[Rejected]) -> Batch:
        if self.decoder is None or not lines:
            return lines, rejected
        records, bad = self.decoder.decode(lines)
        return records, rejected + bad if bad else rejected
