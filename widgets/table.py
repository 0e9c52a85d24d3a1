"""A read-only table model fed with whole rows from a snapshot (UI thread).

The alarm table, the event list, the incident list and the recent parts list all show a short
tuple of rows that the snapshot replaces wholesale. `RowsModel.set_rows` compares the new rows
with the shown ones and tells the view only what changed, so an unchanged list costs nothing
and the view keeps its scroll position. Each row carries a key (alarm id, part id) so a view
can keep its selection on the same thing when the rows move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

Index = QModelIndex | QPersistentModelIndex


class RowsModel(QAbstractTableModel):
    """Rows of display text with a key each; optional cell colours and a decoration column."""

    def __init__(
        self,
        headers: Sequence[str],
        *,
        colours: Callable[[Any, int], tuple[str, str] | None] | None = None,
        decoration: Callable[[Any], Any] | None = None,
        bold: Callable[[Any], bool] | None = None,
    ) -> None:
        super().__init__()
        self.headers = tuple(headers)
        self.keys: tuple = ()
        self.rows: tuple[tuple[str, ...], ...] = ()
        self.items: tuple = ()
        self._colours = colours
        self._decoration = decoration
        self._bold = bold
        self._bold_font = QFont()
        self._bold_font.setBold(True)
        self._brushes: dict[str, QBrush] = {}

    def set_rows(
        self, items: Sequence[Any], keys: Sequence[Any], rows: Sequence[tuple[str, ...]]
    ) -> bool:
        """Show these rows; returns True when anything changed."""
        rows = tuple(rows)
        keys = tuple(keys)
        if rows == self.rows and keys == self.keys:
            self.items = tuple(items)
            return False
        if len(rows) == len(self.rows):
            self.items, self.keys, self.rows = tuple(items), keys, rows
            if rows:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(rows) - 1, len(self.headers) - 1)
                )
            return True
        self.beginResetModel()
        self.items, self.keys, self.rows = tuple(items), keys, rows
        self.endResetModel()
        return True

    def row_of(self, key: Any) -> int:
        try:
            return self.keys.index(key)
        except ValueError:
            return -1

    # --- Qt overrides -----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row, column = index.row(), index.column()
        if not index.isValid() or row >= len(self.rows):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows[row][column]
        item = self.items[row] if row < len(self.items) else None
        if role == Qt.ItemDataRole.DecorationRole and column == 0 and self._decoration is not None:
            return self._decoration(item)
        if (
            role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole)
            and self._colours is not None
        ):
            colours = self._colours(item, column)
            if colours is None:
                return None
            return self._brush(colours[0] if role == Qt.ItemDataRole.BackgroundRole else colours[1])
        if role == Qt.ItemDataRole.FontRole and self._bold is not None and self._bold(item):
            return self._bold_font
        return None

    def _brush(self, colour: str) -> QBrush:
        brush = self._brushes.get(colour)
        if brush is None:
            brush = self._brushes[colour] = QBrush(QColor(colour))
        return brush
