"""Station configuration: TOML (tomllib) → frozen dataclasses.

This module owns the station config's schema and its loader. Every key has a default, so an empty
file (or none at all: `default_config()`) is a working simulated station. An unknown key, a wrong
type or a bad value raises `ConfigError`, which names the key (`source[1].baudrate`) and the fix.
Stable keys are those of WIRE.md §6; everything else may grow. Pure: read once at start-up.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCE_KINDS = ("serial", "modbus", "folder", "tcp", "simulator")
# The same rule as console/records.py FEATURE_NAME (WIRE.md §1); kept here so config stays pure.
FEATURE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")
# The time buckets hold four days (console/stats.py): no drift window can be longer.
LONGEST_DRIFT_WINDOW_HOURS = 96.0
SHORTEST_DRIFT_WINDOW_HOURS = 0.25


class ConfigError(ValueError):
    """A station config problem: which key, what is wrong, and how to fix it."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(f"config key '{key}': {problem}. Fix: {fix}")
        self.key = key
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class Station:
    id: str = "sim-line1"
    name: str = "Simulated line 1"
    model: str = "defnet-3.2"
    # The model's inputs, in matrix column order. Empty: learnt from the first record.
    features: tuple[str, ...] = ()
    # True: a record naming any other feature is rejected (WIRE.md §1).
    fixed_features: bool = False
    classes: tuple[str, ...] = ()
    # Inputs that take text values (channel, band, yes/no), watched as category shares
    # (console/categories.py). Empty: inferred from the first records' text values.
    categorical: tuple[str, ...] = ()
    # What operators should do and when: shown one tap away from override and escalate.
    decision_protocol: str = ""


@dataclass(frozen=True)
class Source:
    kind: str = "simulator"
    name: str = ""
    url: str = ""
    baudrate: int = 115200
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    format: str = "jsonl"
    fields: tuple[str, ...] = ()
    delimiter: str = ","
    checksum: bool = False
    # modbus
    unit: int = 1
    poll_interval: float = 0.1
    word_order: str = "big"
    class_codes: tuple[str, ...] = ()
    fallback_coil: int = 0
    timeout: float = 0.0  # modbus response timeout in s; 0 = from the baud rate and frame size
    # folder: seconds a file's size must stay unchanged before it is read
    settle: float = 1.0
    # tcp: listening on anything but loopback needs this set explicitly
    allow_remote: bool = False
    # tcp: clients at once (more are refused at accept and counted); a client silent this long
    # is disconnected, so idle connections cannot hold every slot
    max_clients: int = 64
    idle_seconds: float = 300.0
    # simulator
    scenario: str = "demo"
    rate: float = 100.0  # parts per second of wall-clock time
    parts_per_day: float = 1000.0  # simulated production: time runs rate × 86400 / this faster
    seed: int = 1


@dataclass(frozen=True)
class Store:
    path: str = "linewatch.db"


@dataclass(frozen=True)
class Reference:
    file: str = ""
    size: int = 10000


@dataclass(frozen=True)
class Sync:
    """The plant database (`check_sync` below checks the values; the password is never here)."""

    url: str = ""
    password_file: str = ""  # a file readable only by the service user; else PGPASSWORD/.pgpass
    sslmode: str = ""  # libpq's: require, verify-ca, verify-full, ...
    sslrootcert: str = ""  # the plant CA's certificate, for verify-ca / verify-full
    batch_rows: int = 20000  # outbox rows per central transaction
    stale_seconds: float = 3600.0  # no successful push for this long while rows wait: alarm
    retention_days: float = 90.0  # synced records older than this are purged locally
    journal_retention_days: float = 366.0  # overrides, alarms, incidents, audit (>= 183)
    connect_timeout: float = 10.0


@dataclass(frozen=True)
class Window:
    parts: int = 10000  # W, the rolling window of last parts
    batch: int = 100  # micro-batch size inside the engine


