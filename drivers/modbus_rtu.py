"""Modbus RTU driver: polls the PLC's result registers (WIRE.md §3) and drives the fallback coil.

Each poll reads the whole result block (holding registers 0 … 9 + 2n for n features) in one request, so the
counter, class, confidence, batch and features come from one PLC scan. A changed part counter is a
new part: the block becomes one canonical JSON line (WIRE.md §1); a jump by more than one is a
`missed_parts` event with the number missed. CRC errors, timeouts and exception responses are
counted as events and the next poll simply tries again; three timeouts in a row mark the unit
silent (`disconnected`), the first good poll after that `reconnected`. A port that vanishes
raises and the SourceThread reopens it with backoff.

Framing and PDUs are pymodbus's own (`FramerRTU`, `DecodePDU`, the request classes); the
request/response exchange is done here rather than by `ModbusSerialClient`, because that client
folds a CRC error into a timeout (waits out the whole timeout, then retries) and swallows open
errors, while we must count each fault class and keep every poll within a bounded time so one
dead unit never stalls its thread for long. `decode_registers` and `result_line` are pure.
Polls run in the source's thread; `set_fallback` / `read_fallback` may be called from any
thread and share the port under a lock.
"""

from __future__ import annotations

import contextlib
import json
import math
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import serial
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import ReadCoilsRequest, WriteSingleCoilRequest
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest

from console.config import Source
from console.records import Rejected, RejectedLine
from drivers.base import Batch, Driver, SourceMonitor
from drivers.framing import utc_now_text
from drivers.serial_line import open_port, resolve_port

# WIRE.md §3 default map (0-based holding register addresses).
REG_COUNTER = 0
REG_CLASS = 2
REG_CONF = 3
REG_BATCH = 4
REG_FEATURES = 10
MAX_FEATURES = (125 - REG_FEATURES) // 2  # one read request carries at most 125 registers
SILENT_AFTER = 3  # unanswered polls in a row before the unit counts as gone


class ModbusFault(Exception):
    """One failed exchange; `kind` is the SourceEvent kind it is counted as."""

    kind = "error"


class ModbusTimeout(ModbusFault):
    kind = "timeout"


class ModbusCrcError(ModbusFault):
    kind = "crc_error"


class ModbusUnitError(ModbusFault):
    """The unit answered with a Modbus exception response or something unexpected."""

    kind = "error"


@dataclass(frozen=True, slots=True)
class PlcResult:
    """One result block as the PLC holds it."""

    counter: int
    class_code: int
    conf_raw: int
    batch: int
    features: tuple[float, ...]


def block_length(n_features: int) -> int:
    return REG_FEATURES + 2 * n_features


def _words_to_bytes(high_first: Sequence[int], word_order: str) -> bytes:
    words = high_first if word_order == "big" else tuple(reversed(high_first))
    return struct.pack(">HH", *words)


def decode_registers(
    registers: Sequence[int], n_features: int, word_order: str = "big"
) -> PlcResult:
    """The result block (holding registers from 0) → PlcResult; pure."""
    if len(registers) < block_length(n_features):
        raise ValueError(f"{len(registers)} registers, need {block_length(n_features)}")
    uint32 = struct.Struct(">I").unpack
    float32 = struct.Struct(">f").unpack
    counter = uint32(_words_to_bytes(registers[REG_COUNTER : REG_COUNTER + 2], word_order))[0]
    batch = uint32(_words_to_bytes(registers[REG_BATCH : REG_BATCH + 2], word_order))[0]
    features = tuple(
        float32(
            _words_to_bytes(registers[REG_FEATURES + 2 * k : REG_FEATURES + 2 * k + 2], word_order)
        )[0]
        for k in range(n_features)
    )
    return PlcResult(counter, registers[REG_CLASS], registers[REG_CONF], batch, features)


def encode_result(result: PlcResult, word_order: str = "big") -> list[int]:
    """PlcResult → registers: what a PLC writes (for tests and the simulator)."""

    def words(data: bytes) -> list[int]:
        high, low = struct.unpack(">HH", data)
        return [high, low] if word_order == "big" else [low, high]

    registers = [0] * block_length(len(result.features))
    registers[REG_COUNTER : REG_COUNTER + 2] = words(struct.pack(">I", result.counter))
    registers[REG_CLASS] = result.class_code
    registers[REG_CONF] = result.conf_raw
    registers[REG_BATCH : REG_BATCH + 2] = words(struct.pack(">I", result.batch))
    for k, value in enumerate(result.features):
        registers[REG_FEATURES + 2 * k : REG_FEATURES + 2 * k + 2] = words(struct.pack(">f", value))
    return registers


