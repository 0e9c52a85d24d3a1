"""Who may act: PIN and badge login, growing delays, idle lock, and the permission matrix proved
through the station's own commands against a real store."""

import time
from dataclasses import replace

import pytest

from console.actions import Acknowledge, CommandRefused, Escalate, Override
from console.auth import (
    Authenticator,
    LoginRefused,
    MemoryDirectory,
    NotPermitted,
    Session,
    SessionLocked,
)
from console.config import demo_config
from console.runner import Station
from data import audit
from drivers.simulator import LineSimulator, Scenario

# What each role may do, written out here independently of console/auth.py's table.
EXPECTED = {
    "operator": {"override", "escalate", "fallback"},
    "shift_lead": {"override", "acknowledge", "shelve", "escalate", "incident", "fallback"},
    "quality_engineer": {
        "override",
        "acknowledge",
        "escalate",
        "incident",
        "new_reference",
        "audit",
    },
    "admin": {
        "override",
        "acknowledge",
        "shelve",
        "escalate",
        "incident",
        "new_reference",
        "configuration",
        "fallback",
        "user_management",
        "audit",
    },
}
PINS = {"operator": "1111", "shift_lead": "2222", "quality_engineer": "3333", "admin": "9999"}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def people():
    clock = Clock()
    auth = Authenticator(MemoryDirectory(), clock=clock, idle_lock_seconds=300)
    auth.create_first_admin("ada", "9999", badge="BADGE-0042")
    return auth, clock


def test_a_wrong_pin_is_refused_and_each_failure_doubles_the_wait(people):
    auth, clock = people
    with pytest.raises(LoginRefused, match="wait 1 s"):
        auth.login("ada", "0000")
    with pytest.raises(LoginRefused, match="try again"):
        auth.login("ada", "9999")  # even the right PIN waits
    clock.now += 1.1
    with pytest.raises(LoginRefused, match="wait 2 s"):
        auth.login("ada", "0001")
    clock.now += 2.1
    with pytest.raises(LoginRefused, match="wait 4 s"):
        auth.login("ada", "0002")
    clock.now += 4.1
    assert auth.login("ada", "9999").role == "admin"
    assert auth.login("ada", "9999")  # a success resets the delay
    assert auth.directory.entries[-1].action == "login"
    assert [e.action for e in auth.directory.entries].count("login_failed") == 3


def test_badge_login_and_unknown_badge(people):
    auth, _clock = people
    assert auth.badge_login("BADGE-0042\n").user == "ada"
    with pytest.raises(LoginRefused):
        auth.badge_login("BADGE-9999")


def test_idle_session_locks_itself_and_a_user_switch_is_a_login(people):
    auth, clock = people
    session = auth.login("ada", "9999")
    auth.add_user(session, "olga", "operator", "1111")
    clock.now += 299
    auth.check(session, "override")  # activity keeps it alive
    clock.now += 301
    with pytest.raises(SessionLocked):
        auth.check(session, "override")
    assert auth.directory.entries[-1].action == "lock"
    other = auth.login("olga", "1111")
    assert (other.user, other.role) == ("olga", "operator")
    assert [e.user for e in auth.directory.entries if e.action == "login"][-1] == "olga"


def test_a_session_built_by_hand_is_refused(people):
    auth, _clock = people
    forged = Session("mallory", "admin", time.time(), "mallory\0abc")
    with pytest.raises(SessionLocked):
        auth.check(forged, "user_management")


def test_a_disabled_user_cannot_log_in_and_signatures_need_the_pin(people):
    auth, _clock = people
    admin = auth.login("ada", "9999")
    auth.add_user(admin, "bo", "shift_lead", "2222")
    lead = auth.login("bo", "2222")
    with pytest.raises(LoginRefused):
        auth.sign(lead, "shelve", "0000", "responsibility")
    with pytest.raises(NotPermitted, match="means one of"):
        auth.sign(lead, "shelve", "2222", "because")
    auth.disable_user(admin, "bo")
    with pytest.raises(SessionLocked):
        auth.check(lead, "shelve")  # disabling ends the live session too
    with pytest.raises(LoginRefused):
        auth.login("bo", "2222")