@dataclass(frozen=True)
class Detection:
    # Family-wise false-alarm budget: alarms expected per feature-year of stable production,
    # all of the feature's detectors together (console/budget.py shares it among them).
    false_alarms_per_year: float = 0.02
    # Slow-drift windows, in hours of production, scanned by the mean-shift detector.
    drift_windows_hours: tuple[float, ...] = (24.0, 36.0, 48.0)
    # A step of this many sd should be found by the jump CUSUM within a few dozen parts.
    jump_sd: float = 2.0
    # A jump is a step against the line's recent level: the level follows with this half-life.
    jump_baseline_parts: float = 1000.0
    stuck_parts: int = 0  # 0 = calibrated from the reference
    stale_seconds: float = 60.0
    rejected_fraction: float = 0.005  # over the last 1,000 lines
    missing_fraction: float = 0.05
    out_of_range_fraction: float = 0.02
    # A record stamped more than this ahead of the stream's own recent time is rejected
    # (`ts_implausible`, console/stream_time.py): 5 minutes covers clock skew between cameras.
    future_margin_seconds: float = 300.0


@dataclass(frozen=True)
class AlarmClass:
    """On-delay, off-delay and deadband of one detector's alarms (negative: the station's)."""

    detector: str = ""
    on_delay_parts: int = -1
    off_delay_parts: int = -1
    deadband: float = -1.0


@dataclass(frozen=True)
class Alarms:
    on_delay_parts: int = 0
    off_delay_parts: int = 500
    deadband: float = 0.2  # clear below (1 - deadband) × threshold
    classes: tuple[AlarmClass, ...] = ()
    # Chattering (ISA-18.2): this many raises within the window hold the alarm raised until its
    # condition has been gone for min_active_seconds.
    chatter_cycles: int = 3
    chatter_window_seconds: float = 60.0
    min_active_seconds: float = 60.0


@dataclass(frozen=True)
class Access:
    idle_lock_seconds: float = 300.0  # auto-lock after this long without a touch


@dataclass(frozen=True)
class EscalationLevel:
    role: str = "operations_lead"  # product_owner | data_owner | model_owner | control_owner | operations_lead
    people: tuple[str, ...] = ()  # named people; empty: the [people] entry of the role
    response_minutes: float = 0.0  # 0: the severity's people.sla_minutes


@dataclass(frozen=True)
class Escalation:
    """One playbook entry: the alarm kinds (detectors) it covers and its levels in order."""

    kinds: tuple[str, ...] = ("*",)
    level: tuple[EscalationLevel, ...] = (EscalationLevel(),)
    renotify_minutes: float = 30.0


@dataclass(frozen=True)
class Notify:
    """A local command that delivers notifications (argv, run without a shell)."""

    command: tuple[str, ...] = ()
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class People:
    """The named people of the AI-operations playbook; every escalation routes to one of them."""

    product_owner: str = "Product owner"
    data_owner: str = "Data owner"
    model_owner: str = "Model owner"
    control_owner: str = "Control owner"
    operations_lead: str = "Operations lead"
    responsible_person: str = "Operations lead"  # the EU AI Act's designated person
    # Response time (minutes) by severity: low, medium, high, urgent.
    sla_minutes: tuple[float, ...] = (1440.0, 240.0, 60.0, 15.0)


@dataclass(frozen=True)
class Console:
    """The console window on the station's screen."""

    fullscreen: bool = False  # kiosk stations: the window takes the whole screen
    # The station's time zone (IANA name, e.g. "Europe/Berlin"); empty = the machine's own.
    timezone: str = ""


@dataclass(frozen=True)
class Release:
    """What the model owner confirms, signed, before a new model version counts as released."""

    checklist: tuple[str, ...] = (
        "validation report reviewed",
        "reference still representative",
        "rollback to the previous version possible",
    )


