"""The command line (WIRE.md §5): argument parsing and the commands that need no window.

`main.py` hands its arguments here. Commands run on the main thread; `headless` starts the
engine thread and the sources and waits for `--for`, SIGINT or SIGTERM. Bad arguments or an
unreadable file exit with status 2 and a one-line reason on stderr; anything read to its end
exits 0, whatever it contained.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, Protocol

from console.cli_evidence import EvidenceUsageError
from console.cli_evidence import add_parsers as add_evidence_parsers
from console.cli_evidence import run as run_evidence
from console.cli_people import PeopleUsageError, add_parsers
from console.cli_people import run as run_people
from console.cli_reference import add_reference_parser
from console.config import Config, ConfigError, default_config, demo_config, load_config
from console.records import MAX_LINE_BYTES
from console.replay import ReplayError
from console.replay_cli import add_commands as add_replay_commands
from console.replay_cli import run_export, run_replay

if TYPE_CHECKING:
    from console.alarms import AlarmEvent
    from console.engine import Engine

READ_HINT = 1 << 20  # bytes of lines read at a time
SQLITE_HEADER = b"SQLite format 3\x00"


class UsageError(Exception):
    """Bad arguments or an unreadable file: exit status 2 with this one-line reason."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py", description="Linewatch: the operations console of an AI inspection line."
    )
    parser.add_argument(
        "--config", help="station config (TOML); without it, the built-in simulated line"
    )
    parser.add_argument(
        "--replay", action="store_true", help="open the console on the store read-only (replay)"
    )
    parser.add_argument(
        "--store", help="with --replay: the store file to open (default: the config's [store] path)"
    )
    commands = parser.add_subparsers(dest="command")
    analyze = commands.add_parser(
        "analyze", help="run the live detectors over a recorded stream and print alarm events"
    )
    analyze.add_argument("stream", help="JSON Lines file of records, or - for standard input")
    analyze.add_argument(
        "--reference", help="JSON Lines file of reference records (the validation period)"
    )
    analyze.add_argument("--config", dest="sub_config", help="station config (TOML)")
    headless = commands.add_parser(
        "headless", help="the engine, store and sources without a window; alarms as JSON Lines"
    )
    headless.add_argument("--config", dest="sub_config", help="station config (TOML)")
    headless.add_argument("--for", dest="seconds", type=float, help="stop after this many seconds")
    _add_simulate(commands)
    add_replay_commands(commands)
    sync = commands.add_parser(
        "sync", help="push the outbox to the plant database once (--init: create its schema)"
    )
    sync.add_argument("--config", dest="sub_config", help="station config (TOML)")
    sync.add_argument(
        "--init", action="store_true", help="create or migrate the central schema and exit"
    )
    sync.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to keep retrying (default 60)"
    )
    add_reference_parser(commands)
    bench = commands.add_parser("bench", help="side-by-side benchmarks; prints rates and ratios")
    bench.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    bench.add_argument("--only", help="comma-separated benchmark names")
    add_parsers(commands)
    add_evidence_parsers(commands)
    return parser


def _add_simulate(commands: argparse._SubParsersAction) -> None:
    simulate = commands.add_parser(
        "simulate",
        help="write a simulated record stream to a file, serial port, TCP address or folder",
    )
    simulate.add_argument(
        "--to", default="-", help="file path, - (stdout), serial URL, tcp://host:port or dir:PATH"
    )
    simulate.add_argument(
        "--rate", type=float, default=0.0, help="records per second (0: as fast as possible)"
    )
    simulate.add_argument(
        "--scenario",
        default="stable",
        help="stable, drift, jump, frozen, noisy, demo; combine with +, e.g. drift+noisy",
    )
    simulate.add_argument(
        "--days",
        type=float,
        default=1.0,
        help="days of production to write (at --per-day parts a day)",
    )
    simulate.add_argument("--per-day", type=float, default=5000.0, help="parts a day")
    simulate.add_argument("--onset", type=float, help="day the scenario's fault begins (default 3)")
    simulate.add_argument("--seed", type=int, default=1)


