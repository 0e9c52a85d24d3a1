"""A sheet: a panel laid over the views, never a modal dialog (UI thread).

Override and Escalate open as sheets over the view area: the header, the alarm banner and the
status line stay live above and below them, nothing blocks the event loop, and Esc or Close puts
them away. For the keyboard a sheet is modal: focus enters it when it opens, Tab and Shift+Tab
cycle through its own controls only, and the view behind it is disabled, so nothing hidden (the
parts list's Hold) can be toggled from under it. Every sheet has the decision protocol one tap
away (the "Decision protocol" button, F1), shown beside the form. Also home of `big_button`,
the touch-sized button every form uses.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from widgets import theme


def big_button(text: str, *, checkable: bool = False, name: str = "choice") -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setCheckable(checkable)
    button.setMinimumHeight(theme.TOUCH + 8)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return button


def caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("title")
    return label


class Sheet(QFrame):
    """A form over the host widget's whole area, with the decision protocol one tap away."""

    def __init__(self, host: QWidget, title: str, protocol_text: str) -> None:
        super().__init__(host)
        self.setObjectName("panel")
        self.setAutoFillBackground(True)
        self.host = host
        host.installEventFilter(self)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(16)
        form = QVBoxLayout()
        form.setSpacing(10)
        top = QHBoxLayout()
        self.title = QLabel(title)
        self.title.setObjectName("title")
        self.title.setStyleSheet(f"font-size: {theme.FONT_TITLE + 4}px; font-weight: bold;")
        top.addWidget(self.title, 1)
        self.protocol_button = big_button("Decision protocol (F1)", checkable=True)
        self.protocol_button.toggled.connect(self._show_protocol)
        top.addWidget(self.protocol_button)
        self.close_button = big_button("Close (Esc)")
        self.close_button.clicked.connect(self.close_sheet)
        top.addWidget(self.close_button)
        form.addLayout(top)
        self.body = QVBoxLayout()
        self.body.setSpacing(10)
        form.addLayout(self.body, 1)
        outer.addLayout(form, 3)
        self.protocol = QTextBrowser()
        self.protocol.setPlainText(protocol_text)
        self.protocol.setVisible(False)
        self.protocol.setMinimumWidth(320)
        self.protocol.setMaximumWidth(520)
        outer.addWidget(self.protocol, 2)
        self.shortcuts = (
            QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close_sheet),
            QShortcut(QKeySequence(Qt.Key.Key_F1), self, self.protocol_button.toggle),
        )
        for shortcut in self.shortcuts:
            shortcut.setEnabled(False)
        self._return_focus: QWidget | None = None
        self.hide()

    def first_focus(self) -> QWidget:
        """The control that takes the focus when the sheet opens (subclasses pick theirs)."""
        chain = self.focus_chain()
        return chain[0] if chain else self

    def open_sheet(self) -> None:
        if not self.isVisible():
            focused = QApplication.focusWidget()
            self._return_focus = None if focused is None or self.isAncestorOf(focused) else focused
        self.setGeometry(self.host.rect())
        self._set_behind_enabled(False)
        self.show()
        self.raise_()
        for shortcut in self.shortcuts:
            shortcut.setEnabled(True)
        self.first_focus().setFocus(Qt.FocusReason.PopupFocusReason)

    def close_sheet(self) -> None:
        if not self.isVisible():
            return
        for shortcut in self.shortcuts:
            shortcut.setEnabled(False)
        self.hide()
        self._set_behind_enabled(True)
        back = self._return_focus
        self._return_focus = None
        if back is not None and back.isVisible() and back.isEnabled():
            back.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.window().setFocus(Qt.FocusReason.OtherFocusReason)

    def _set_behind_enabled(self, enabled: bool) -> None:
        for child in self.host.findChildren(
            QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly
        ):
            if not isinstance(child, Sheet):
                child.setEnabled(enabled)

    def focus_chain(self) -> list[QWidget]:
        """The sheet's own controls that Tab reaches, in tab order."""
        chain: list[QWidget] = []
        widget = self.nextInFocusChain()
        while widget is not None and widget is not self and widget not in chain:
            if (
                self.isAncestorOf(widget)
                and widget.isVisible()
                and widget.isEnabled()
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            ):
                chain.append(widget)
            widget = widget.nextInFocusChain()
        return chain

    def focusNextPrevChild(self, next_child: bool) -> bool:  # Qt's name
        """Tab stays inside the sheet: from the last control it wraps to the first."""
        chain = self.focus_chain()
        if not chain:
            return True
        current = QApplication.focusWidget()
        step = 1 if next_child else -1
        index = chain.index(current) + step if current in chain else (0 if next_child else -1)
        chain[index % len(chain)].setFocus(
            Qt.FocusReason.TabFocusReason if next_child else Qt.FocusReason.BacktabFocusReason
        )
        return True

    def _show_protocol(self, shown: bool) -> None:
        self.protocol.setVisible(shown)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.host and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.host.rect())
        return False
