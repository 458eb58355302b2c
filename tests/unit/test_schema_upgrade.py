"""A store seeded by an earlier version gets the columns added since, and keeps its data."""

from __future__ import annotations

from sqlalchemy import inspect, text

from business.store.db import create_schema, engine_for, session_scope
from business.store.models import Ticket
from business.store.seed import load_demo_data, seed
from tests.conftest import NOW
from tests.servers import postgres_url  # noqa: F401 (fixture)


def upgrade_keeps_data(url: str) -> None:
    engine = engine_for(url)
    create_schema(engine)
    with session_scope(engine) as session:
        seed(session, load_demo_data(), now=NOW)
    with engine.begin() as connection:  # what the tables looked like before the workspace
        connection.execute(text("ALTER TABLE ticket_events DROP COLUMN for_customer"))
        connection.execute(text("ALTER TABLE tickets DROP COLUMN assignee_id"))
        connection.execute(
            text(
                "INSERT INTO tickets (id, category, priority, status, sla_due, summary, created_at, updated_at)"
                " VALUES ('TK20261101001', 'refund', 'normal', 'open', :t, '旧工单', :t, :t)"
            ),
            {"t": NOW},
        )
    create_schema(engine)
    assert "assignee_id" in {c["name"] for c in inspect(engine).get_columns("tickets")}
    assert "for_customer" in {c["name"] for c in inspect(engine).get_columns("ticket_events")}
    with session_scope(engine) as session:
        old = session.get(Ticket, "TK20261101001")
        assert (old.summary, old.assignee_id) == ("旧工单", None)
        old.assignee_id = "A001"


def test_an_older_sqlite_store_is_upgraded_in_place(tmp_path):
    upgrade_keeps_data(f"sqlite:///{tmp_path / 'old.db'}")


def test_an_older_postgresql_store_is_upgraded_in_place(postgres_url):  # noqa: F811
    upgrade_keeps_data(postgres_url)
