"""Evidence documents as PDF through Qt's own PDF writer (QPdfWriter + QTextDocument): the
incident event record now, the weekly review later. Called by console/cli.py (`export-incident`)
and by the incident view's Export button; runs on the caller's thread and needs a
QGuiApplication (made here, offscreen, when none exists).
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtGui import QGuiApplication, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QApplication


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


def write_pdf(title: str, record: dict[str, Any], digest: str, path: str | Path) -> Path:
    ensure_app()
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setTitle(title)
    writer.setCreator("Linewatch")
    writer.setResolution(150)
    document = QTextDocument()
    document.setDefaultStyleSheet(
        "body{font-size:9pt} h1{font-size:16pt} h2{font-size:11pt} td,th{font-size:7pt}"
    )
    document.setHtml(record_html(title, record, digest))
    document.setPageSize(writer.pageLayout().paintRectPixels(writer.resolution()).size().toSizeF())
    document.print_(writer)
    return Path(path)
