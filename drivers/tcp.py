"""Local TCP driver: a listener for JSON Lines from the camera software (WIRE.md §1).

Listens on `tcp://host:port` (loopback unless the source sets `allow_remote = true`: the camera
PC is normally this PC, and records must not be injectable from the plant network by accident).
Up to `max_clients` clients (source key, default 64) at once through one `selectors` loop in
the source's thread; each client has its own bounded `LineFramer`, so a client that sends a 1 GB
line costs 64 KiB and one `too_long` reject. A client over the limit is refused at accept: it is
told so in one line, closed (so its sender sees the connection end) and counted; the refusals
are reported as one `overflow` event a second at most. A client silent for `idle_seconds` is
disconnected, so idle connections cannot hold every slot. Client connects and disconnects are
events with the peer's address; the unterminated last line of a client that hangs up is judged
like any other line.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import time
from urllib.parse import urlsplit

from console.config import ConfigError, Source
from console.records import Rejected
from drivers.base import Batch, Driver, SourceMonitor
from drivers.framing import LineFramer

RECV_BYTES = 256 * 1024
MAX_CLIENTS = 64
IDLE_SWEEP_SECONDS = 1.0  # how often silent clients are looked for
REFUSED_LINE = b"linewatch: refused, too many clients connected\n"


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
    __slots__ = ("sock", "peer", "framer", "last_seen")

    def __init__(self, sock: socket.socket, peer: str, source: str) -> None:
        self.sock = sock
        self.peer = peer
        self.framer = LineFramer(source)
        self.last_seen = time.monotonic()


class TcpListenDriver(Driver):
    """Accepts camera connections and reads their lines; runs in its SourceThread."""

    kind = "tcp"

    def __init__(
        self, source: Source, monitor: SourceMonitor, *, max_clients: int | None = None
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
        self.max_clients = source.max_clients if max_clients is None else max_clients
        self.idle_seconds = source.idle_seconds
        self.refused = 0  # clients refused at accept since start
        self._refused_unreported = 0
        self._reported_at = 0.0
        self._swept_at = time.monotonic()
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
            client.last_seen = time.monotonic()
            got, bad = client.framer.feed(data)
            lines += got
            rejected += bad
        self._sweep(lines, rejected)
        return lines, rejected

    def _sweep(self, lines: list[bytes], rejected: list[Rejected]) -> None:
        """Disconnect silent clients; report refusals (at most once a second)."""
        now = time.monotonic()
        if self._refused_unreported and now - self._reported_at >= 1.0:
            count, self._refused_unreported = self._refused_unreported, 0
            self._reported_at = now
            self.monitor.event(
                "overflow",
                f"{count} clients refused: {self.max_clients} connected ({self.refused} so far)",
                count,
            )
        if now - self._swept_at < IDLE_SWEEP_SECONDS:
            return
        self._swept_at = now
        for client in list(self._clients.values()):
            if now - client.last_seen > self.idle_seconds:
                why = f"client {client.peer} silent for {self.idle_seconds:g} s: disconnected"
                self._drop(client, why, lines, rejected)

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
            if len(self._clients) >= self.max_clients:
                self._refuse(sock)
                continue
            peer = f"{address[0]}:{address[1]}"
            sock.setblocking(False)
            client = _Client(sock, peer, self.monitor.name)
            self._clients[sock.fileno()] = client
            self._selector.register(sock, selectors.EVENT_READ, client)
            self.monitor.event("connected", f"client {peer}")

    def _refuse(self, sock: socket.socket) -> None:
        self.refused += 1
        self._refused_unreported += 1
        try:
            sock.setblocking(False)
            sock.send(REFUSED_LINE)
        except OSError:
            pass
        sock.close()

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