def result_line(
    result: PlcResult, features: Sequence[str], class_codes: Sequence[str], ts_text: str
) -> bytes:
    """One canonical JSON line for a PLC result; raises RejectedLine for an unmapped class code.

    Without `class_codes` the code itself is the class name. Non-finite floats are written as
    JSON NaN/Infinity so the record parser rejects the line (`non_finite`), as WIRE.md §1 says.
    """
    if class_codes:
        if result.class_code >= len(class_codes):
            raise RejectedLine("bad_type", f"class code {result.class_code} not in class_codes")
        name = class_codes[result.class_code]
    else:
        name = str(result.class_code)
    record = {
        "ts": ts_text,
        "part": str(result.counter),
        "batch": str(result.batch),
        "class": name,
        "conf": result.conf_raw / 10000,
        "features": {n: _float32_value(v) for n, v in zip(features, result.features, strict=True)},
    }
    return json.dumps(record, separators=(",", ":"), allow_nan=True).encode()


def _float32_value(value: float) -> float:
    # float32 → shortest decimal that round-trips through float32 (117.7, not 117.69999694824219).
    if not math.isfinite(value):
        return value
    for digits in range(6, 10):
        text = f"{value:.{digits}g}"
        if struct.unpack(">f", struct.pack(">f", float(text)))[0] == value:
            return float(text)
    return value


def parts_missed(last: int, counter: int) -> int | None:
    """Parts skipped between two different counter readings (uint32, wraps around).

    0 when `counter` is the next part; None when the counter went back (a PLC restart).
    """
    step = (counter - last) % (1 << 32)
    if step > 1 << 31:
        return None
    return step - 1


class RtuLink:
    """One request/response at a time over an open pyserial port, framed by pymodbus."""

    def __init__(self, port: serial.Serial, unit: int, timeout: float) -> None:
        self.port = port
        self.unit = unit
        self.timeout = timeout
        self.framer = FramerRTU(DecodePDU(False))
        self.lock = threading.Lock()

    def exchange(self, request: ModbusPDU, expected: int = 5) -> ModbusPDU:
        """Send `request`, return the unit's answer; `expected` is the usual answer's length."""
        request.dev_id = self.unit
        frame = self.framer.buildFrame(request)
        with self.lock:
            port = self.port
            if port.in_waiting:
                port.reset_input_buffer()  # the tail of an answer that came too late
            port.write(frame)
            deadline = time.monotonic() + self.timeout
            buffer = b""
            while True:
                # Ask for the whole expected answer at once: socket:// ports report at most one
                # byte waiting, and a frame read byte by byte costs a decode attempt per byte.
                data = port.read(max(port.in_waiting, expected - len(buffer), 1))
                if data:
                    buffer += data
                    used, dev_id, _tid, payload = self.framer.decode(buffer)
                    if used and payload:
                        if dev_id == self.unit:
                            return self._response(request, payload)
                        buffer = buffer[used:]  # another unit on the bus: keep listening
                    elif used:
                        raise ModbusCrcError(f"bad CRC in {buffer[:16].hex()}")
                if time.monotonic() >= deadline:
                    raise ModbusTimeout(
                        f"unit {self.unit}: no answer in {self.timeout * 1000:.0f} ms"
                    )

    def _response(self, request: ModbusPDU, payload: bytes) -> ModbusPDU:
        response = self.framer.decoder.decode(payload)
        if response is None:
            raise ModbusUnitError(f"undecodable answer {payload[:16].hex()}")
        if isinstance(response, ExceptionResponse):
            raise ModbusUnitError(
                f"unit {self.unit} refused function {request.function_code}: "
                f"exception code {response.exception_code}"
            )
        if response.function_code != request.function_code:
            raise ModbusUnitError(
                f"answer to function {response.function_code}, asked {request.function_code}"
            )
        return response


