"""Modbus RTU driver: literal register decoding, then a real pymodbus PLC behind a faulty line."""

from __future__ import annotations

import json
import socket

import pytest

from console.config import Source
from console.records import RecordParser, RejectedLine
from drivers import make_driver
from drivers.base import SourceMonitor, SourceThread
from drivers.modbus_rtu import (
    ModbusRtuDriver,
    PlcResult,
    decode_registers,
    encode_result,
    parts_missed,
    result_line,
)
from tests.drivers_helpers import IntakeCollector, Pty, record_line, wait_for
from tests.drivers_plc import CLASS_CODES, FaultyLine, PlcServer, expected_result

FEATURES = ("brightness", "contrast", "focus")


# -- pure helpers, literal registers ---------------------------------------------------------


def test_decode_registers_big_endian_words() -> None:
    registers = [0x0001, 0x0002, 1, 9715, 0x0000, 0x0101, 0, 0, 0, 0]
    registers += [0x3FC0, 0x0000, 0xC000, 0x0000, 0x42EB, 0x8000]  # 1.5, -2.0, 117.75
    result = decode_registers(registers, 3)
    assert result == PlcResult(65538, 1, 9715, 257, (1.5, -2.0, 117.75))


def test_decode_registers_little_endian_words() -> None:
    registers = [0x0002, 0x0001, 3, 10000, 0x0101, 0x0000, 0, 0, 0, 0, 0x0000, 0x3FC0]
    assert decode_registers(registers, 1, "little") == PlcResult(65538, 3, 10000, 257, (1.5,))


def test_encode_and_decode_are_inverse() -> None:
    result = PlcResult(4_000_000_000, 2, 5, 12345678, (0.58791, -3.25, 1e30))
    for order in ("big", "little"):
        back = decode_registers(encode_result(result, order), 3, order)
        assert back.counter == result.counter and back.batch == result.batch
        assert back.features[1] == -3.25


def test_decode_registers_refuses_a_short_block() -> None:
    with pytest.raises(ValueError, match="need 14"):
        decode_registers([0] * 13, 2)


def test_result_line_is_a_canonical_record() -> None:
    result = decode_registers(
        [0, 42, 1, 9715, 0, 7, 0, 0, 0, 0, 0x3FC0, 0, 0x42EB, 0x8000, 0x4316, 0xB852], 3
    )
    line = result_line(result, FEATURES, CLASS_CODES, "2026-03-02T06:00:03.651Z")
    record = json.loads(line)
    assert record == {
        "ts": "2026-03-02T06:00:03.651Z",
        "part": "42",
        "batch": "7",
        "class": "scratch",
        "conf": 0.9715,
        "features": {"brightness": 1.5, "contrast": 117.75, "focus": 150.72},
    }
    batch, bad = RecordParser(FEATURES).parse([line])
    assert len(batch) == 1 and not bad


def test_result_line_rejects_an_unmapped_class_code_and_non_finite_values() -> None:
    with pytest.raises(RejectedLine) as error:
        result_line(PlcResult(1, 9, 0, 0, ()), (), CLASS_CODES, "2026-03-02T06:00:03.651Z")
    assert error.value.reason == "bad_type"
    line = result_line(
        PlcResult(1, 0, 5000, 0, (float("nan"),)), ("x",), (), "2026-03-02T06:00:03.651Z"
    )
    _batch, bad = RecordParser(("x",)).parse([line])
    assert [r.reason for r in bad] == ["non_finite"]


def test_parts_missed_counts_jumps_and_wraps() -> None:
    assert parts_missed(5, 6) == 0
    assert parts_missed(5, 9) == 3
    assert parts_missed(2**32 - 1, 0) == 0
    assert parts_missed(2**32 - 2, 3) == 4
    assert parts_missed(10, 3) is None


# -- against a real PLC ----------------------------------------------------------------------


@pytest.fixture
def plc():
    server = PlcServer(len(FEATURES))
    yield server
    server.close()


@pytest.fixture
def collector():
    collector = IntakeCollector()
    yield collector
    collector.close()


def modbus_source(port: int, **options) -> Source:
    return Source(
        kind="modbus",
        name="plc",
        url=f"socket://127.0.0.1:{port}",
        class_codes=CLASS_CODES,
        poll_interval=options.pop("poll_interval", 0.0),
        **options,
    )


def start_driver(
    source: Source, collector: IntakeCollector, timeout: float = 0.05
) -> tuple[ModbusRtuDriver, SourceThread]:
    monitor = SourceMonitor(source.name, source.kind, source.url, collector.intake)
    driver = ModbusRtuDriver(source, monitor, FEATURES, response_timeout=timeout)
    thread = SourceThread(driver, first_retry=0.01)
    thread.start()
    return driver, thread


def check_records(lines: list[bytes]) -> list[int]:
    """Every record must be exactly what the PLC showed for its part number."""
    batch, bad = RecordParser(FEATURES, classes=CLASS_CODES).parse(lines)
    assert not bad
    parts = [int(p) for p in batch.part]
    for row, part in enumerate(parts):
        expected = expected_result(part, len(FEATURES))
        assert CLASS_CODES[batch.class_codes[row]] == CLASS_CODES[expected.class_code]
        assert batch.conf[row] == expected.conf_raw / 10000
        assert batch.batch[row] == str(expected.batch)
        assert tuple(batch.features[row]) == expected.features
    return parts


