"""Who may act at this console: users, roles, the permission matrix, PIN and badge login, lock.

`PERMISSIONS` is the one table of what each role may do; `Authenticator.check` applies it in the
core for every command, with a `Session` the authenticator issued (a session someone built by
hand is refused: its token is not live). PINs and badge ids (a badge reader types like a
keyboard) are stored only as argon2id hashes; a wrong PIN makes the next attempt wait longer
(1 s, 2 s, 4 s ... up to `MAX_DELAY`); a session left idle longer than `idle_lock_seconds` is
locked and must be unlocked by a login, and a user switch is a login. Logins, failed logins,
locks and user changes are audited through the `UserDirectory` (the store, or memory when the
station has none); no PIN, badge id or hash ever goes into an audit entry or a message.
The clock is injected. Called from the UI's command threads and the CLI; a lock guards state.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from console.actions import CommandRefused, User
from data.audit import MEANINGS, AuditFacts

ROLES = ("operator", "shift_lead", "quality_engineer", "admin")
# How a refusal names each command, in the operator's words.
COMMAND_WORDS = {
    "override": "override classifications",
    "acknowledge": "acknowledge alarms",
    "shelve": "shelve alarms",
    "escalate": "escalate",
    "incident": "move incidents",
    "new_reference": "set a new reference",
    "configuration": "change the configuration",
    "fallback": "switch the fallback",
    "user_management": "manage users",
    "audit": "read the audit trail",
}
COMMANDS = tuple(COMMAND_WORDS)
# role → the commands it may give. Admin is the control owner of DESIGN.md.
PERMISSIONS: dict[str, frozenset[str]] = {
    "operator": frozenset({"override", "escalate", "fallback"}),
    "shift_lead": frozenset(
        {"override", "acknowledge", "shelve", "escalate", "incident", "fallback"}
    ),
    "quality_engineer": frozenset(
        {"override", "acknowledge", "escalate", "incident", "new_reference", "audit"}
    ),
    "admin": frozenset(COMMANDS),
}
MAX_DELAY = 300.0
PIN_DIGITS = (4, 12)
# OWASP's argon2id minimum: about 0.05 s a check here, well inside the 0.5 s budget.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


class NotPermitted(CommandRefused):
    """The session's role may not give this command."""


class LoginRefused(CommandRefused):
    """Wrong PIN or badge, unknown or disabled user, or too soon after a failed attempt."""


class SessionLocked(CommandRefused):
    """No one is logged in, the session was locked or idled out: log in again."""


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in person; only an `Authenticator` makes live ones (its token is checked)."""

    user: str
    role: str
    started: float
    token: str = field(repr=False, default="")


@dataclass(frozen=True, slots=True)
class Signature:
    """A re-entered PIN with its meaning: review, approval or responsibility (Part 11 §11.50)."""

    user: str
    role: str
    meaning: str
    at: float


class UserDirectory(Protocol):
    """Where users live and where changes to them (and logins) are audited, durably."""

    def users(self) -> list[User]: ...

    def save(self, user: User, facts: AuditFacts, new: bool) -> None: ...

    def audit(self, facts: AuditFacts) -> None: ...


class MemoryDirectory:
    """Users kept in memory (a station without a store, tests); the audit kept in a list."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self.entries: list[AuditFacts] = []

    def users(self) -> list[User]:
        return list(self._users.values())

    def save(self, user: User, facts: AuditFacts, new: bool) -> None:
        if new and user.name in self._users:
            raise LoginRefused(f"user {user.name!r} exists already")
        self._users[user.name] = user
        self.entries.append(facts)

    def audit(self, facts: AuditFacts) -> None:
        self.entries.append(facts)


def check_pin(pin: str) -> str:
    low, high = PIN_DIGITS
    if not (pin.isdigit() and pin.isascii() and low <= len(pin) <= high):
        raise LoginRefused(f"a PIN is {low} to {high} digits")
    return pin


