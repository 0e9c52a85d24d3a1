"""Shared test set-up. Qt runs offscreen; anything Qt-specific stays inside fixtures so the
tests that do not use Qt never import it."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The plant-sync tests' PostgreSQL server and helpers (fixtures `postgres`, `plant`).
pytest_plugins = ("tests.sync_helpers",)