@pytest.mark.slow
def test_10000_polls_through_a_line_with_crc_errors_and_lost_answers(plc, collector) -> None:
    line = FaultyLine(plc.port, corrupt=0.05, drop=0.01, seed=3)
    driver, thread = start_driver(modbus_source(line.port), collector)
    try:
        wait_for(lambda: driver.polls >= 10_000, timeout=120, what="10,000 polls")
        line.corrupt = line.drop = 0.0
        faulted = driver.polls - driver.good_polls
        clean_from = driver.polls + 1  # the poll in flight may still carry an injected fault
        wait_for(lambda: driver.polls >= clean_from + 3)
        assert driver.polls - driver.good_polls <= faulted + 1
        assert thread.status().state == "connected"
    finally:
        thread.stop()
        line.close()
    parts = check_records(collector.lines)  # no corrupt value was accepted
    assert parts == sorted(parts) and len(parts) > 9_000
    crc_errors, timeouts = collector.count("crc_error"), collector.count("timeout")
    assert crc_errors == line.corrupted[3] > 400
    assert line.dropped[3] <= timeouts <= line.dropped[3] + 100  # + the odd scheduler hiccup
    gaps = sum(b - a - 1 for a, b in zip(parts, parts[1:], strict=False))
    assert 0 <= collector.count("missed_parts") - gaps <= 5  # counted before the first record
    assert dict(thread.status().errors)["crc_error"] == crc_errors


def test_silent_unit_goes_disconnected_and_is_healthy_within_3_polls(plc, collector) -> None:
    line = FaultyLine(plc.port)
    driver, thread = start_driver(
        modbus_source(line.port, poll_interval=0.02), collector, timeout=0.03
    )
    try:
        wait_for(lambda: driver.good_polls >= 5)
        line.silent = True
        wait_for(lambda: collector.count("disconnected") == 1, what="unit silent")
        assert thread.status().state == "reconnecting"
        first_clean = driver.polls + 1
        line.silent = False
        wait_for(lambda: thread.status().state == "connected", timeout=30)
        assert driver.polls - first_clean + 1 <= 3
        wait_for(lambda: collector.count("reconnected") == 1)
        lines_before = len(collector.lines)
        wait_for(lambda: len(collector.lines) > lines_before)
    finally:
        thread.stop()
        line.close()
    assert collector.count("timeout") >= 3
    check_records(collector.lines)


@pytest.mark.parametrize("coil", [0, 5])
def test_fallback_coil_is_written_and_read_back_while_polling(plc, collector, coil) -> None:
    driver, thread = start_driver(modbus_source(plc.port, fallback_coil=coil), collector)
    try:
        wait_for(lambda: driver.good_polls >= 3)
        assert driver.set_fallback(True) is True
        assert driver.read_fallback() is True
        assert plc.coil(coil) is True
        assert driver.set_fallback(False) is True
        assert driver.read_fallback() is False and plc.coil(coil) is False
        polls = driver.good_polls
        wait_for(lambda: driver.good_polls > polls + 3)  # polling carried on around it
    finally:
        thread.stop()


def test_fallback_survives_crc_errors_and_reports_a_silent_unit(plc, collector) -> None:
    line = FaultyLine(plc.port, corrupt=0.2, seed=5)
    driver, thread = start_driver(modbus_source(line.port, poll_interval=0.01), collector)
    try:
        wait_for(lambda: driver.good_polls >= 3)
        confirmed = [driver.set_fallback(i % 2 == 0, attempts=20) for i in range(20)]
        assert all(confirmed)
        assert plc.coil(0) is False
        line.silent = True
        errors = collector.count("error")
        assert driver.set_fallback(True) is False
        wait_for(lambda: collector.count("error") == errors + 1)
        assert "not confirmed" in [e for e in collector.events if e.kind == "error"][-1].detail
    finally:
        thread.stop()
        line.close()


def test_a_dead_unit_does_not_stall_other_sources(collector) -> None:
    with socket.create_server(("127.0.0.1", 0)) as mute:  # accepts, never answers
        source = modbus_source(mute.getsockname()[1], poll_interval=0.01)
        plc_thread = SourceThread(make_driver(source, collector.intake, FEATURES))
        pty = Pty()
        serial_thread = SourceThread(
            make_driver(Source(kind="serial", name="cam", url=pty.path), collector.intake)
        )
        plc_thread.start()
        serial_thread.start()
        try:
            wait_for(lambda: serial_thread.status().state == "connected")
            for i in range(50):
                pty.write(record_line(i) + b"\n")
                wait_for(lambda n=i + 1: len(collector.lines) == n, timeout=1)
            wait_for(lambda: collector.count("timeout") >= 3)
            assert plc_thread.status().state == "reconnecting"
        finally:
            plc_thread.stop(timeout=30.0)
            serial_thread.stop()
            pty.unplug()
    # Stopping does not hang on the dead unit's pending request: the thread is gone.
    assert not plc_thread.is_alive()
