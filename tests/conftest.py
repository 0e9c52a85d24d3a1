"""Shared test set-up. Qt runs offscreen; anything Qt-specific stays inside fixtures so the
tests that do not use Qt never import it."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def station(tmp_path):
    """The demo station with a real store in `tmp_path / "s.db"`; records go in through its
    intake (no sources), its engine thread runs. Its people: `admin` (PIN 9999), `operator`
    (1111, logged in) and `shift_lead` (2222), so a window opens on the console, not the lock
    screen."""
    from console.config import demo_config
    from console.runner import Station

    station = Station(demo_config(), store_path=str(tmp_path / "s.db"), sources=False)
    station.first_admin("admin", "9999")
    station.add_user("operator", "operator", "1111")
    station.add_user("shift_lead", "shift_lead", "2222")
    station.login("operator", "1111")
    station.start()
    yield station
    station.stop()


# The plant-sync tests' PostgreSQL server and helpers (fixtures `postgres`, `plant`).
pytest_plugins = ("tests.sync_helpers",)