def test_pins_are_digits_and_never_in_the_audit(people):
    auth, _clock = people
    admin = auth.login("ada", "9999")
    with pytest.raises(LoginRefused, match="digits"):
        auth.add_user(admin, "kim", "operator", "12ab")
    auth.add_user(admin, "kim", "operator", "48213957")
    text = repr(auth.directory.entries) + repr(auth.directory.users())
    assert "48213957" not in text and "$argon2id$" not in text
    assert auth.user("kim").pin_hash.startswith("$argon2id$")


@pytest.fixture
def station(tmp_path):
    station = Station(demo_config(), store_path=str(tmp_path / "line.db"), sources=False)
    station.first_admin("admin", PINS["admin"])
    for role, pin in PINS.items():
        if role != "admin":
            station.add_user(role, role, pin)
    yield station
    station.stop()


def reference_lines() -> list[bytes]:
    return LineSimulator(Scenario.named("stable"), seed=3, parts_per_day=1000).lines(300)


def attempt(station: Station, command: str, role: str, n: int) -> None:
    """Give `command` through the station's core API as the logged-in `role`."""
    pin = PINS[role]
    alarm = f"source:cam{n}"
    station.engine.alarms.trip(
        "source", f"cam{n}", value=1, priority="high", seq=0, ts="", message="lost"
    )
    if command == "override":
        station.override(Override(f"P{n}", "ok", "dent", "misclassified", user="x"))
    elif command == "acknowledge":
        station.acknowledge(Acknowledge(alarm, user="x", note="seen"))
    elif command == "shelve":
        station.shelve(alarm, "maintenance", 30, pin, "responsibility")
    elif command == "escalate":
        station.escalate(Escalate("looks wrong", "low", user="x"))
    elif command == "incident":
        incident = station.escalate(
            Escalate("for the matrix", "low", user="x"),
            station.people.login("admin", PINS["admin"]),
        )
        station.move_incident(incident.id, "acknowledge", "on it")
    elif command == "new_reference":
        station.new_reference(reference_lines(), "signed test reference", pin, "approval")
    elif command == "configuration":
        station.configure("alarms.deadband", 0.25, "tuning", pin, "approval")
    elif command == "fallback":
        station.set_fallback(True, "checking by hand")
    elif command == "user_management":
        station.add_user(f"new{n}", "operator", "5555")
    elif command == "audit":
        station.export_audit(str(station.store.path) + f".{n}.csv")
    else:
        raise AssertionError(command)


def test_each_role_may_do_exactly_what_the_matrix_says(station, tmp_path):
    n = 0
    for role, allowed in EXPECTED.items():
        for command in sorted(EXPECTED["admin"]):
            n += 1
            station.login(role, PINS[role])
            if command in allowed:
                attempt(station, command, role, n)
            else:
                with pytest.raises(NotPermitted, match="may not"):
                    attempt(station, command, role, n)
    verdict = audit.verify_trail(tmp_path / "line.db")
    assert verdict.ok and verdict.entries > 20
    actions = [r["action"] for r in audit.trail(tmp_path / "line.db", limit=10_000)]
    for action in ("override", "alarm_acknowledged", "alarm_shelved", "incident_open",
                   "incident_acknowledge", "new_reference", "configuration", "fallback",
                   "user_add", "login"):  # fmt: skip
        assert action in actions


def test_a_locked_console_refuses_every_command(station):
    station.login("admin", PINS["admin"])
    station.lock()
    for n, command in enumerate(sorted(EXPECTED["admin"])):
        with pytest.raises(CommandRefused, match="log in"):
            attempt(station, command, "admin", 100 + n)


def test_the_role_a_command_declares_is_ignored(station, tmp_path):
    station.login("operator", PINS["operator"])
    command = Override("P1", "ok", "dent", "misclassified", user="admin", role="admin")
    station.override(replace(command))
    row = audit.trail(tmp_path / "line.db", limit=1)[0]
    assert (row["user_name"], row["role"], row["action"]) == ("operator", "operator", "override")