@dataclass(frozen=True)
class Costs:
    """What an intervention costs, for the operations metrics and the weekly review."""

    hourly_rate: float = 60.0  # people handling overrides and incidents
    manual_inspection_hourly_rate: float = 45.0  # inspectors while the fallback is on
    minutes_per_override: float = 2.0
    minutes_per_incident: float = 30.0
    currency: str = "EUR"


@dataclass(frozen=True)
class Policy:
    """Incidents the console opens by itself, so nothing waits for someone to press Escalate."""

    on_drift: bool = True  # a drift alarm of one of `drift_priorities` opens an incident at once
    drift_priorities: tuple[str, ...] = ("high", "urgent")
    on_unacknowledged: bool = True  # any alarm unacknowledged past its response time


@dataclass(frozen=True)
class FallbackRule:
    """When alarms of `priority` stay unacknowledged `unacknowledged_minutes`, the console
    recommends the fallback, or switches it itself where `switch` is true (control owner's call)."""

    priority: str = "urgent"  # low | medium | high | urgent: this priority and above
    kinds: tuple[str, ...] = ("*",)  # detector names, "*" for any
    unacknowledged_minutes: float = 10.0
    switch: bool = False


@dataclass(frozen=True)
class Fallback:
    """Manual inspection (EU AI Act Art. 14(4) "stop"): the Modbus fallback coil of the first
    modbus source, read back to confirm; without one the screen tells people what to do."""

    instruction: str = "Route every part to manual inspection now."
    rule: tuple[FallbackRule, ...] = (FallbackRule(),)


@dataclass(frozen=True)
class Config:
    station: Station = field(default_factory=Station)
    source: tuple[Source, ...] = (Source(),)
    store: Store = field(default_factory=Store)
    reference: Reference = field(default_factory=Reference)
    sync: Sync = field(default_factory=Sync)
    window: Window = field(default_factory=Window)
    detection: Detection = field(default_factory=Detection)
    alarms: Alarms = field(default_factory=Alarms)
    people: People = field(default_factory=People)
    access: Access = field(default_factory=Access)
    playbook: tuple[Escalation, ...] = ()
    notify: Notify = field(default_factory=Notify)
    console: Console = field(default_factory=Console)
    fallback: Fallback = field(default_factory=Fallback)
    policy: Policy = field(default_factory=Policy)
    costs: Costs = field(default_factory=Costs)
    release: Release = field(default_factory=Release)
    path: str = ""


# The inputs and classes of the built-in simulated line (drivers/simulator.py models them; a
# test keeps the two in step, so that config, a leaf, need not import the simulator).
DEMO_FEATURES = (
    "brightness", "contrast", "focus", "edge_density", "hue", "saturation", "part_width",
    "temperature",
)  # fmt: skip
DEMO_CLASSES = ("ok", "scratch", "dent", "stain")


def default_config() -> Config:
    """Every key at its default (WIRE.md §6): what a station file that sets nothing means."""
    return Config()


def demo_config() -> Config:
    """The built-in simulated station of `main.py` without --config: nothing is needed to start.

    A demo line of 1,000 parts a simulated day, played at 100 parts a second: two days of
    reference in 20 s, then a drift that the console catches about a minute after start."""
    return Config(
        source=(Source(kind="simulator", scenario="demo"),),
        station=Station(features=DEMO_FEATURES, classes=DEMO_CLASSES),
        reference=Reference(size=2000),
        window=Window(parts=2000, batch=50),
        store=Store(path=""),
    )


