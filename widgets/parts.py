"""The recent parts list: the last parts the model classified, with a thumbnail (UI thread).

Rows come from `snapshot.recent` (newest first): thumbnail, part, class (and the override, if
any, marked ✎), confidence, time in the station's zone. The selection is kept by part id. A tap on a row asks to override that part (`override_requested`), the
first of the override's three taps. On a fast line the list moves every tenth of a second, so
"Hold" freezes it while the operator picks. Thumbnails are loaded once per image path and
kept in a small cache; parts without an image show a grey placeholder. Images are read and
decoded by one loader thread ("thumbnails"), never on the UI thread, and only from inside the
sources' folders (console/part_images.py): a FIFO, a `../` path or a huge file shows
"image refused" and cannot hang the window.
"""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
)

from console.part_images import read_image, resolve_image
from console.snapshot import Part, Snapshot
from widgets import theme
from widgets.clock import StationClock
from widgets.sheet import big_button
from widgets.table import RowsModel

THUMB = 40


def placeholder(size: int = THUMB, text: str = "no image") -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor("#c8c8c8"))
    painter = QPainter(pixmap)
    painter.setPen(QColor(theme.MUTED))
    font = painter.font()
    font.setPixelSize(max(9, size // 5))
    painter.setFont(font)
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
    painter.end()
    return pixmap


class Thumbnails:
    """Scaled part images by path, loaded once (UI thread); a placeholder when there is none."""

    def __init__(self, roots: tuple[str, ...] = (), size: int = THUMB, capacity: int = 128) -> None:
        self.roots = roots
        self.size = size
        self.capacity = capacity
        self._cache: OrderedDict[str, QPixmap | Future] = OrderedDict()
        self._loader = ThreadPoolExecutor(1, thread_name_prefix="thumbnails")
        self.missing = placeholder(size)
        self.loading = placeholder(size, "loading")
        self.refused = placeholder(size, "image refused")

    def get(self, image: str | None) -> QPixmap:
        """The thumbnail if it is loaded; "loading" until the loader thread has it."""
        if not image:
            return self.missing
        entry = self._cache.get(image)
        if entry is None:
            entry = self._cache[image] = self._loader.submit(self._load, image)
            if len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(image)
        if isinstance(entry, QPixmap):
            return entry
        if not entry.done():
            return self.loading
        loaded = entry.result()
        pixmap = self.refused if loaded is None else QPixmap.fromImage(loaded)
        self._cache[image] = pixmap
        return pixmap

    def _load(self, image: str) -> QImage | None:
        """Loader thread: read and decode inside the roots only (QImage, not QPixmap, is safe
        off the UI thread)."""
        path = resolve_image(image, self.roots)
        data = read_image(path) if path else None
        picture = QImage.fromData(data) if data else QImage()
        if picture.isNull():
            return None
        return picture.scaled(
            self.size,
            self.size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )


def shown_class(part: Part, overridden_to: str | None = None) -> str:
    """The class cell: the model's class, and the operator's when overridden (marked ✎)."""
    label = overridden_to or part.overridden_to
    if not label:
        return part.cls
    if label == part.cls:
        return f"{part.cls} ✎ (confirmed)"
    return f"{part.cls} → {label} ✎"


def part_row(
    part: Part, overridden_to: str | None = None, clock: StationClock | None = None
) -> tuple[str, ...]:
    when = clock.record_time(part.ts) if clock is not None else part.ts[11:19]
    return ("", part.part, shown_class(part, overridden_to), f"{part.conf:.2f}", when)


class RecentParts(QFrame):
    """The last parts with thumbnails; a tap asks to override one (UI thread).

    The selection is a part id, never a row: new parts push rows down ten times a second, and
    the selected part must stay the selected part (or be let go, visibly, when it leaves)."""

    override_requested = Signal(object)
    selection_lost = Signal(str)  # part id that scrolled out of the list

    def __init__(self, thumbnails: Thumbnails, clock: StationClock | None = None) -> None:
        super().__init__()
        self.setObjectName("panel")
        self.thumbnails = thumbnails
        self.clock = clock or StationClock()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        top = QHBoxLayout()
        title = QLabel("Recent parts")
        title.setObjectName("title")
        top.addWidget(title, 1)
        self.hold = big_button("Hold", checkable=True)
        self.hold.setToolTip("Freeze the list while you pick a part")
        self.hold.toggled.connect(self._hold_toggled)
        top.addWidget(self.hold)
        layout.addLayout(top)
        self.model = RowsModel(
            ("", "part", "class", "conf", "time"),
            decoration=lambda part: self.thumbnails.get(part.image if part else None),
            bold=lambda part: bool(part and self.overridden_to(part)),
        )
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(THUMB + 8)
        self.view.setIconSize(self.thumbnails.missing.size())
        self.view.setAlternatingRowColors(True)
        self.view.setStyleSheet(f"font-size: {theme.FONT - 1}px;")
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, THUMB + 8)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.view.pressed.connect(self._pressed)
        self.view.clicked.connect(self._clicked)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        layout.addWidget(self.view, 1)
        self.hint = QLabel(
            "Tap a part to override its class; ✎ marks an override. "
            f"Times: {self.clock.record_label}."
        )
        self.hint.setObjectName("caption")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self._picked: Part | None = None
        self._selected: Part | None = None
        self._restoring = False
        self._latest: tuple[Part, ...] = ()
        self.overrides: dict[str, str] = {}  # part id → class saved from this console

    def overridden_to(self, part: Part) -> str | None:
        return self.overrides.get(part.part) or part.overridden_to

    def note_override(self, part: str, new_class: str) -> None:
        """An override was saved: mark it now, also while the list is held."""
        self.overrides[part] = new_class
        self._show(self.model.items)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self._latest = snapshot.recent
        if self.hold.isChecked():
            return
        self._show(snapshot.recent)

    def _show(self, parts: tuple[Part, ...]) -> None:
        rows = [part_row(p, self.overrides.get(p.part), self.clock) for p in parts]
        self.model.set_rows(parts, [p.part for p in parts], rows)
        self._restore_selection()

    def _restore_selection(self) -> None:
        """Keep the selected part selected wherever its row went; let it go when it left."""
        selected = self._selected
        if selected is None:
            return
        row = self.model.row_of(selected.part)
        self._restoring = True
        try:
            if row < 0:
                self.view.clearSelection()
                self._selected = None
                self.selection_lost.emit(selected.part)
            else:
                current = self.view.selectionModel().selectedRows()
                if not current or current[0].row() != row:
                    self.view.selectRow(row)
        finally:
            self._restoring = False

    def _selection_changed(self, *_args: object) -> None:
        if self._restoring:
            return
        rows = self.view.selectionModel().selectedRows()
        items = self.model.items
        self._selected = items[rows[0].row()] if rows and rows[0].row() < len(items) else None

    def _hold_toggled(self, held: bool) -> None:
        if not held and self._latest:
            self._show(self._latest)

    def shown_parts(self) -> tuple[Part, ...]:
        return self.model.items

    def find(self, part_id: str) -> Part | None:
        """A part of the list shown (or the latest snapshot's) by its id."""
        wanted = part_id.strip().upper()
        for part in (*self.model.items, *self._latest):
            if part.part.upper() == wanted:
                return part
        return None

    def current_part(self) -> Part | None:
        """The selected part, by id; None when nothing is selected."""
        return self._selected

    def select_part(self, part_id: str) -> bool:
        row = self.model.row_of(part_id)
        if row < 0:
            return False
        self.view.selectRow(row)
        return True

    def _pressed(self, index: QModelIndex) -> None:
        items = self.model.items
        self._picked = items[index.row()] if index.row() < len(items) else None

    def _clicked(self, index: QModelIndex) -> None:
        part = self._picked
        if part is None and index.row() < len(self.model.items):
            part = self.model.items[index.row()]
        self._picked = None
        if part is not None:
            self.override_requested.emit(part)
