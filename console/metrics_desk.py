"""Operations metrics into the store, for the plant: once an hour (the first an hour after
start) the station computes the
metrics of the last 24 hours of production (console/operations.py) in a thread of its own and
writes them as an audited system entry "operations_metrics", which reaches the plant database
through the outbox like every audit entry. `MetricsDesk` is a mixin of `console.runner.Station`;
`metrics_tick` runs on the engine thread and only starts the worker.
"""

from __future__ import annotations

import threading

from console.audited import AuditedActions, SystemActor
from console.incident_record import store_rows
from console.operations import operations_metrics

PERIOD_SECONDS = 3600.0
DAY = 86400.0


class MetricsDesk(AuditedActions):
    _metrics_due: float = 0.0
    _metrics_worker: threading.Thread | None = None

    def metrics_tick(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        if self._metrics_due == 0.0:  # the first an hour after start
            self._metrics_due = now + PERIOD_SECONDS
        if self.store is None or now < self._metrics_due:
            return
        if self._metrics_worker is not None and self._metrics_worker.is_alive():
            return
        self._metrics_due = now + PERIOD_SECONDS
        self._metrics_worker = threading.Thread(
            target=self.store_metrics, args=(now,), name="metrics", daemon=True
        )
        self._metrics_worker.start()

    def store_metrics(self, now: float) -> dict | None:
        """The last 24 h of production's metrics, audited (any thread); None without data."""
        store = self.store
        if store is None:
            return None
        try:
            last = store_rows(store.path, "SELECT max(ts) AS ts FROM records")[0]["ts"]
            if last is None:
                return None
            until = float(last) + 1.0
            metrics = operations_metrics(store.path, until - DAY, until, self.config)
            facts = self._facts(SystemActor(), "operations_metrics", "last 24 h", "", now,
                                new=metrics)  # fmt: skip
            self._record([], facts)
        except Exception as error:  # the line's monitor goes on; the screen says why
            self.engine.note_system("error", "metrics", f"{type(error).__name__}: {error}")
            return None
        return metrics
