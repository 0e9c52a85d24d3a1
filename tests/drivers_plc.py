"""A real pymodbus server playing the PLC (RTU framing over TCP), and a byte-level fault proxy."""

from __future__ import annotations

import asyncio
import random
import selectors
import socket
import threading

from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.modbus_rtu import PlcResult, block_length, encode_result

CLASS_CODES = ("ok", "scratch", "dent", "stain")


def expected_result(counter: int, n_features: int) -> PlcResult:
    """What the PLC shows for part `counter`: every field derived from it, so a bad value shows."""
    return PlcResult(
        counter=counter,
        class_code=counter % len(CLASS_CODES),
        conf_raw=(counter * 37) % 10001,
        batch=counter // 100,
        features=tuple((counter % 1000) + k / 4 for k in range(n_features)),
    )


class PlcServer:
    """pymodbus ModbusTcpServer with the RTU framer: a new part is ready at every result read."""

    def __init__(
        self, n_features: int, *, unit: int = 1, word_order: str = "big", start: int = 1000
    ):
        self.n_features = n_features
        self.word_order = word_order
        self.counter = start
        self.reads = 0
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stopped: asyncio.Future | None = None
        self._unit = unit
        self._thread = threading.Thread(target=self._run, name="test-plc", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("PLC server did not start")

    async def _action(self, function_code, _start, address, _count, registers, _values):
        if function_code == 3 and address == 0:
            self.counter += 1
            self.reads += 1
            block = encode_result(expected_result(self.counter, self.n_features), self.word_order)
            registers[: len(block)] = block
        return None

    def coil(self, address: int = 0) -> bool:
        """A coil as the PLC holds it (read through the server's own datastore)."""

        async def read():
            return await self.server.async_getValues(self._unit, 1, address, 1)

        return bool(asyncio.run_coroutine_threadsafe(read(), self._loop).result(5)[0])

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        device = SimDevice(
            id=self._unit,
            simdata=(
                [SimData(0, count=16, values=False, datatype=DataType.BITS)],
                [SimData(0, count=16, values=False, datatype=DataType.BITS)],
                [
                    SimData(
                        0,
                        count=block_length(self.n_features),
                        values=0,
                        datatype=DataType.REGISTERS,
                    )
                ],
                [SimData(0, values=0, datatype=DataType.REGISTERS)],
            ),
            action=self._action,
        )
        self.server = ModbusTcpServer(device, framer=FramerType.RTU, address=("127.0.0.1", 0))
        await self.server.serve_forever(background=True)
        self.port = self.server.transport.sockets[0].getsockname()[1]
        self._stopped = self._loop.create_future()
        self._ready.set()
        await self._stopped
        await self.server.shutdown()

    def close(self) -> None:
        if self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set_result, None)
        self._thread.join(5)


def rtu_answer_length(buffer: bytes) -> int | None:
    """Length of the RTU answer at the start of `buffer`, or None if more bytes are needed."""
    if len(buffer) < 3:
        return None
    function = buffer[1]
    if function & 0x80:
        return 5
    if function in (1, 2, 3, 4):
        return 5 + buffer[2]
    return 8  # 5, 6, 15, 16: echo of address and value/count


class FaultyLine:
    """A TCP proxy between the driver and the PLC that corrupts or drops whole answers.

    Corruption flips one bit in an answer's data or CRC bytes (never its header, so it can only
    be seen as a CRC error); a dropped answer is simply never forwarded (a timeout). `silent`
    drops every answer, like a unit that stopped talking. Counts what it injected.
    """

    def __init__(self, target_port: int, *, corrupt: float = 0.0, drop: float = 0.0, seed: int = 1):
        self.target_port = target_port
        self.corrupt = corrupt
        self.drop = drop
        self.silent = False
        self.corrupted = {3: 0, 1: 0, 5: 0}
        self.dropped = {3: 0, 1: 0, 5: 0}
        self.forwarded = 0
        self._rng = random.Random(seed)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-proxy", daemon=True)
        self._thread.start()

    def faults(self, function: int = 3) -> int:
        return self.corrupted.get(function, 0) + self.dropped.get(function, 0)

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ, "accept")
        pairs: dict[socket.socket, socket.socket] = {}
        answers: dict[socket.socket, bytearray] = {}
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(0.05):
                    if key.data == "accept":
                        client, _ = self._listener.accept()
                        plc = socket.create_connection(("127.0.0.1", self.target_port))
                        for sock in (client, plc):
                            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        pairs[client], pairs[plc] = plc, client
                        answers[plc] = bytearray()
                        selector.register(client, selectors.EVENT_READ, "client")
                        selector.register(plc, selectors.EVENT_READ, "plc")
                        continue
                    sock = key.fileobj
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        other = pairs.pop(sock)
                        pairs.pop(other, None)
                        for s in (sock, other):
                            selector.unregister(s)
                            answers.pop(s, None)
                            s.close()
                        continue
                    if key.data == "client":
                        pairs[sock].sendall(data)
                    else:
                        self._answers(answers[sock], data, pairs[sock])
        finally:
            for sock in list(pairs):
                sock.close()
            selector.close()
            self._listener.close()

    def _answers(self, buffer: bytearray, data: bytes, client: socket.socket) -> None:
        buffer += data
        while (length := rtu_answer_length(bytes(buffer))) is not None and len(buffer) >= length:
            frame = bytearray(buffer[:length])
            del buffer[:length]
            function = frame[1] & 0x7F
            roll = self._rng.random()
            if self.silent or roll < self.drop:
                self.dropped[function] = self.dropped.get(function, 0) + 1
                continue
            if roll < self.drop + self.corrupt:
                position = self._rng.randrange(3 if frame[1] in (1, 2, 3, 4) else 2, length)
                frame[position] ^= 1 << self._rng.randrange(8)
                self.corrupted[function] = self.corrupted.get(function, 0) + 1
            client.sendall(bytes(frame))
            self.forwarded += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