class ModbusRtuDriver(Driver):
    """Polls one PLC unit for inspection results; runs in its SourceThread (fallback: any thread)."""

    kind = "modbus"

    def __init__(
        self,
        source: Source,
        monitor: SourceMonitor,
        station_features: Sequence[str] = (),
        *,
        response_timeout: float | None = None,
    ) -> None:
        super().__init__(source, monitor)
        if len(station_features) > MAX_FEATURES:
            raise ValueError(f"at most {MAX_FEATURES} features fit one Modbus read")
        self.features = tuple(station_features)
        self.count = block_length(len(self.features))
        # A reply of ~(5 + 2 × count) bytes at 10 bits a byte, plus the PLC's turnaround.
        wire = (5 + 2 * self.count) * 10 / source.baudrate
        self.response_timeout = response_timeout or max(0.1, 3 * wire + 0.05)
        self.polls = 0
        self.good_polls = 0
        self._link: RtuLink | None = None
        self._link_lock = threading.Lock()
        self._last_counter: int | None = None
        self._failures = 0
        self._silent = False
        self._next_poll = 0.0

    def open(self) -> str:
        url = self.source.url
        device = resolve_port(url)
        port = open_port(
            self.source, min(0.01, self.response_timeout), write_timeout=self.response_timeout
        )
        with self._link_lock:
            self._link = RtuLink(port, self.source.unit, self.response_timeout)
        self._failures = 0
        self._silent = False
        return url if device == url else f"{url} -> {device}"

    def close(self) -> None:
        with self._link_lock:
            link, self._link = self._link, None
        if link is not None:
            with link.lock, contextlib.suppress(OSError, serial.SerialException):
                link.port.close()

    def read_batch(self, timeout: float) -> Batch:
        """Wait for the next poll time (at most `timeout`), then poll once."""
        now = time.monotonic()
        if now < self._next_poll:
            time.sleep(min(self._next_poll - now, timeout))
            if time.monotonic() < self._next_poll:
                return [], []
        self._next_poll = max(self._next_poll + self.source.poll_interval, time.monotonic())
        return self.poll()

    def poll(self) -> Batch:
        """One read of the result block; a new part becomes one line. Raises if the port is gone."""
        link = self._link
        if link is None:
            raise ConnectionError("port is not open")
        self.polls += 1
        try:
            response = link.exchange(
                ReadHoldingRegistersRequest(address=0, count=self.count), 5 + 2 * self.count
            )
            result = decode_registers(
                response.registers, len(self.features), self.source.word_order
            )
        except ModbusFault as fault:
            self._fault(fault)
            return [], []
        except (ValueError, struct.error) as error:  # a short block: the unit's map is wrong
            self._fault(ModbusUnitError(str(error)))
            return [], []
        self.good_polls += 1
        self._failures = 0
        if self._silent:
            self._silent = False
            self.monitor.set_state("connected", "")
            self.monitor.event("reconnected", f"unit {self.source.unit} answers again")
        return self._new_part(result)

    def _fault(self, fault: ModbusFault) -> None:
        self.monitor.event(fault.kind, str(fault))
        if not isinstance(fault, ModbusTimeout):
            self._failures = 0  # a garbled or refusing answer is still an answer
            return
        self._failures += 1
        if self._failures >= SILENT_AFTER and not self._silent:
            self._silent = True
            self.monitor.set_state("reconnecting", f"unit {self.source.unit} silent")
            self.monitor.event(
                "disconnected", f"unit {self.source.unit}: {self._failures} polls failed"
            )

    def _new_part(self, result: PlcResult) -> Batch:
        last, self._last_counter = self._last_counter, result.counter
        if last is None or last == result.counter:
            # No new part; the block on show at start-up may have been read before we came,
            # so it is the baseline rather than a part.
            return [], []
        missed = parts_missed(last, result.counter)
        if missed is None:
            self.monitor.event("error", f"part counter went back from {last} to {result.counter}")
        elif missed:
            self.monitor.event("missed_parts", f"counter {last} → {result.counter}", missed)
        try:
            line = result_line(result, self.features, self.source.class_codes, utc_now_text())
        except RejectedLine as error:
            raw = repr(result).encode()
            return [], [Rejected(raw, error.reason, error.detail, self.monitor.name)]
        return [line], []

    # -- fallback coil (any thread) -------------------------------------------------------

    def set_fallback(self, on: bool, attempts: int = 3) -> bool:
        """Write the fallback coil and read it back; True only when the PLC confirms `on`."""
        last_error = ""
        for _ in range(attempts):
            try:
                link = self._require_link()
                link.exchange(
                    WriteSingleCoilRequest(address=self.source.fallback_coil, bits=[on]), 8
                )
                if self._read_coil(link) == on:
                    return True
                last_error = "read-back differs"
            except (ModbusFault, ConnectionError, OSError, serial.SerialException) as error:
                last_error = str(error)
        self.monitor.event("error", f"fallback {'on' if on else 'off'} not confirmed: {last_error}")
        return False

    def read_fallback(self) -> bool:
        """The fallback coil as the PLC holds it; raises ModbusFault/ConnectionError if unreachable."""
        return self._read_coil(self._require_link())

    def _read_coil(self, link: RtuLink) -> bool:
        response = link.exchange(ReadCoilsRequest(address=self.source.fallback_coil, count=1), 6)
        return bool(response.bits[0])

    def _require_link(self) -> RtuLink:
        with self._link_lock:
            link = self._link
        if link is None:
            raise ConnectionError("PLC port is not open")
        return link
