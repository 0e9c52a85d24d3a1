"""The Metrics view: the operations metrics of the last seven days of production (console/
operations.py) — overrides by class and shift, incident handling against the playbook, policy
exceptions, data quality, alarm health, intervention cost, and the live accuracy beside its
label-free estimate. Grey and calm: colour only when the realized accuracy and the estimate
disagree. Computed in a worker thread from the store on Refresh (and when the view opens);
UI thread otherwise.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from console.incident_record import store_rows
from console.operations import operations_metrics
from console.runner import Station
from widgets import theme
from widgets.commands import run_command
from widgets.header import Tile
from widgets.sheet import big_button

WEEK = 7 * 86400.0


def _pct(rate: dict | None) -> str:
    if not rate or rate.get("value") is None:
        return "–"
    return f"{100 * rate['value']:.1f} % [{100 * rate['lo']:.1f}–{100 * rate['hi']:.1f}]"


def _minutes(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} min"


def _table(title: str, rows: dict[str, dict], columns: tuple[str, ...]) -> str:
    head = "".join(f"<th align='left'>{c}</th>" for c in ("", *columns))
    body = "".join(
        f"<tr><td>{html.escape(k)}</td>"
        + "".join(f"<td>{html.escape(str(v.get(c, '')))}</td>" for c in columns)
        + "</tr>"
        for k, v in rows.items()
    )
    return f"<h3>{title}</h3><table cellpadding='4'><tr>{head}</tr>{body}</table>"


class MetricsView(QWidget):
    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.title = QLabel("Operations metrics: last seven days of production")
        self.title.setStyleSheet(f"font-size: {theme.FONT_TITLE}px; font-weight: bold;")
        row.addWidget(self.title, 1)
        refresh = big_button("Refresh")
        refresh.clicked.connect(self.refresh)
        row.addWidget(refresh)
        layout.addLayout(row)
        grid = QGridLayout()
        names = ("Override rate", "Accuracy (labels, overrides)", "Estimate (no labels)", "Gap",
                 "MTTA", "MTTR", "Fallback", "Cost")  # fmt: skip
        self.tiles = {n: Tile(n) for n in names}
        for i, tile in enumerate(self.tiles.values()):
            grid.addWidget(tile, i // 4, i % 4)
        layout.addLayout(grid)
        self.detail = QLabel("")
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.detail)
        layout.addWidget(scroll, 1)
        self.metrics: dict[str, Any] = {}

    def showEvent(self, event) -> None:  # noqa: ANN001, N802
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        store = self.station.store
        if store is None:
            self.detail.setText("No store: metrics come from the station's store.")
            return
        config, path = self.station.config, store.path

        def work() -> dict:
            last = store_rows(path, "SELECT max(ts) AS ts FROM records")[0]["ts"] or 0.0
            return operations_metrics(path, float(last) + 1 - WEEK, float(last) + 1, config)

        run_command(work, self.show_metrics, lambda reason: self.detail.setText(reason))

    def show_metrics(self, m: dict[str, Any]) -> None:
        self.metrics = m
        acc = m["accuracy"]
        est = acc.get("estimate")
        gap = acc.get("gap")
        t = self.tiles
        t["Override rate"].set_value(f"{100 * m['overrides']['rate']:.2f} %")
        t["Accuracy (labels, overrides)"].set_value(_pct(acc["accuracy"]))
        t["Estimate (no labels)"].set_value(
            f"{100 * est['adjusted']:.1f} %" if est else "too few reference labels"
        )
        off = (
            gap is not None
            and est
            and not acc["accuracy"]["lo"] <= est["adjusted"] <= acc["accuracy"]["hi"]
        )
        style = f"background: {theme.DRIFT}; color: #000000;" if off else ""
        t["Gap"].set_value("–" if gap is None else f"{100 * gap:+.1f} pt", style)
        t["MTTA"].set_value(_minutes(m["incidents"]["mtta_minutes"]))
        t["MTTR"].set_value(_minutes(m["incidents"]["mttr_minutes"]))
        periods = m["policy_exceptions"]["fallback_periods"]
        if periods and periods[-1]["to"] is None:
            t["Fallback"].set_value("ON now", theme.priority_style("urgent"))
        else:
            t["Fallback"].set_value(_minutes(m["policy_exceptions"]["fallback_minutes"]))
        t["Cost"].set_value(f"{m['cost']['total']:,.0f} {m['cost']['currency']}")
        parts = [
            _table("Overrides by class", m["overrides"]["by_class"], ("overrides", "parts", "rate")),
            _table("Overrides by shift", m["overrides"]["by_shift"], ("overrides", "parts", "rate")),
            _table("Accuracy by class", {c: {"precision": _pct(v["precision"]), "recall": _pct(v["recall"])}
                                         for c, v in acc["per_class"].items()}, ("precision", "recall")),
            _table("Incidents", {"playbook": m["incidents"]}, ("opened", "acknowledged_within_sla", "unresolved")),
            _table("Policy exceptions", {"this week": m["policy_exceptions"]},
                   ("shelved_alarms", "fallback_minutes")),
            _table("Alarm system", {"raised": m["alarm_health"]}, ("raised", "per_10_minutes")),
        ]  # fmt: skip
        dq = m["data_quality"]
        parts.append(
            "<h3>Data quality</h3><p>rejected lines: " + html.escape(str(dq["rejected_by_reason"] or "none"))
            + "<br>source events: " + html.escape(str(dq["source_events_by_kind"] or "none")) + "</p>"
        )  # fmt: skip
        self.detail.setText("".join(parts))