def read_config(path: str | None, *, demo: bool = False) -> Config:
    """The station config at `path`; without one, the demo line (window, headless) or the
    defaults of WIRE.md §6 (analyze)."""
    if not path:
        return demo_config() if demo else default_config()
    try:
        return load_config(path)
    except OSError as error:
        raise UsageError(f"cannot read config {path}: {error.strerror or error}") from error
    except ConfigError as error:
        raise UsageError(str(error)) from error


def open_stream(path: str) -> BinaryIO:
    if path == "-":
        handle = sys.stdin.buffer
    else:
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed by the caller
        except OSError as error:
            raise UsageError(f"cannot read {path}: {error.strerror or error}") from error
    peek = getattr(handle, "peek", None)
    if peek is not None and peek(len(SQLITE_HEADER))[: len(SQLITE_HEADER)] == SQLITE_HEADER:
        handle.close()
        raise UsageError(
            f"{path} is a SQLite store, not a JSON Lines stream: export its records first"
            " (main.py export --format jsonl) and analyze the export"
        )
    return handle


def read_chunks(handle: BinaryIO) -> Iterator[list[bytes]]:
    """Lines in chunks, in bounded memory: a line longer than a record may be is handed on
    cut to just over the limit (the parser rejects it as too long) and its rest skipped."""
    limit = MAX_LINE_BYTES + 1
    carry = b""
    skipping = False
    while block := handle.read(READ_HINT):
        if skipping:
            cut = block.find(b"\n")
            if cut < 0:
                continue
            block, skipping = block[cut + 1 :], False
        lines = (carry + block).split(b"\n")
        carry = lines.pop()
        if len(carry) > limit:
            lines.append(carry[:limit])
            carry, skipping = b"", True
        if lines:
            yield lines
    if carry:
        yield [carry]


def use_reference_file(engine: Engine, path: str) -> None:
    """Give the engine a reference file; a bad one is a usage error (exit 2)."""
    with open_stream(path) as handle:
        lines = handle.readlines()
    try:
        skipped = engine.use_reference_lines(lines, f"reference file {path}")
    except ValueError as error:
        raise UsageError(f"{path}: {error}") from error
    if skipped:
        print(f"reference {path}: skipped {skipped} malformed lines", file=sys.stderr)


def warn_reference(engine: Engine, warned: bool) -> bool:
    """Once a reference exists: its health warnings as one JSON line on stderr (if any)."""
    if warned or engine.watch is None:
        return warned
    warnings = engine.watch.health.warnings
    if warnings:
        line = {"event": "reference_warning", "warnings": [w.wire() for w in warnings]}
        print(json.dumps(line, separators=(",", ":")), file=sys.stderr)
    return True


def say_categories(event: tuple[float, str, str, str]) -> None:
    """An input found to send text (watched as categories): one JSON line on stderr."""
    if event[1] == "categories":
        line = {"event": "categories", "source": event[2], "message": event[3]}
        print(json.dumps(line, separators=(",", ":")), file=sys.stderr)


def analyze(args: argparse.Namespace) -> int:
    from console.engine import Engine

    config = read_config(args.sub_config or args.config)
    out = sys.stdout
    write = out.write

    def on_event(event: AlarmEvent) -> None:
        if event.event in ("alarm_raised", "alarm_cleared"):
            write(json.dumps(event.wire(), separators=(",", ":")) + "\n")

    stream = open_stream(args.stream)
    started = time.perf_counter()
    engine = Engine(config, on_event=on_event)
    engine.on_system = say_categories
    ref_path = args.reference or config.reference.file
    if ref_path:
        use_reference_file(engine, ref_path)
    warned = warn_reference(engine, False)
    with stream:
        for lines in read_chunks(stream):
            for begin in range(0, len(lines), 4096):
                engine.feed_lines(lines[begin : begin + 4096])
                warned = warned or warn_reference(engine, warned)
    if engine.watch is not None:  # the input ended: its last partial micro-batch is watched too
        engine.watch_held(final=True)
    write(json.dumps(engine.summary(time.perf_counter() - started), separators=(",", ":")) + "\n")
    out.flush()
    return 0


