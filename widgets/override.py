"""The override sheet: correct one part's class in three taps, gloves on (UI thread).

Tap 1 picks the part (a row of the recent parts list, or F2 for the selected part; with none
selected the sheet asks for the part id, typed or scanned) and opens this sheet; tap 2 picks the right class from big buttons; tap 3 picks the reason code from
big buttons, and that tap saves (each reason button reads "Save · reason" once a class is
picked, so it is the confirmation). An optional note is typed before it. The save runs off the
UI thread; the sheet says "Saved" only after `station.override` returned the store's seq, and
shows the reason inline when the station refuses (also a reason that does not fit the new class).
A part already overridden is corrected by a new override of the override: its old class is the
operator's label, and it is journaled through the same store path as the first one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from console.actions import OVERRIDE_REASONS, Override
from console.runner import Station
from console.snapshot import Part
from widgets import theme
from widgets.bridge import note_error
from widgets.clock import StationClock
from widgets.commands import run_command
from widgets.parts import Thumbnails, placeholder
from widgets.protocol import decision_protocol
from widgets.sheet import Sheet, big_button, caption


def reason_label(reason: str) -> str:
    return reason.replace("_", " ")


class OverrideSheet(Sheet):
    """Override one part's classification with a reason (UI thread; the save in a worker)."""

    saved = Signal(int, object)  # seq, the Override command

    def __init__(
        self,
        host,
        station: Station,
        user: Callable[[], tuple[str, str]],
        thumbnails: Thumbnails,
        find_part: Callable[[str], Part | None] = lambda _id: None,
        label_of: Callable[[Part], str | None] = lambda part: part.overridden_to,
    ) -> None:
        super().__init__(host, "Override", decision_protocol(station.config))
        self.station = station
        self.user = user
        self.thumbnails = thumbnails
        self.find_part = find_part
        self.label_of = label_of
        self.clock = StationClock.for_config(station.config)
        self.part: Part | None = None
        self.current_class = ""  # the class the part has now: the model's, or the last override
        self.classes: tuple[str, ...] = ()
        self.new_class = ""
        self.busy = False
        ask = QHBoxLayout()
        ask.addWidget(QLabel("Part id"))
        self.part_id = QLineEdit()
        self.part_id.setPlaceholderText("type or scan the part id, then Enter")
        self.part_id.returnPressed.connect(self.find)
        ask.addWidget(self.part_id, 1)
        self.find_button = big_button("Find part")
        self.find_button.clicked.connect(self.find)
        ask.addWidget(self.find_button)
        self.body.addLayout(ask)
        head = QHBoxLayout()
        self.image = QLabel()
        self.image.setFixedSize(120, 120)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        head.addWidget(self.image)
        self.part_text = QLabel("")
        self.part_text.setWordWrap(True)
        self.part_text.setStyleSheet(f"font-size: {theme.FONT_TITLE}px;")
        head.addWidget(self.part_text, 1)
        self.body.addLayout(head)
        self.body.addWidget(caption("1. Right class"))
        self.class_row = QHBoxLayout()
        self.body.addLayout(self.class_row)
        self.class_buttons: dict[str, QPushButton] = {}
        self.body.addWidget(caption("2. Note (optional)"))
        self.note = QLineEdit()
        self.note.setPlaceholderText("what you saw, e.g. scratch near the edge")
        self.body.addWidget(self.note)
        self.body.addWidget(caption("3. Reason — the tap saves"))
        reasons = QGridLayout()
        self.reason_buttons: dict[str, QPushButton] = {}
        for i, reason in enumerate(OVERRIDE_REASONS):
            button = big_button(reason_label(reason))
            button.setMinimumHeight(theme.TOUCH + 16)
            button.clicked.connect(lambda _=False, r=reason: self.save(r))
            reasons.addWidget(button, i // 3, i % 3)
            self.reason_buttons[reason] = button
        self.body.addLayout(reasons)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setStyleSheet(f"font-size: {theme.FONT_TITLE}px;")
        self.body.addWidget(self.result)
        self.body.addStretch(1)

    def ask_for_part(self, classes: tuple[str, ...]) -> None:
        """F2 with no part selected: the sheet asks which part."""
        self.part = None
        self.classes = classes
        self.current_class = ""
        self.new_class = ""
        self.note.clear()
        self.part_id.clear()
        self._set_result("", "")
        self._make_class_buttons(classes)
        self.part_text.setText("<b>Which part?</b><br>Type or scan its id above, then Enter.")
        self.image.setPixmap(placeholder(120))
        self._update_buttons()
        self.open_sheet()

    def find(self) -> None:
        """Open the part whose id was typed."""
        wanted = self.part_id.text().strip()
        if not wanted:
            self._set_result("Type a part id first.", "error")
            return
        part = self.find_part(wanted)
        if part is None:
            self._set_result(f"Part {wanted} is not among the recent parts on screen.", "error")
            return
        self.open_for(part, self.classes or (part.cls,))

    def open_for(self, part: Part, classes: tuple[str, ...]) -> None:
        """Show the sheet for this part (tap 1)."""
        self.part = part
        self.classes = classes
        label = self.label_of(part)
        self.current_class = label or part.cls
        self.new_class = ""
        self.note.clear()
        self.part_id.setText(part.part)
        self._set_result("", "")
        self._make_class_buttons(classes or (part.cls,))
        now = (
            f"<br><b>already overridden to {label}</b>: a new override corrects it" if label else ""
        )
        when = self.clock.record_time(part.ts, with_date=True) if part.ts else "time not known"
        conf = f"{part.conf:.2f}" if math.isfinite(part.conf) else "not known"
        self.part_text.setText(
            f"<b>Part {part.part}</b><br>model said <b>{part.cls}</b> (confidence {conf}){now}"
            f"<br><span style='color:{theme.MUTED}'>{when} ({self.clock.record_label})"
            f" · {part.model or self.station.snapshot.model}</span>"
        )
        pixmap = self.thumbnails.get(part.image) if part.image else placeholder(120)
        self.image.setPixmap(pixmap.scaled(120, 120, Qt.AspectRatioMode.KeepAspectRatio))
        self._update_buttons()
        self.open_sheet()

    def first_focus(self) -> QWidget:
        if self.part is None:
            return self.part_id
        enabled = [b for b in self.class_buttons.values() if b.isEnabled()]
        return enabled[0] if enabled else super().first_focus()

    def _make_class_buttons(self, classes: tuple[str, ...]) -> None:
        if tuple(self.class_buttons) != classes:
            for button in self.class_buttons.values():
                self.class_row.removeWidget(button)
                button.deleteLater()
            self.class_buttons = {}
            for name in classes:
                button = big_button(name, checkable=True)
                button.setMinimumHeight(theme.TOUCH + 16)
                button.clicked.connect(lambda _=False, n=name: self.pick_class(n))
                self.class_row.addWidget(button)
                self.class_buttons[name] = button

    def pick_class(self, name: str) -> None:
        """Tap 2."""
        self.new_class = name
        self._set_result("", "")
        self._update_buttons()

    def save(self, reason: str) -> None:
        """Tap 3: save the override with this reason."""
        part = self.part
        if part is None or not self.new_class or self.busy:
            return
        user, role = self.user()
        command = Override(
            part=part.part,
            old_class=self.current_class or part.cls,
            new_class=self.new_class,
            reason=reason,
            user=user,
            role=role,
            old_conf=part.conf,
            note=self.note.text().strip(),
            model=part.model or self.station.snapshot.model,
        )
        self.busy = True
        self._update_buttons()
        self._set_result("Saving…", "")
        run_command(
            lambda: self.station.override(command),
            lambda seq: self._saved(seq, command),
            self._refused,
            lambda text: note_error(self.station, "override", text),
        )

    def _saved(self, seq: int, command: Override) -> None:
        self.busy = False
        self.current_class = command.new_class
        self.new_class = ""
        self._update_buttons()
        self._set_result(
            f"Saved: part {command.part} is now {command.new_class} ({reason_label(command.reason)}), record #{seq}.",
            "saved",
        )
        self.saved.emit(int(seq), command)

    def _refused(self, reason: str) -> None:
        self.busy = False
        self._update_buttons()
        self._set_result(f"Not saved: {reason}", "error")

    def _set_result(self, text: str, kind: str) -> None:
        self.result.setText(text)
        colour = theme.ERROR if kind == "error" else theme.TEXT
        self.result.setStyleSheet(
            f"font-size: {theme.FONT_TITLE}px; font-weight: bold; color: {colour};"
        )
        self.result.setProperty("kind", kind)

    def _update_buttons(self) -> None:
        now = self.current_class
        model_class = self.part.cls if self.part else ""
        for name, button in self.class_buttons.items():
            button.setChecked(name == self.new_class)
            button.setEnabled(self.part is not None and name != now and not self.busy)
            tag = " (model)" if name == model_class else ""
            tag += " (now)" if name == now and now != model_class else ""
            button.setText(name + tag)
        for reason, button in self.reason_buttons.items():
            button.setEnabled(bool(self.new_class) and not self.busy)
            button.setText(
                f"Save · {reason_label(reason)}" if self.new_class else reason_label(reason)
            )
