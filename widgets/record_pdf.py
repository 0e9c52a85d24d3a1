"""Evidence documents as PDF through Qt's own PDF writer (QPdfWriter + QTextDocument): the
incident event record (with its drift charts, widgets/record_charts.py) and the weekly review.
The same record gives the same bytes: a fixed font, Qt's hashing pinned while printing and the
writer's dates and IDs set from the record (widgets/pdf_stamp.py). Called by console/cli.py
(`export-incident`, `report`) and by the incident view's Export button; runs on the caller's
thread and needs a QGuiApplication (made here, offscreen, when none exists).
"""

from __future__ import annotations

import calendar
import html
import json
import os
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QFont, QGuiApplication, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QApplication

from widgets.pdf_stamp import deterministic_hashing, pin_stamps
from widgets.record_charts import chart_image


def ensure_app() -> QGuiApplication:
    """A QApplication (not only a QGuiApplication: a window or pytest-qt may come later)."""
    app = QApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([])
    return app  # type: ignore[return-value]


def _value(value: Any) -> str:
    if isinstance(value, dict | list):
        return html.escape(json.dumps(value, sort_keys=True, ensure_ascii=False, indent=1))
    return html.escape("" if value is None else str(value))


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p><i>none</i></p>"
    keys = list(rows[0])
    head = "".join(f"<th align='left'>{html.escape(k)}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{_value(r.get(k))}</td>" for k in keys) + "</tr>" for r in rows
    )
    return f"<table border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{body}</table>"


def _rows_of_dicts(value: Any) -> bool:
    """A dict of flat dicts with the same keys: one table row each."""
    if not isinstance(value, dict) or not value:
        return False
    inner = list(value.values())
    if not all(isinstance(v, dict) and v for v in inner):
        return False
    flat = all(not isinstance(x, dict | list) for v in inner for x in v.values())
    return flat and all(v.keys() == inner[0].keys() for v in inner)


def record_html(title: str, record: dict[str, Any], digest: str) -> str:
    parts = [f"<h1>{html.escape(title)}</h1>", f"<p>content sha256 <tt>{digest}</tt></p>"]
    for key, value in record.items():
        if key == "charts" and isinstance(value, dict):  # on a page of their own
            parts.append("<h2 style='page-break-before: always'>charts</h2>")
            parts.append(_charts_html(value))
            continue
        parts.append(f"<h2>{html.escape(key.replace('_', ' '))}</h2>")
        if isinstance(value, list) and value and isinstance(value[0], dict):
            parts.append(_table(value))
        elif _rows_of_dicts(value):
            parts.append(_table([{"": k} | v for k, v in value.items()]))
        elif (
            isinstance(value, dict)
            and value
            and all(not isinstance(v, dict | list) or k in ("entries",) for k, v in value.items())
        ):
            parts.append(_table([{"field": k, "value": v} for k, v in value.items()]))
        else:
            parts.append(f"<pre>{_value(value)}</pre>")
    return "".join(parts)


def _charts_html(charts: dict[str, Any]) -> str:
    """The charts' window as a table, then one image per input (registered by `write_pdf`)."""
    facts = {k: v for k, v in charts.items() if k != "inputs"}
    rows = _table([{"field": k, "value": v} for k, v in facts.items()])
    images = "".join(
        f"<p><img src='chart:{i}' width='{CHART_WIDTH}'></p>"
        for i in range(len(charts.get("inputs", ())))
    )
    return rows + images


CHART_WIDTH = 1100  # document pixels at 150 dpi: the width of A4 inside the margins


def _printed_at(record: dict[str, Any]) -> float:
    """The PDF's creation date: when the incident became known, or the week's end."""
    text = record.get("known_at") or record.get("week", {}).get("to") or "1970-01-01T00:00:00Z"
    return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))


def write_pdf(title: str, record: dict[str, Any], digest: str, path: str | Path) -> Path:
    """DIR/NAME.pdf of the record; the same record (and digest) give the same bytes."""
    ensure_app()
    target = Path(path)
    with deterministic_hashing():
        writer = QPdfWriter(str(target))
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setTitle(title)
        writer.setCreator("Linewatch")
        writer.setResolution(150)
        document = QTextDocument()
        document.setDefaultFont(QFont("DejaVu Sans", 9))
        document.setDefaultStyleSheet(
            "body{font-size:9pt} h1{font-size:16pt} h2{font-size:11pt} td,th{font-size:7pt}"
        )
        charts = record.get("charts", {}) if isinstance(record.get("charts"), dict) else {}
        for i, chart in enumerate(charts.get("inputs", ())):
            image = chart_image(chart, float(charts.get("hours", 4.0)))
            document.addResource(
                QTextDocument.ResourceType.ImageResource, QUrl(f"chart:{i}"), image
            )
        document.setHtml(record_html(title, record, digest))
        size = writer.pageLayout().paintRectPixels(writer.resolution()).size().toSizeF()
        document.setPageSize(size)
        document.print_(writer)
        del writer  # the file is complete once the writer is gone
    target.write_bytes(pin_stamps(target.read_bytes(), _printed_at(record), digest))
    return target