class Authenticator:
    """Issues, checks and locks sessions; owns the failed-attempt delays (any thread)."""

    def __init__(
        self,
        directory: UserDirectory,
        *,
        clock: Callable[[], float] = time.time,
        idle_lock_seconds: float = 300.0,
        station_seq: Callable[[], int | None] = lambda: None,
    ) -> None:
        self.directory = directory
        self.clock = clock
        self.idle_lock_seconds = idle_lock_seconds
        self.station_seq = station_seq
        self._lock = threading.Lock()
        self._live: dict[str, float] = {}  # token → last activity
        self._failures: dict[str, tuple[int, float]] = {}  # who → (count, not before)

    # --- users ---------------------------------------------------------------------------

    def needs_first_admin(self) -> bool:
        return not self.directory.users()

    def user(self, name: str) -> User | None:
        return next((u for u in self.directory.users() if u.name == name), None)

    def create_first_admin(self, name: str, pin: str, badge: str = "") -> Session:
        """First start: the first user is an admin, and is logged in."""
        if not self.needs_first_admin():
            raise NotPermitted("the first admin exists already: log in")
        self._store_new(name, "admin", pin, badge, by=(name, "admin"))
        return self.login(name, pin)

    def add_user(
        self, session: Session | None, name: str, role: str, pin: str, badge: str = ""
    ) -> User:
        who = self.check(session, "user_management")
        return self._store_new(name, role, pin, badge, by=(who.user, who.role))

    def add_user_from_shell(self, name: str, role: str, pin: str, by: str) -> User:
        """`main.py user add`: whoever can run it owns the files; audited under role "shell"."""
        return self._store_new(name, role, pin, "", by=(by, "shell"))

    def disable_user(self, session: Session | None, name: str, by_shell: str = "") -> User:
        if by_shell:
            by = (by_shell, "shell")
        else:
            who = self.check(session, "user_management")
            by = (who.user, who.role)
        user = self.user(name)
        if user is None:
            raise LoginRefused(f"no user {name!r}")
        changed = replace(user, disabled=True)
        facts = self._facts(by, "user_disable", target=name, old="enabled", new="disabled")
        self.directory.save(changed, facts, new=False)
        with self._lock:
            self._live = {t: a for t, a in self._live.items() if not t.startswith(name + "\0")}
        return changed

    def _store_new(self, name: str, role: str, pin: str, badge: str, by: tuple[str, str]) -> User:
        name = name.strip()
        if not name or len(name) > 64 or "\0" in name:
            raise LoginRefused("a user name is 1 to 64 characters")
        if role not in ROLES:
            raise LoginRefused(f"role must be one of {', '.join(ROLES)}")
        if self.user(name) is not None:
            raise LoginRefused(f"user {name!r} exists already")
        check_pin(pin)
        if badge and len(badge.strip()) < 4:
            raise LoginRefused("a badge id is at least 4 characters")
        user = User(
            name,
            role,
            HASHER.hash(pin),
            HASHER.hash(badge.strip()) if badge else "",
            False,
            self.clock(),
        )
        facts = self._facts(by, "user_add", target=name, new={"role": role, "badge": bool(badge)})
        self.directory.save(user, facts, new=True)
        return user

    # --- login, lock -----------------------------------------------------------------------

    def login(self, name: str, pin: str) -> Session:
        """A PIN login (also a user switch, and unlocking the lock screen)."""
        self._wait_allowed(name)
        user = self.user(name)
        if user is None or user.disabled or not _matches(user.pin_hash, pin):
            self._failed(name, "pin")
        return self._start(user, "pin")

    def badge_login(self, badge: str) -> Session:
        """A badge read (the reader types the id and Enter): checked against every badge hash."""
        self._wait_allowed("badge")
        badge = badge.strip()
        user = next(
            (
                u
                for u in self.directory.users()
                if u.badge_hash and not u.disabled and _matches(u.badge_hash, badge)
            ),
            None,
        )
        if user is None:
            self._failed("badge", "badge")
        return self._start(user, "badge")

    def lock(self, session: Session | None, reason: str = "locked") -> None:
        if session is None:
            return
        with self._lock:
            live = self._live.pop(session.token, None)
        if live is not None:
            self.directory.audit(self._facts(session, "lock", reason=reason))

    def check(self, session: Session | None, command: str) -> Session:
        """The session is live (not locked, not idle too long) and its role may `command`."""
        if command not in COMMANDS:
            raise NotPermitted(f"unknown command {command!r}")
        if session is None:
            raise SessionLocked("log in first")
        now = self.clock()
        with self._lock:
            last = self._live.get(session.token)
            idle = last is not None and now - last > self.idle_lock_seconds
            if last is not None and not idle:
                self._live[session.token] = now
        if idle:
            self.lock(session, "idle")
        if last is None or idle:
            raise SessionLocked("the console is locked: log in again")
        if command not in PERMISSIONS.get(session.role, ()):
            role = session.role.replace("_", " ")
            raise NotPermitted(f"{session.user} ({role}) may not {COMMAND_WORDS[command]}")
        return session

    def touch(self, session: Session | None) -> bool:
        """Activity at the console; False (and locked) when it had idled out already."""
        if session is None:
            return False
        now = self.clock()
        with self._lock:
            last = self._live.get(session.token)
            idle = last is None or now - last > self.idle_lock_seconds
            if not idle:
                self._live[session.token] = now
        if idle and last is not None:
            self.lock(session, "idle")
        return not idle

    def is_live(self, session: Session | None) -> bool:
        if session is None:
            return False
        with self._lock:
            last = self._live.get(session.token)
        return last is not None and self.clock() - last <= self.idle_lock_seconds

    def sign(self, session: Session | None, command: str, pin: str, meaning: str) -> Signature:
        """An e-signature: the session may `command`, its user re-enters the PIN, and says
        what the signature means."""
        who = self.check(session, command)
        if meaning not in MEANINGS:
            raise NotPermitted(f"a signature means one of: {', '.join(MEANINGS)}")
        self._wait_allowed(who.user)
        user = self.user(who.user)
        if user is None or user.disabled or not _matches(user.pin_hash, pin):
            self._failed(who.user, "signature")
        with self._lock:
            self._failures.pop(who.user, None)
        return Signature(who.user, who.role, meaning, self.clock())

    # --- inside ----------------------------------------------------------------------------

    def _start(self, user: User | None, how: str) -> Session:
        assert user is not None
        now = self.clock()
        token = f"{user.name}\0{secrets.token_hex(16)}"
        with self._lock:
            self._failures.pop(user.name if how == "pin" else "badge", None)
            self._live[token] = now
        session = Session(user.name, user.role, now, token)
        self.directory.audit(self._facts(session, "login", new=how))
        return session

    def _wait_allowed(self, who: str) -> None:
        with self._lock:
            _count, not_before = self._failures.get(who, (0, 0.0))
        wait = not_before - self.clock()
        if wait > 0:
            raise LoginRefused(f"too many wrong attempts: try again in {wait:.0f} s")

    def _failed(self, who: str, how: str) -> None:
        with self._lock:
            count, _ = self._failures.get(who, (0, 0.0))
            count += 1
            delay = min(2.0 ** (count - 1), MAX_DELAY)
            self._failures[who] = (count, self.clock() + delay)
        self.directory.audit(self._facts((who, ""), "login_failed", new=how, reason=f"{count}"))
        raise LoginRefused(f"not recognised; wait {delay:.0f} s before the next try")

    def _facts(self, who: Session | tuple[str, str], action: str, **kw: object) -> AuditFacts:
        user, role = (who.user, who.role) if isinstance(who, Session) else who
        return AuditFacts(user, role, action, station_seq=self.station_seq(), at=self.clock(), **kw)  # type: ignore[arg-type]


def _matches(stored: str, given: str) -> bool:
    try:
        return HASHER.verify(stored, given)
    except (VerificationError, InvalidHashError):
        return False


def permitted(role: str, command: str) -> bool:
    return command in PERMISSIONS.get(role, ())
