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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with the longest slow tests first (a test's timeout is its expected length), each
    file's own order kept: the workers (pytest-xdist, whole files each, `--no-loadscope-reorder`)
    start on the longest files together instead of one finishing them alone at the end."""

    def expected(item: pytest.Item) -> float:
        timeout = item.get_closest_marker("timeout")
        slow = item.get_closest_marker("slow") is not None
        return float(timeout.args[0]) if slow and timeout and timeout.args else 0.0

    longest: dict[str, float] = {}
    for item in items:
        longest[item.path.name] = max(longest.get(item.path.name, 0.0), expected(item))
    items.sort(key=lambda item: -longest[item.path.name])


# The plant-sync tests' PostgreSQL server and helpers (fixtures `postgres`, `plant`).
pytest_plugins = ("tests.sync_helpers",)
