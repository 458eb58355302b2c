"""The product's tracker store (persistence.tracker_store) opened on a database URL, as
endpoints.yml would configure it: a SQLite file (make run) or PostgreSQL (production)."""

from __future__ import annotations

from typing import Optional

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from sqlalchemy.engine import make_url

from persistence.tracker_store import MaskingSQLTrackerStore

DOMAIN = Domain.load("domain.yml")


def masking_store(url: str, broker: Optional[EventBroker] = None) -> MaskingSQLTrackerStore:
    where = make_url(url)
    if where.drivername == "sqlite":
        return MaskingSQLTrackerStore(DOMAIN, dialect="sqlite", db=where.database, event_broker=broker)
    return MaskingSQLTrackerStore(
        DOMAIN,
        dialect="postgresql",
        host=where.host,
        port=where.port,
        db=where.database,
        username=where.username,
        password=where.password,
        event_broker=broker,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_url(request, tmp_path) -> str:
    """The tracker store's database: a SQLite file (make run) or PostgreSQL (production)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    return request.getfixturevalue("postgres_url")  # tests.servers
