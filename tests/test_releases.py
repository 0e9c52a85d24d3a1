"""Model releases: a new model version in the records is journaled (audited, in the outbox) with
a comparison to the previous version; the model owner signs the checklist from the config;
metrics are kept per model version."""

from __future__ import annotations

import pytest

from console.actions import CommandRefused
from console.config import demo_config
from console.operations import operations_metrics
from console.runner import Station
from drivers.simulator import LineSimulator


def test_a_new_model_version_is_journaled_compared_and_signed(tmp_path):
    station = Station(demo_config(), store_path=str(tmp_path / "l.db"), sources=False)
    owner = station.first_admin("mo", "123456")
    station.add_user("quinn", "quality_engineer", "4321")
    station.add_user("olga", "operator", "1111")
    old = LineSimulator("stable", seed=1, model="defnet-3.2")
    station.engine.feed_lines(old.lines(3000))
    assert station.release_tick() is None  # the first version seen is no release
    new = LineSimulator("stable", seed=2, model="defnet-3.3", start=old.start + 86400 * 4)
    station.engine.feed_lines(new.lines(1500))
    release = station.release_tick()
    assert release is not None and (release.previous, release.version) == (
        "defnet-3.2",
        "defnet-3.3",
    )
    c = release.comparison
    assert c["previous"]["parts"] == 2000 and c["new"]["parts"] == 1500
    assert set(c["new"]["class_mix"]) >= {"ok"} and c["class_mix_psi"] is not None
    assert "health" in c["drift_vs_reference"]
    trail = station.audit_trail(session=owner)
    entry = next(t for t in trail if t["action"] == "model_release")
    assert entry["user_name"] == "system" and entry["target"] == "defnet-3.3"
    olga = station.login("olga", "1111")
    with pytest.raises(CommandRefused):
        station.sign_release(
            "defnet-3.3", station.config.release.checklist, "1111", "approval", olga
        )
    quinn = station.login("quinn", "4321")
    with pytest.raises(CommandRefused, match="not confirmed"):
        station.sign_release("defnet-3.3", (), "4321", "approval", quinn)
    signed = station.sign_release(
        "defnet-3.3", station.config.release.checklist, "4321", "approval", quinn
    )
    assert (signed.signed_by, signed.meaning) == ("quinn", "approval")
    entry = next(t for t in station.audit_trail(session=owner) if t["action"] == "release_signed")
    assert entry["meaning"] == "approval" and entry["new"]["checklist"]
    station.store.flush()
    per = operations_metrics(station.store.path, 0, 1e12, station.config)["by_model"]
    assert per["defnet-3.2"]["parts"] == 3000 and per["defnet-3.3"]["parts"] == 1500
    station.stop()