def load_config(path: str | Path) -> Config:
    """Read a station TOML file; raises ConfigError naming the key, or OSError."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            str(path), f"not valid TOML ({error})", "correct the TOML syntax"
        ) from error
    return parse_config(raw, base=path.parent, origin=str(path))


def parse_config(raw: dict[str, Any], *, base: Path = Path("."), origin: str = "") -> Config:
    config = _build(Config, {k: v for k, v in raw.items()}, "")
    config = dataclasses.replace(config, path=origin)
    _check(config)
    return _resolve_paths(config, base)


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(prefix or "(top)", "must be a table", f"write it as [{prefix}]")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if not (cls is Config and f.name == "path")}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}.{key}" if prefix else key
        if key not in known:
            choices = ", ".join(sorted(known))
            raise ConfigError(name, "is not a known key", f"remove it or use one of: {choices}")
        values[key] = _convert(hints[key], value, name)
    return cls(**values)


def _convert(hint: Any, value: Any, name: str) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, name)
    if origin is tuple:
        (item, *_rest) = typing.get_args(hint)
        if isinstance(item, type) and dataclasses.is_dataclass(item):
            if isinstance(value, dict):
                value = [value]
            if not isinstance(value, list):
                raise ConfigError(name, "must be a list of tables", f"write [[{name}]] entries")
            return tuple(_build(item, entry, f"{name}[{i + 1}]") for i, entry in enumerate(value))
        if not isinstance(value, list):
            raise ConfigError(name, f"must be a list, not {value!r}", f"write {name} = [...]")
        return tuple(_convert(item, entry, f"{name}[{i + 1}]") for i, entry in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint is float and type(value) is int:
        return float(value)
    if type(value) is not hint:
        example = {str: '"text"', int: "100", float: "1.5", bool: "true"}.get(hint, "")
        raise ConfigError(
            name,
            f"must be {hint.__name__}, not {type(value).__name__} {value!r}",
            f"write e.g. {name.rsplit('.', 1)[-1]} = {example}",
        )
    return value


def _check(config: Config) -> None:
    _check_sources(config)
    _check_numbers(config)
    if config.console.timezone and not _known_zone(config.console.timezone):
        raise ConfigError(
            "console.timezone",
            f"unknown time zone {config.console.timezone!r}",
            'use an IANA name such as "Europe/Berlin", or leave it empty for the machine\'s own',
        )
    check_sync(config.sync)
    _check_evidence(config)
    if len(config.station.features) > 256:
        raise ConfigError(
            "station.features", "more than 256 features", "list at most 256 (WIRE.md §1)"
        )
    for i, name in enumerate(config.station.features, start=1):
        if not FEATURE_NAME.match(name):
            raise ConfigError(
                f"station.features[{i}]",
                f"{name!r} is not a feature name (letters, digits, _ . - ; 1-64 characters)",
                f"write it as {re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:64] or 'feature1'!r}",
            )
    _check_categorical(config.station)
    for i, name in enumerate(config.station.classes, start=1):
        if not 1 <= len(name) <= 64 or not name.isprintable():
            raise ConfigError(
                f"station.classes[{i}]",
                f"{name!r} is not a class name of 1-64 printable characters",
                'write the class as the model names it, e.g. "scratch"',
            )

    _check_people(config)


def _check_categorical(station: Station) -> None:
    """`[station] categorical`: feature names, each once, among `features` where those are set."""
    seen: set[str] = set()
    for i, name in enumerate(station.categorical, start=1):
        key = f"station.categorical[{i}]"
        if not FEATURE_NAME.match(name):
            raise ConfigError(
                key,
                f"{name!r} is not a feature name (letters, digits, _ . - ; 1-64 characters)",
                'list input names as the records send them, e.g. categorical = ["channel"]',
            )
        if station.features and name not in station.features:
            raise ConfigError(
                key,
                f"{name!r} is not in station.features",
                f"add {name!r} to station.features, or remove it from station.categorical",
            )
        if name in seen:
            raise ConfigError(key, f"{name!r} is listed twice", "list each input once")
        seen.add(name)


def _check_evidence(config: Config) -> None:
    levels = ("low", "medium", "high", "urgent")
    for i, rule in enumerate(config.fallback.rule):
        minutes = f"fallback.rule[{i}].unacknowledged_minutes"
        _within(minutes, rule.unacknowledged_minutes, 0.0, 10_080.0, "use e.g. 10")
        if rule.priority not in levels:
            raise ConfigError(
                f"fallback.rule[{i}].priority", f"unknown priority {rule.priority!r}",
                f"use one of {', '.join(levels)}",
            )  # fmt: skip
    unknown = [p for p in config.policy.drift_priorities if p not in levels]
    if unknown:
        raise ConfigError(
            "policy.drift_priorities", f"unknown priority {unknown[0]!r}",
            f"use some of {', '.join(levels)}",
        )  # fmt: skip


def _check_sources(config: Config) -> None:
    for i, source in enumerate(config.source, start=1):
        key = f"source[{i}]"
        if source.kind not in SOURCE_KINDS:
            raise ConfigError(
                f"{key}.kind",
                f"unknown kind {source.kind!r}",
                f"use one of {', '.join(SOURCE_KINDS)}",
            )
        if source.kind in ("serial", "modbus", "folder", "tcp") and not source.url:
            raise ConfigError(
                f"{key}.url", "is required for this kind", "give the port, address or folder"
            )
        if source.format not in ("jsonl", "delimited"):
            raise ConfigError(
                f"{key}.format", f"unknown format {source.format!r}", 'use "jsonl" or "delimited"'
            )
        if source.format == "delimited" and not source.fields:
            raise ConfigError(
                f"{key}.fields",
                "is required for delimited text",
                'list the field order, e.g. ["part","class","conf","brightness"]',
            )
        if source.parity not in ("N", "E", "O", "M", "S"):
            raise ConfigError(
                f"{key}.parity",
                f"unknown parity {source.parity!r}",
                'use "N", "E", "O", "M" or "S"',
            )
        if source.word_order not in ("big", "little"):
            raise ConfigError(
                f"{key}.word_order",
                f"unknown word order {source.word_order!r}",
                'use "big" or "little"',
            )
        _check_source_numbers(source, key)


PLAYBOOK_ROLES = ("product_owner", "data_owner", "model_owner", "control_owner", "operations_lead")


def _check_people(config: Config) -> None:
    if config.access.idle_lock_seconds < 10:
        raise ConfigError(
            "access.idle_lock_seconds", "is below 10 s", "use e.g. 300 (five minutes)"
        )
    for i, entry in enumerate(config.playbook, start=1):
        if not entry.level:
            raise ConfigError(
                f"playbook[{i}].level", "is empty", "add at least one [[playbook.level]]"
            )
        for k, level in enumerate(entry.level, start=1):
            if level.role not in PLAYBOOK_ROLES:
                raise ConfigError(
                    f"playbook[{i}].level[{k}].role",
                    f"unknown role {level.role!r}",
                    f"use one of {', '.join(PLAYBOOK_ROLES)}",
                )
            if level.response_minutes < 0:
                raise ConfigError(
                    f"playbook[{i}].level[{k}].response_minutes", "is negative", "use e.g. 15"
                )
    if config.notify.command and config.notify.timeout_seconds <= 0:
        raise ConfigError("notify.timeout_seconds", "must be positive", "use e.g. 10")


def _within(
    key: str, value: float, low: float, high: float, fix: str, *, above: bool = False
) -> None:
    """`low <= value <= high` (`low < value` when `above`), and finite; else a ConfigError whose
    message states exactly that check."""
    ok = math.isfinite(value) and (low < value if above else low <= value) and value <= high
    if not ok:
        bound = f"greater than {low:g}" if above else f"at least {low:g}"
        raise ConfigError(
            key, f"{value!r} is out of range: it must be {bound} and at most {high:g}", fix
        )


# (key, low, high, low excluded, fix): what `_within` checks for each numeric key.
SOURCE_RANGES: tuple[tuple[str, float, float, bool, str], ...] = (
    ("baudrate", 50, 4_000_000, False, "use e.g. baudrate = 115200"),
    ("bytesize", 5, 8, False, "use bytesize = 8"),
    ("unit", 0, 247, False, "use the PLC's Modbus unit id, e.g. unit = 1"),
    ("poll_interval", 0.0, 60.0, True, "use e.g. poll_interval = 0.1"),
    ("fallback_coil", 0, 65535, False, "use e.g. fallback_coil = 0"),
    ("timeout", 0.0, 60.0, False, "use 0 (from the baud rate) or e.g. 0.5"),
    ("settle", 0.0, 3600.0, False, "use e.g. settle = 1.0"),
    ("rate", 0.0, 1_000_000.0, True, "use e.g. rate = 20"),
    ("parts_per_day", 0.0, 1e9, True, "use e.g. parts_per_day = 5000"),
    ("max_clients", 1, 1000, False, "use e.g. max_clients = 64"),
    ("idle_seconds", 0.0, 86400.0, True, "use e.g. idle_seconds = 300"),
)
RANGES: tuple[tuple[str, float, float, bool, str], ...] = (
    ("reference.size", 100, 10_000_000, False, "use e.g. size = 10000 (at least 100)"),
    ("window.parts", 100, 1_000_000, False, "use e.g. parts = 10000 (100 to 1,000,000)"),
    ("detection.false_alarms_per_year", 0.0, 100.0, True, "use e.g. 0.02"),
    ("detection.jump_sd", 0.0, 20.0, True, "use e.g. jump_sd = 2.0"),
    ("detection.jump_baseline_parts", 10.0, 1e7, False, "use e.g. jump_baseline_parts = 1000"),
    ("detection.stuck_parts", 0, 1_000_000, False, "use 0 (from the reference) or e.g. 50"),
    ("detection.stale_seconds", 0.0, 86400.0, True, "use e.g. stale_seconds = 60"),
    ("detection.rejected_fraction", 0.0, 1.0, True, "use a fraction, e.g. 0.005"),
    ("detection.missing_fraction", 0.0, 1.0, True, "use a fraction, e.g. 0.05"),
    ("detection.out_of_range_fraction", 0.0, 1.0, True, "use a fraction, e.g. 0.02"),
    ("detection.future_margin_seconds", 1.0, 31_536_000.0, False, "use e.g. 300"),
    ("alarms.on_delay_parts", 0, 1_000_000, False, "use e.g. on_delay_parts = 0"),
    ("alarms.off_delay_parts", 0, 1_000_000, False, "use e.g. off_delay_parts = 500"),
    # 1 or more would put the clear level at or below zero: the alarm could never clear.
    ("alarms.deadband", 0.0, 0.9, False, "use e.g. deadband = 0.2"),
    ("costs.hourly_rate", 0.0, 1e6, False, "use e.g. hourly_rate = 60"),
    ("costs.manual_inspection_hourly_rate", 0.0, 1e6, False, "use e.g. 45"),
    ("costs.minutes_per_override", 0.0, 1440.0, False, "use e.g. minutes_per_override = 2"),
    ("costs.minutes_per_incident", 0.0, 100_000.0, False, "use e.g. minutes_per_incident = 30"),
)


def _check_source_numbers(source: Source, key: str) -> None:
    for name, low, high, above, fix in SOURCE_RANGES:
        _within(f"{key}.{name}", getattr(source, name), low, high, fix, above=above)
    if source.stopbits not in (1, 1.5, 2):
        raise ConfigError(
            f"{key}.stopbits", f"{source.stopbits!r} is not 1, 1.5 or 2", "use stopbits = 1"
        )


def _check_numbers(config: Config) -> None:
    """Every numeric key in a range the engine can work with (issue 8: no crash, no silence)."""
    for key, low, high, above, fix in RANGES:
        section, name = key.split(".")
        _within(key, getattr(getattr(config, section), name), low, high, fix, above=above)
    batch_fix = "use e.g. batch = 100 (at most window.parts)"
    _within("window.batch", config.window.batch, 1, config.window.parts, batch_fix)
    hours = config.detection.drift_windows_hours
    if not hours:
        raise ConfigError(
            "detection.drift_windows_hours", "is empty", "list at least one, e.g. [24.0, 48.0]"
        )
    for i, value in enumerate(hours, start=1):
        _within(
            f"detection.drift_windows_hours[{i}]",
            value,
            SHORTEST_DRIFT_WINDOW_HOURS,
            LONGEST_DRIFT_WINDOW_HOURS,
            "use hours of production between 0.25 and 96, e.g. [24.0, 36.0, 48.0]",
        )
    sla = config.people.sla_minutes
    if len(sla) != 4:
        raise ConfigError(
            "people.sla_minutes",
            f"has {len(sla)} values, not 4 (low, medium, high, urgent)",
            "write e.g. sla_minutes = [1440.0, 240.0, 60.0, 15.0]",
        )
    for i, minutes in enumerate(sla, start=1):
        _within(
            f"people.sla_minutes[{i}]",
            minutes,
            0.0,
            525_600.0,
            "use minutes, e.g. 60.0",
            above=True,
        )


def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
PASSWORD_FIX = "remove it; give the password in PGPASSWORD, a ~/.pgpass or [sync] password_file"


def check_sync(sync: Sync) -> None:
    """ConfigError naming the [sync] key when a value cannot work (no file system access)."""
    if not sync.url:
        return
    # Imported here, not at the top: config is a leaf that every module imports, and only a
    # station with a plant database needs libpq's own parser (which keeps a bad URL a config
    # error naming `sync.url` at load time, not a surprise of the sync thread hours later).
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(sync.url)
    except psycopg.ProgrammingError as error:
        raise ConfigError(
            "sync.url",
            f"not a PostgreSQL URL ({error})",
            'write e.g. url = "postgresql://linewatch@db.plant.local/linewatch"',
        ) from error
    if params.get("password"):
        raise ConfigError("sync.url", "contains a password", PASSWORD_FIX)
    if sync.sslmode and sync.sslmode not in SSL_MODES:
        raise ConfigError(
            "sync.sslmode", f"unknown mode {sync.sslmode!r}", f"use one of {', '.join(SSL_MODES)}"
        )
    if not 1 <= sync.batch_rows <= 1_000_000:
        raise ConfigError("sync.batch_rows", "must be in 1..1000000", "use e.g. 20000")
    if sync.stale_seconds <= 0:
        raise ConfigError("sync.stale_seconds", "must be positive", "use e.g. 3600 (one hour)")
    if sync.retention_days <= 0:
        raise ConfigError(
            "sync.retention_days", "must be positive", "use e.g. 90 (days of synced records)"
        )
    if sync.journal_retention_days < 183:
        raise ConfigError(
            "sync.journal_retention_days",
            f"{sync.journal_retention_days:g} days is shorter than the 183 days (six months) "
            "the EU AI Act asks logs to be kept",
            "use 183 or more",
        )
    if sync.connect_timeout <= 0:
        raise ConfigError("sync.connect_timeout", "must be positive", "use e.g. 10 (seconds)")


def _resolve_paths(config: Config, base: Path) -> Config:
    """Relative paths in the config are relative to the config file's folder."""

    def resolve(text: str) -> str:
        return text if not text or Path(text).is_absolute() else str(base / text)

    return dataclasses.replace(
        config,
        store=Store(path=resolve(config.store.path)),
        sync=dataclasses.replace(
            config.sync,
            password_file=resolve(config.sync.password_file),
            sslrootcert=config.sync.sslrootcert
            if config.sync.sslrootcert == "system"
            else resolve(config.sync.sslrootcert),
        ),
        reference=dataclasses.replace(config.reference, file=resolve(config.reference.file)),
        source=tuple(
            dataclasses.replace(s, url=resolve(s.url)) if s.kind == "folder" else s
            for s in config.source
        ),
    )
