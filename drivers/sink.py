"""Where `main.py simulate --to URL` writes a record stream: the peers of the drivers.

`open_sink(url)` understands:
- `-`: standard output;
- `tcp://host:port`: a client of the TCP driver;
- `folder:///path` or `dir:PATH`: one `<name>.json` (JSON Lines) per `write_lines` call, written as
  a hidden temp file and renamed into place, as the folder driver expects;
- a pyserial URL (`loop://`, `socket://host:port`, `rfc2217://…`, `spy://…`) or a device
  (`/dev/…`, or any character device): a serial port;
- anything else: a file path (created or truncated).
Each sink has `write_lines(lines)` (lines without terminators; `\\n` is added) and `close()`.
Used from the caller's thread; no threads of its own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import sys
import termios
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

import serial

from drivers.tcp import parse_listen_url


class Sink(Protocol):
    def write_lines(self, lines: Sequence[bytes]) -> None: ...

    def close(self) -> None: ...


def _joined(lines: Sequence[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


class StreamSink:
    """A file or standard output."""

    def __init__(self, handle: BinaryIO, *, owned: bool) -> None:
        self.handle = handle
        self.owned = owned

    def write_lines(self, lines: Sequence[bytes]) -> None:
        self.handle.write(_joined(lines))
        self.handle.flush()

    def close(self) -> None:
        if self.owned:
            self.handle.close()
        else:
            self.handle.flush()


class SerialSink:
    """A pyserial port (device or URL)."""

    def __init__(self, url: str, baudrate: int) -> None:
        self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=1, write_timeout=10)

    def write_lines(self, lines: Sequence[bytes]) -> None:
        self.port.write(_joined(lines))

    def close(self) -> None:
        try:
            self.port.flush()
        except (OSError, termios.error):  # the port vanished: nothing left to flush
            pass
        finally:
            self.port.close()


class TcpSink:
    """A client of the TCP driver."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)

    def write_lines(self, lines: Sequence[bytes]) -> None:
        self.sock.sendall(_joined(lines))

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the listener may already be gone
            self.sock.shutdown(socket.SHUT_WR)
        self.sock.close()


class FolderSink:
    """Drops one JSON Lines file per batch, atomically (temp name, then rename)."""

    def __init__(self, folder: str | Path, prefix: str = "part") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prefix = f"{prefix}-{os.getpid()}-{int.from_bytes(os.urandom(3), 'big'):06x}"
        self.files = 0

    def write_lines(self, lines: Sequence[bytes]) -> None:
        if not lines:
            return
        name = f"{self.prefix}-{self.files:08d}.json"
        temp = self.folder / f".{name}.tmp"
        with open(temp, "wb") as handle:
            handle.write(_joined(lines))
        os.replace(temp, self.folder / name)
        self.files += 1

    def close(self) -> None:
        pass


def _is_serial(url: str) -> bool:
    if "://" in url:
        return True
    if url.startswith("/dev/"):
        return True
    try:
        return stat.S_ISCHR(os.stat(url).st_mode)
    except OSError:
        return False


def open_sink(url: str, *, baudrate: int = 115200) -> Sink:
    """The sink for `url` (see the module docstring); raises ValueError or OSError."""
    if url == "-":
        return StreamSink(sys.stdout.buffer, owned=False)
    if url.startswith("tcp://"):
        host, port = parse_listen_url(url)
        return TcpSink(host, port)
    if url.startswith("folder://"):
        return FolderSink(url.removeprefix("folder://"))
    if url.startswith("dir:"):
        return FolderSink(url.removeprefix("dir:"))
    if _is_serial(url):
        return SerialSink(url, baudrate)
    return StreamSink(open(url, "wb"), owned=True)  # the sink owns the handle
