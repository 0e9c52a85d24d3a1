"""Local TCP driver: a listener for JSON Lines from the camera software (WIRE.md §1).

Listens on `tcp://host:port` (loopback unless the source sets `allow_remote = true`: the camera
PC is normally this PC, and records must not be injectable from the plant network by accident).
Any number of clients (up to 64) at once through one `selectors` loop in the source's thread;
each client has its own bounded `LineFramer`, so a client that sends a 1 GB line costs 64 KiB
and one `too_long` reject. Client connects and disconnects are events with the peer's address;
the unterminated last line of a client that hangs up is judged like any other line.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
from urllib.parse import urlsplit

from console.config import ConfigError, Source
from console.records import Rejected
from drivers.base import Batch, Driver, SourceMonitor
from drivers.framing import LineFramer

RECV_BYTES = 256 * 1024
MAX_CLIENTS = 64


def parse_listen_url(url: str) -> tuple[str, int]:
    """`tcp://host:port` → (host, port); raises ValueError with what is wrong."""
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    if parts.scheme != "tcp" or parts.hostname is None or parts.port is None:
        raise ValueError(f"{url!r} is not tcp://host:port")
    return parts.hostname, parts.port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Client:
    __slots__ = ("sock", "peer", "framer")

    def __init__(self, sock: socket.socket, peer: str, source: str) -> None:
        self.sock = sock
        self.peer = peer
        self.framer = LineFramer(source)


class TcpListenDriver(Driver):
    """Accepts camera connections and reads their lines; runs in its SourceThread."""

    kind = "tcp"

    def __init__(
        self, source: Source, monitor: SourceMonitor, *, max_clients: int = MAX_CLIENTS
    ) -> None:
        super().__init__(source, monitor)
        try:
            self.host, self.port = parse_listen_url(source.url)
        except ValueError as error:
            raise ConfigError(
                "source.url", str(error), 'write e.g. url = "tcp://127.0.0.1:9100"'
            ) from error
        if not is_loopback(self.host) and not source.allow_remote:
            raise ConfigError(
                "source.allow_remote",
                f"listening on {self.host} would accept records from other machines",
                "listen on 127.0.0.1, or set allow_remote = true for this source",
            )
        self.max_clients = max_clients
        self.address: tuple[str, int] | None = None  # where it listens (port 0 → the real port)
        self._listener: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._clients: dict[int, _Client] = {}

    def clients(self) -> int:
        return len(self._clients)

    def open(self) -> str:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.create_server((self.host, self.port), family=family, backlog=64)
        listener.setblocking(False)
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, None)
        self._listener, self._selector = listener, selector
        self.address = listener.getsockname()[:2]
        return f"listening on {self.address[0]}:{self.address[1]}"

    def read_batch(self, timeout: float) -> Batch:
        selector = self._selector
        if selector is None:
            raise ConnectionError("not listening")
        lines: list[bytes] = []
        rejected: list[Rejected] = []
        for key, _mask in selector.select(timeout):
            if key.data is None:
                self._accept()
                continue
            client: _Client = key.data
            try:
                data = client.sock.recv(RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as error:
                self._drop(client, f"client {client.peer}: {error}", lines, rejected)
                continue
            if not data:
                self._drop(client, f"client {client.peer} hung up", lines, rejected)
                continue
            got, bad = client.framer.feed(data)
            lines += got
            rejected += bad
        return lines, rejected

    def close(self) -> None:
        lines: list[bytes] = []
        rejected: list[Rejected] = []
        for client in list(self._clients.values()):
            self._drop(client, f"client {client.peer} closed: source stopping", lines, rejected)
        self.monitor.deliver(lines, rejected)
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _accept(self) -> None:
        assert self._listener is not None and self._selector is not None
        while True:
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            peer = f"{address[0]}:{address[1]}"
            if len(self._clients) >= self.max_clients:
                sock.close()
                self.monitor.event(
                    "overflow", f"client {peer} refused: {self.max_clients} connected"
                )
                continue
            sock.setblocking(False)
            client = _Client(sock, peer, self.monitor.name)
            self._clients[sock.fileno()] = client
            self._selector.register(sock, selectors.EVENT_READ, client)
            self.monitor.event("connected", f"client {peer}")

    def _drop(
        self, client: _Client, why: str, lines: list[bytes], rejected: list[Rejected]
    ) -> None:
        got, bad = client.framer.flush()
        lines += got
        rejected += bad
        self._clients.pop(client.sock.fileno(), None)
        if self._selector is not None:
            self._selector.unregister(client.sock)
        client.sock.close()
        self.monitor.event("disconnected", why)
