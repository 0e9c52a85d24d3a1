"""The recent parts list: the last parts the model classified, with a thumbnail (UI thread).

Rows come from `snapshot.recent` (newest first): thumbnail, part, class (and the override, if
any), confidence, time. A tap on a row asks to override that part (`override_requested`), the
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


def part_row(part: Part) -> tuple[str, ...]:
    cls = f"{part.cls} → {part.overridden_to}" if part.overridden_to else part.cls
    when = part.ts[11:19] if len(part.ts) >= 19 else part.ts
    return ("", part.part, cls, f"{part.conf:.2f}", when)


class RecentParts(QFrame):
    """The last parts with thumbnails; a tap asks to override one (UI thread)."""

    override_requested = Signal(object)

    def __init__(self, thumbnails: Thumbnails) -> None:
        super().__init__()
        self.setObjectName("panel")
        self.thumbnails = thumbnails
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        top = QHBoxLayout()
        title = QLabel("Recent parts")
        title.setObjectName("title")
        top.addWidget(title, 1)
        self.hold = big_button("Hold", checkable=True)
        self.hold.setToolTip("Freeze the list while you pick a part")
        top.addWidget(self.hold)
        layout.addLayout(top)
        self.model = RowsModel(
            ("", "part", "class", "conf", "time"),
            decoration=lambda part: self.thumbnails.get(part.image if part else None),
            bold=lambda part: bool(part and part.overridden_to),
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
        layout.addWidget(self.view, 1)
        self.hint = QLabel("Tap a part to override its class. Times are the records' (UTC).")
        self.hint.setObjectName("caption")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self._picked: Part | None = None
        self._latest: tuple[Part, ...] = ()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self._latest = snapshot.recent
        if self.hold.isChecked():
            return
        parts = snapshot.recent
        self.model.set_rows(parts, [p.part for p in parts], [part_row(p) for p in parts])

    def shown_parts(self) -> tuple[Part, ...]:
        return self.model.items

    def current_part(self) -> Part | None:
        """The selected part, else the newest one shown."""
        rows = self.view.selectionModel().selectedRows() if self.view.selectionModel() else []
        if rows and rows[0].row() < len(self.model.items):
            return self.model.items[rows[0].row()]
        return self.model.items[0] if self.model.items else None

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
