"""Shared fixtures: a real SQLite business store seeded with the demo data; the
running product for end-to-end and security tests comes from tests/stack.py."""

from __future__ import annotations

from datetime import datetime

import pytest

from business.store.db import engine_for, session_scope
from business.store.models import Base
from business.store.seed import load_demo_data, seed

pytest_plugins = ("tests.stack",)

# A Sunday morning inside service hours; the demo's relative dates hang off it.
NOW = datetime(2026, 11, 22, 10, 0)


@pytest.fixture
def database_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'xinghe.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    # The SQL event broker's file too: the project's var/ is a developer's (make run, make demo-traffic).
    monkeypatch.setenv("XINGHE_EVENTS_DB", str(tmp_path / "events.db"))
    monkeypatch.delenv("XINGHE_EVENTS_URL", raising=False)
    monkeypatch.setenv("XINGHE_NOW", NOW.isoformat())
    engine = engine_for(url)
    Base.metadata.create_all(engine)  # what the migrations make (tests/unit/test_migrations.py), faster
    with session_scope(engine) as session:
        seed(session, load_demo_data(), now=NOW)
    return url


@pytest.fixture
def session(database_url):
    with session_scope(engine_for(database_url)) as session:
        yield session
