"""Shared test set-up. Qt runs offscreen; anything Qt-specific stays inside fixtures so the
tests that do not use Qt never import it."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def station(tmp_path):
    """The demo station with a real store in `tmp_path / "s.db"`; records go in through its
    intake (no sources), its engine thread runs."""
    from console.config import demo_config
    from console.runner import Station

    station = Station(demo_config(), store_path=str(tmp_path / "s.db"), sources=False)
    station.start()
    yield station
    station.stop()


# The plant-sync tests' PostgreSQL server and helpers (fixtures `postgres`, `plant`).
pytest_plugins = ("tests.sync_helpers",)
