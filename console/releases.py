"""Model releases: a new model version in the records is a journaled event; the console compares
it with the previous version and asks the model owner to sign the release checklist.

`ReleaseDesk` (a mixin of `console.runner.Station`) notices on the engine thread
(`release_tick`) that the records name a model version other than the last one, compares the
two from the store (`compare`: class mix and its PSI, confidence, the line's drift state against
the reference at that moment), and writes an audited "model_release" entry (so it reaches the
plant through the outbox) with a system event asking for the checklist. `sign_release` — a
signed command (PIN and meaning) of a role with the "release" permission — records which items
of `[release] checklist` were confirmed; all must be. Metrics per model version are in
console/operations.py (`by_model`).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from console.actions import CommandRefused
from console.audited import AuditedActions, SystemActor
from console.auth import Session
from console.incident_record import store_rows

COMPARE_PARTS = 2000


@dataclass(frozen=True)
class Release:
    version: str
    previous: str
    seen_at: float
    comparison: dict = field(default_factory=dict)
    signed_by: str = ""
    meaning: str = ""


def _profile(path: str | Path, model: str, parts: int) -> dict[str, Any]:
    rows = store_rows(
        path,
        "SELECT class, conf FROM records WHERE model = ? ORDER BY seq DESC LIMIT ?",
        (model, parts),
    )
    n = len(rows)
    mix = Counter(r["class"] for r in rows)
    confs = sorted(r["conf"] for r in rows)
    return {
        "parts": n,
        "class_mix": {c: round(k / n, 4) for c, k in sorted(mix.items())} if n else {},
        "mean_conf": round(sum(confs) / n, 4) if n else None,
        "low_conf_share": round(sum(c < 0.6 for c in confs) / n, 4) if n else None,
    }


def psi(a: dict[str, float], b: dict[str, float]) -> float:
    total = 0.0
    for key in set(a) | set(b):
        p, q = max(a.get(key, 0.0), 1e-4), max(b.get(key, 0.0), 1e-4)
        total += (q - p) * math.log(q / p)
    return round(total, 4)


def compare(path: str | Path, previous: str, version: str, drift: dict) -> dict[str, Any]:
    old, new = _profile(path, previous, COMPARE_PARTS), _profile(path, version, COMPARE_PARTS)
    return {
        "previous": old,
        "new": new,
        "class_mix_psi": psi(old["class_mix"], new["class_mix"]) if new["parts"] else None,
        "drift_vs_reference": drift,
    }


class ReleaseDesk(AuditedActions):
    """Model releases (mixin; the Station provides engine, store, config, people)."""

    releases: list[Release]
    _model_seen: str | None = None

    def release_tick(self, now: float | None = None) -> Release | None:
        model = self.engine.model_name
        if not model or model == self._model_seen:
            return None
        previous, self._model_seen = self._model_seen, model
        if previous is None and self.store is not None:
            last = store_rows(
                self.store.path,
                "SELECT action, detail FROM audit WHERE action = 'model_release'"
                " ORDER BY seq DESC LIMIT 1",
            )
            previous = _version_of(last[0]["detail"]) if last else None
        if previous is None or previous == model:
            return None
        return self._journal_release(previous, model, self.clock() if now is None else now)

    def _journal_release(self, previous: str, model: str, now: float) -> Release:
        if self.store is not None:
            self.store.flush()
        drift = {"health": self.snapshot.health, "alarms": [a.id for a in self.snapshot.alarms]}
        path = self.store.path if self.store is not None else None
        comparison = (
            compare(path, previous, model, drift) if path else {"drift_vs_reference": drift}
        )
        release = Release(model, previous, now, comparison)
        self.releases = [*getattr(self, "releases", []), release]
        facts = self._facts(SystemActor(), "model_release", model, f"after {previous}", now,
                            old=previous, new={"version": model, "comparison": comparison})  # fmt: skip
        self._record([], facts)
        self.engine.note_system(
            "release", model, f"new model {model} (was {previous}): model owner, sign the checklist"
        )
        return release

    def sign_release(
        self,
        version: str,
        confirmed: tuple[str, ...],
        pin: str,
        meaning: str,
        session: Session | None = None,
    ) -> Release:
        signed = self.people.sign(session or self.session, "release", pin, meaning)
        release = next((r for r in getattr(self, "releases", []) if r.version == version), None)
        if release is None:
            raise CommandRefused(f"no release of {version} waits for a signature")
        missing = [c for c in self.config.release.checklist if c not in confirmed]
        if missing:
            raise CommandRefused(f"not confirmed yet: {'; '.join(missing)}")
        now = self.clock()
        facts = self._facts(signed, "release_signed", version, "", now,
                            new={"checklist": list(self.config.release.checklist)})  # fmt: skip
        self._record([], facts)
        done = replace(release, signed_by=signed.user, meaning=signed.meaning)
        self.releases = [done if r is release else r for r in self.releases]
        return done


def _version_of(detail: str) -> str | None:
    return json.loads(detail).get("target") or None