def simulate(args: argparse.Namespace) -> int:
    from drivers.simulator import LineSimulator, Scenario

    try:
        scenario = Scenario.named(args.scenario, args.onset)
    except ValueError as error:
        raise UsageError(str(error)) from error
    simulator = LineSimulator(scenario, seed=args.seed, parts_per_day=args.per_day)
    total = int(args.days * args.per_day)
    sink = _open_sink(args.to)
    try:
        started = time.monotonic()
        done = 0
        chunk = 1000 if args.rate <= 0 else max(1, int(args.rate / 20))
        for lines in simulator.chunks(total, chunk):
            sink.write_lines(lines)
            done += len(lines)
            if args.rate > 0:
                ahead = done / args.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
    except BrokenPipeError:
        return 0
    except OSError as error:  # a serial port unplugged, a peer gone: one line, no traceback
        print(
            f"main.py simulate: {args.to} went away after {done} records: {error}", file=sys.stderr
        )
        return 1
    finally:
        with contextlib.suppress(OSError):  # closing a vanished port fails too
            sink.close()
    return 0


class LineSink(Protocol):
    """Where `simulate` writes its lines (a file here, or a driver's sink)."""

    def write_lines(self, lines: list[bytes]) -> None: ...

    def close(self) -> None: ...


class _FileSink:
    def __init__(self, path: str) -> None:
        self.handle = sys.stdout.buffer if path == "-" else open(path, "wb")  # noqa: SIM115

    def write_lines(self, lines: list[bytes]) -> None:
        self.handle.write(b"\n".join(lines) + b"\n")

    def close(self) -> None:
        self.handle.flush()
        if self.handle is not sys.stdout.buffer:
            self.handle.close()


def _open_sink(url: str) -> LineSink:
    plain = url == "-" or not ("://" in url or url.startswith("dir:") or url.startswith("/dev/"))
    if plain:
        try:
            return _FileSink(url)
        except OSError as error:
            raise UsageError(f"cannot write {url}: {error.strerror or error}") from error
    try:
        from drivers.sink import open_sink
    except ImportError as error:
        raise UsageError(f"cannot write to {url}: this build has no driver for it") from error
    try:
        return open_sink(url)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot open {url}: {error}") from error


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "analyze":
            return analyze(args)
        if args.command == "simulate":
            return simulate(args)
        if args.command == "headless":
            from console.runner import run_headless

            return run_headless(
                read_config(args.sub_config or args.config, demo=True), args.seconds
            )
        if args.command in ("replay", "export"):
            return _replay_or_export(args)
        if args.command in ("user", "audit"):
            return run_people(args, read_config(args.sub_config))
        if args.command in ("incidents", "export-incident", "report"):
            from widgets.record_pdf import write_pdf

            return run_evidence(args, read_config(args.sub_config), write_pdf)
        if args.command == "sync":
            from console.sync_command import run_sync

            return run_sync(read_config(args.sub_config or args.config), args.init, args.timeout)
        if args.command == "reference":
            from console.cli_reference import new_reference

            config = read_config(args.sub_config or args.config)
            return new_reference(config, args.source, args.user)
        if args.command == "bench":
            from bench.suite import run_benchmarks

            return run_benchmarks(quick=args.quick, only=args.only)
        if args.replay:
            return _open_replay_window(read_config(args.config, demo=True), args.store)
        return _open_window(read_config(args.config, demo=True))
    except (UsageError, ConfigError, PeopleUsageError, ReplayError, EvidenceUsageError) as error:
        print(f"main.py: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _reader_went_away()


def _reader_went_away() -> int:
    """The reader of stdout closed it (`analyze ... | head -1`): end quietly, no traceback.

    Python would try to flush stdout again at exit and complain; point it at /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def _replay_or_export(args: argparse.Namespace) -> int:
    config = read_config(args.sub_config or args.config)
    if args.command == "replay":
        return run_replay(args, config)
    try:
        from widgets.report import write_batch_report
    except ImportError:
        return run_export(args, config, None)
    return run_export(args, config, write_batch_report)


def _open_replay_window(config: Config, path: str | None = None) -> int:
    from widgets.display import display_problem

    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from widgets.replay_window import run_replay_console

    return run_replay_console(config, path)


def _open_window(config: Config) -> int:
    from widgets.display import display_problem  # standard library only: safe before Qt loads

    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    try:
        from widgets.main_window import run_console
    except ImportError:
        from console.runner import run_headless

        print(
            "The console window is not available in this build; running headless.", file=sys.stderr
        )
        return run_headless(config, None)
    return run_console(config)


if __name__ == "__main__":
    sys.exit(main())
