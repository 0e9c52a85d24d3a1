"""The login and lock screen: pick your name, tap your PIN on a pad (or badge in), or, on first
start, create the admin (UI thread).

The PIN pad's buttons are 64 px (gloves); the PIN shows as dots. A badge reader types like a
keyboard: the badge field has the focus, and its Enter logs in. The check (argon2id, ~0.05 s)
runs off the UI thread through `run_command`; a refusal (wrong PIN, the growing wait, a disabled
user) shows inline in the error colour. The same screen is the lock screen: the console shows it
when someone locks it or it idles out, and a login by anyone unlocks it (a user switch). The
fallback (parts to manual inspection) stays reachable here: name, PIN, one button; when a
fallback rule recommends it, the banner on top says why, with the same button beside it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console.runner import Station
from widgets import theme
from widgets.commands import run_command
from widgets.fallback_advice import FallbackAdvice
from widgets.sheet import big_button, caption

PAD = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "Clear", "0", "Log in")
PAD_BUTTON = 64


class LoginScreen(QWidget):
    """Who is at the console: a PIN pad and a badge field; first start creates the admin."""

    logged_in = Signal(object)  # Session

    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station
        self.setObjectName("login")
        page = QVBoxLayout(self)
        self.advice = FallbackAdvice(self.fallback_now, "Fallback now (name and PIN)")
        page.addWidget(self.advice)
        outer = QHBoxLayout()
        page.addLayout(outer, 1)
        outer.addStretch(1)
        panel = QFrame()
        panel.setObjectName("sheet")
        panel.setMinimumWidth(460)
        layout = QVBoxLayout(panel)
        layout.setSpacing(10)
        self.title = QLabel("")
        self.title.setObjectName("title")
        layout.addWidget(self.title)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        layout.addWidget(caption("Name"))
        self.user = QComboBox()
        self.user.setMinimumHeight(theme.TOUCH)
        layout.addWidget(self.user)
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("name of the first admin")
        self.new_name.setMinimumHeight(theme.TOUCH)
        layout.addWidget(self.new_name)
        layout.addWidget(caption("PIN"))
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMinimumHeight(theme.TOUCH)
        self.pin.returnPressed.connect(self.submit)
        layout.addWidget(self.pin)
        self.pin_again = QLineEdit()
        self.pin_again.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_again.setPlaceholderText("the PIN again")
        self.pin_again.setMinimumHeight(theme.TOUCH)
        layout.addWidget(self.pin_again)
        pad = QGridLayout()
        pad.setSpacing(6)
        self.keys = {}
        for i, key in enumerate(PAD):
            button = big_button(key, name="login" if key == "Log in" else "choice")
            button.setMinimumSize(PAD_BUTTON if len(key) == 1 else 120, PAD_BUTTON)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the PIN field keeps the focus
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            pad.addWidget(button, i // 3, i % 3)
            self.keys[key] = button
        layout.addLayout(pad)
        self.badge_caption = caption("Badge: hold it to the reader")
        layout.addWidget(self.badge_caption)
        self.badge = QLineEdit()
        self.badge.setEchoMode(QLineEdit.EchoMode.Password)
        self.badge.setPlaceholderText("badge")
        self.badge.setMinimumHeight(theme.TOUCH)
        self.badge.returnPressed.connect(self.submit_badge)
        layout.addWidget(self.badge)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.fallback = big_button("Fallback now: parts to manual inspection", name="fallback")
        self.fallback.setToolTip(
            "Your name and PIN above; logs you in and switches the fallback on"
        )
        self.fallback.clicked.connect(self.fallback_now)
        layout.addWidget(self.fallback)
        outer.addWidget(panel)
        outer.addStretch(1)
        self.busy = False
        self.refresh()

    @property
    def first_start(self) -> bool:
        return self.station.people.needs_first_admin()

    def refresh(self, reason: str = "") -> None:
        """Fill the name list and show the right form (first start, or log in / unlock)."""
        first = self.first_start
        self.title.setText("First start: create the admin" if first else "Log in")
        self.hint.setText(
            "Nobody can act at this console yet. The first person is its admin (control owner): "
            "choose a name and a PIN of 4 to 12 digits."
            if first
            else (reason or "Tap your name and your PIN, or badge in.")
        )
        self.user.clear()
        for user in self.station.people.directory.users():
            if not user.disabled:
                self.user.addItem(f"{user.name} ({user.role.replace('_', ' ')})", user.name)
        self.user.setVisible(not first)
        self.new_name.setVisible(first)
        self.pin_again.setVisible(first)
        self.badge.setVisible(not first)
        self.badge_caption.setVisible(not first)
        self.fallback.setVisible(not first)
        self.pin.clear()
        self.pin_again.clear()
        self.badge.clear()
        (self.new_name if first else self.badge).setFocus()

    def press(self, key: str) -> None:
        if key == "Clear":
            self.pin.clear()
        elif key == "Log in":
            self.submit()
        else:
            target = self.pin_again if self.pin_again.hasFocus() else self.pin
            target.setText(target.text() + key)

    def submit(self) -> None:
        if self.busy:
            return
        pin = self.pin.text()
        if self.first_start:
            name = self.new_name.text().strip()
            if pin != self.pin_again.text():
                self._refused("the two PINs differ")
                return
            self._run(lambda: self.station.first_admin(name, pin))
        else:
            name = self.user.currentData()
            if not name:
                self._refused("pick your name")
                return
            self._run(lambda: self.station.login(name, pin))

    def fallback_now(self) -> None:
        """The emergency control stays on the lock screen: one PIN, then the fallback is on
        (still role-checked and audited in the core)."""
        name, pin = self.user.currentData(), self.pin.text()
        if self.busy or not name:
            return

        def work():  # noqa: ANN202
            session = self.station.login(name, pin)
            self.station.set_fallback(True, "from the lock screen", session)
            return session

        self._run(work)

    def submit_badge(self) -> None:
        badge = self.badge.text()
        self.badge.clear()
        if badge.strip() and not self.busy:
            self._run(lambda: self.station.badge_login(badge))

    def _run(self, work) -> None:  # noqa: ANN001
        self.busy = True
        self.message.setText("Checking …")
        self.message.setStyleSheet(f"color: {theme.TEXT};")
        run_command(work, self._done, self._refused)

    def _done(self, session) -> None:  # noqa: ANN001
        self.busy = False
        self.message.setText("")
        self.pin.clear()
        self.logged_in.emit(session)

    def _refused(self, reason: str) -> None:
        self.busy = False
        self.pin.clear()
        self.pin_again.clear()
        self.message.setText(f"Not logged in: {reason}")
        self.message.setStyleSheet(f"color: {theme.ERROR}; font-weight: bold;")
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft)
