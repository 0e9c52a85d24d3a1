"""The PDF batch report (`main.py export --format pdf`): Qt's PDF writer over a QTextDocument.

One batch or time range: what it was (parts, span, models, class mix, reject rate), a chart per
input of every part's value against the reference's 5–95 % band with the alarms marked, then
the alarms as replayed (what the line raised), the overrides of its parts, and the alarm
journal and audit entries written while it ran. Runs on the calling thread (the command line's
main thread, or the replay view's UI thread); makes a QGuiApplication when there is none.
"""

from __future__ import annotations

import html
import os
import sys

import numpy as np
from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTextDocument,
)

from console.config import Config
from console.records import iso
from console.replay import Replayed, ReplayError, replay
from data import replay as stored
from widgets import theme

CHART_W, CHART_H = 1100, 260
MAX_CHARTS = 8


def write_batch_report(path: str, config: Config, selection: stored.Selection, out: str) -> int:
    """Write the PDF report of a selection to `out`; returns the number of records in it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    records = stored.selected_records(path, selection)
    if not len(records):
        raise ReplayError("no stored record matches the selection")
    done = replay(path, config, selection)
    document = build_document(path, selection, records, done)
    writer = QPdfWriter(out)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter)
    writer.setTitle(f"Linewatch batch report: {_title(selection)}")
    writer.setCreator("Linewatch")
    document.print_(writer)
    del _app
    return len(records)


def _title(selection: stored.Selection) -> str:
    if selection.batch is not None:
        return f"batch {selection.batch}"
    start = iso(selection.start) if selection.start is not None else "start"
    end = iso(selection.end) if selection.end is not None else "end"
    return f"{start} to {end}"


def build_document(
    path: str, selection: stored.Selection, records: stored.StoredRecords, done: Replayed
) -> QTextDocument:
    """The report as a QTextDocument (charts as image resources)."""
    document = QTextDocument()
    document.setDefaultStyleSheet(
        "body { font-family: sans-serif; font-size: 9pt; color: #1c1c1c; }"
        "h1 { font-size: 15pt; } h2 { font-size: 11pt; margin-top: 10px; }"
        "td, th { padding: 2px 6px; } th { background: #d4d4d4; text-align: left; }"
    )
    b = records.batch
    mix = stored.class_mix(records)
    good = sum(n for c, n in mix.items() if c in stored.GOOD_CLASSES)
    parts = len(records)
    first, last = int(records.seq[0]), int(records.seq[-1])
    times = stored.delivery_times(path)
    start_at = stored.at_of(times, first, before=True)
    end_at = stored.at_of(times, last, before=False)
    marks = stored.markers(path, start_at, end_at)
    overrides = [o for o in stored.markers(path).overrides if o["part"] in set(b.part)]
    models = ", ".join(sorted({m for m in b.model if m})) or "—"
    body = [
        f"<h1>Batch report: {html.escape(_title(selection))}</h1>",
        f"<p>{parts:,} parts from {html.escape(b.ts_text[0])} to {html.escape(b.ts_text[-1])}; "
        f"model {html.escape(models)}; station run {done.run}, reference version "
        f"{done.reference_version if done.reference_version is not None else '—'}.</p>",
        _table(
            ["class", "parts", "share"],
            [[c, f"{n:,}", f"{n / parts:.1%}"] for c, n in mix.most_common()],
        ),
        f"<p>Reject rate (classes other than {', '.join(stored.GOOD_CLASSES)}): "
        f"{(parts - good) / parts:.2%}. Alarms raised: "
        f"{sum(e.event == 'alarm_raised' for e in done.events)}; overrides: {len(overrides)}."
        "</p>",
        "<h2>Inputs, part by part</h2><p>Grey band: the reference's 5–95 %; line: the "
        "reference mean; marks at the top: alarms raised.</p>",
    ]
    engine = done.engine
    profile = engine.profile if engine is not None else None
    names = (*records.feature_names, "conf")
    matrix = np.column_stack([b.features, b.conf])
    raised = [e.seq for e in done.events if e.event == "alarm_raised"]
    for j, name in enumerate(names[:MAX_CHARTS]):
        band = None
        if profile is not None and name in profile.columns:
            k = profile.columns.index(name)
            band = (profile.quantiles[k, 1], profile.mean[k], profile.quantiles[k, 3])
        url = QUrl(f"chart://{j}")
        document.addResource(
            QTextDocument.ResourceType.ImageResource, url, chart(name, matrix[:, j], band, raised)
        )
        body.append(f'<p><img src="chart://{j}" width="{CHART_W // 2}"></p>')
    body.append("<h2>Alarms (as the line raised them; seq counts the parts of this report)</h2>")
    body.append(
        _table(
            ["seq", "time", "alarm", "event", "priority", "value"],
            [
                [e.seq, e.ts, e.alarm, e.event.removeprefix("alarm_"), e.priority, f"{e.value:.4g}"]
                for e in done.events
            ],
        )
    )
    body.append("<h2>Overrides of these parts</h2>")
    body.append(
        _table(
            ["when", "part", "model said", "changed to", "reason", "by"],
            [
                [
                    iso(o["at"]),
                    o["part"],
                    o["old_class"],
                    o["new_class"],
                    o["reason"],
                    f"{o['user_name']} ({o['role']})",
                ]
                for o in overrides
            ],
        )  # fmt: skip
    )
    body.append("<h2>Alarm journal and audit entries while it ran</h2>")
    entries = [
        [iso(a["at"]), a["user_name"] or "system", f"{a['alarm']} {a['state']}"]
        for a in marks.alarms
    ] + [[iso(a["at"]), a["user_name"], a["action"]] for a in marks.audit]
    body.append(_table(["when", "who", "what"], sorted(entries)))
    document.setHtml("<body>" + "".join(body) + "</body>")
    return document


def _table(header: list[str], rows: list[list]) -> str:
    if not rows:
        return "<p><i>none</i></p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f'<table cellspacing="0" border="0"><tr>{head}</tr>{body}</table>'


def chart(
    name: str,
    values: np.ndarray,
    band: tuple[float, float, float] | None,
    marks: list[int],
) -> QImage:
    """Every part's value (x: part in the batch) over the reference band, as an image."""
    image = QImage(CHART_W, CHART_H, QImage.Format.Format_RGB32)
    image.fill(QColor(theme.PLOT))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    plot = QRectF(70, 30, CHART_W - 90, CHART_H - 60)
    finite = values[np.isfinite(values)]
    low = float(finite.min()) if finite.size else 0.0
    high = float(finite.max()) if finite.size else 1.0
    if band is not None:
        low, high = min(low, band[0]), max(high, band[2])
    pad = (high - low) * 0.05 or 1.0
    low, high = low - pad, high + pad
    n = max(len(values), 2)

    def x_of(i: float) -> float:
        return plot.left() + plot.width() * i / (n - 1)

    def y_of(v: float) -> float:
        return plot.bottom() - plot.height() * (v - low) / (high - low)

    painter.setPen(QPen(QColor(theme.BORDER)))
    painter.drawRect(plot)
    if band is not None:
        painter.fillRect(
            QRectF(plot.left(), y_of(band[2]), plot.width(), y_of(band[0]) - y_of(band[2])),
            QColor(theme.BAND_FILL),
        )
        painter.setPen(QPen(QColor(theme.MUTED), 1, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(plot.left(), y_of(band[1])), QPointF(plot.right(), y_of(band[1])))
    painter.setPen(QPen(QColor(theme.LIVE_LINE), 3))
    points = [QPointF(x_of(i), y_of(v)) for i, v in enumerate(values.tolist()) if v == v]
    step = max(1, len(points) // 2000)
    for point in points[::step]:
        painter.drawPoint(point)
    painter.setPen(QPen(QColor(theme.PRIORITY_COLOURS["high"]), 2))
    for seq in marks:
        if 0 <= seq < len(values):
            painter.drawLine(QPointF(x_of(seq), plot.top()), QPointF(x_of(seq), plot.top() + 14))
    painter.setPen(QColor(theme.TEXT))
    font = painter.font()
    font.setPixelSize(18)
    painter.setFont(font)
    painter.drawText(QPointF(plot.left(), 22), name)
    font.setPixelSize(14)
    painter.setFont(font)
    painter.drawText(QPointF(4, plot.top() + 12), f"{high:.4g}")
    painter.drawText(QPointF(4, plot.bottom()), f"{low:.4g}")
    painter.drawText(QPointF(plot.right() - 120, CHART_H - 8), f"{len(values):,} parts")
    painter.end()
    return image
