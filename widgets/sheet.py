"""A sheet: a panel laid over the views, never a modal dialog (UI thread).

Override and Escalate open as sheets over the view area: the header, the alarm banner and the
status line stay live above and below them, nothing blocks the event loop, and Esc or Close puts
them away. Every sheet has the decision protocol one tap away (the "Decision protocol" button,
F1), shown beside the form. Also home of `big_button`, the touch-sized button every form uses.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
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
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close_sheet)
        QShortcut(QKeySequence(Qt.Key.Key_F1), self, self.protocol_button.toggle)
        self.hide()

    def open_sheet(self) -> None:
        self.setGeometry(self.host.rect())
        self.show()
        self.raise_()

    def close_sheet(self) -> None:
        self.hide()

    def _show_protocol(self, shown: bool) -> None:
        self.protocol.setVisible(shown)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.host and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.host.rect())
        return False
