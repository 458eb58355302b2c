"""The business database's schema comes from the migrations (Alembic), on SQLite and PostgreSQL:
an empty database gets exactly the models' schema, an older one made before migrations is adopted
with its data, and several processes migrating at once do not trip over each other."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text

from business.store.db import engine_for, session_scope
from business.store.migrate import current, downgrade, latest, main, upgrade
from business.store.models import Base, CallbackNumber, Ticket
from business.store.seed import load_demo_data, seed
from tests.conftest import NOW
from tests.servers import postgres_url  # noqa: F401 (fixture)


def differences(url: str) -> list:
    """What autogenerate would still change to reach the models (nothing, when they agree)."""
    with engine_for(url).connect() as connection:
        return list(
            compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
            )
        )


def migrates_an_empty_database(url: str) -> None:
    engine = engine_for(url)
    upgrade(engine)
    assert current(engine) == latest()
    assert differences(url) == []
    with session_scope(engine) as session:
        seed(session, load_demo_data(), now=NOW)
    upgrade(engine)  # again: nothing to do, nothing lost
    with session_scope(engine) as session:
        assert (
            session.get(Ticket, "TK20261101001") is None
            and session.execute(text("SELECT count(*) FROM customers")).scalar() == 5
        )


def adopts_a_database_made_before_migrations(url: str) -> None:
    engine = engine_for(url)
    Base.metadata.create_all(engine)  # as the product did at start-up then
    with session_scope(engine) as session:
        seed(session, load_demo_data(), now=NOW)
    with engine.begin() as connection:  # and as it was before the workspace and sealed numbers
        connection.execute(text("DROP TABLE callback_numbers"))
        connection.execute(text("ALTER TABLE ticket_events DROP COLUMN for_customer"))
        connection.execute(text("ALTER TABLE tickets DROP COLUMN assignee_id"))
        connection.execute(
            text(
                "INSERT INTO tickets (id, category, priority, status, sla_due, summary, created_at, updated_at)"
                " VALUES ('TK20261101001', 'refund', 'normal', 'open', :t, '旧工单', :t, :t)"
            ),
            {"t": NOW},
        )
    assert current(engine) is None
    upgrade(engine)
    assert current(engine) == latest() and differences(url) == []
    assert "callback_numbers" in inspect(engine).get_table_names()
    with session_scope(engine) as session:
        old = session.get(Ticket, "TK20261101001")
        assert (old.summary, old.assignee_id) == ("旧工单", None)
        old.assignee_id = "A001"
        session.add(CallbackNumber(ticket_id=old.id, masked="138****8001", created_at=NOW))


def fact_row(conversation_id: str, started: str, handed_off: bool) -> dict:
    """A conversation_facts row as revision 0002 has it (before it counted transfers)."""
    zero = dict.fromkeys(
        "customer_messages bot_messages fallbacks out_of_scope forms_started forms_completed"
        " forms_abandoned kb_answered kb_clarified kb_not_sure tickets".split(),
        0,
    )
    at = datetime.fromisoformat(started)
    return {
        **zero,
        "key": f"{conversation_id}@{at.timestamp()}",
        "conversation_id": conversation_id,
        "channel": "webchat",
        "started_at": at,
        "ended_at": at + timedelta(minutes=30),
        "intents": "{}",
        "handed_off": handed_off,
        "built_at": at + timedelta(hours=1),
    }


def counts_the_transfers_of_facts_kept_before(url: str) -> None:
    """The facts kept at revision 0002 get the number of transfers analytics would give them now:
    those of the live chats queued during each conversation (until the sender's next one began)."""
    engine = engine_for(url)
    upgrade(engine, "0002")
    facts = [
        fact_row("webchat:a", "2026-11-22 10:00", True),  # two transfers of its live chat
        fact_row("webchat:a", "2026-11-22 15:00", True),  # the same sender later: one, of its own
        fact_row("webchat:b", "2026-11-22 10:00", True),  # a live chat nobody transferred
        fact_row("webchat:c", "2026-11-22 10:00", False),
    ]
    chats = [
        (1, "webchat:a", "10:01", ["transferred", "transferred"]),
        (2, "webchat:a", "15:01", ["transferred"]),
        (3, "webchat:b", "10:01", []),
    ]
    with engine.begin() as connection:
        # The tables as they are at 0002 (the models' ConversationFact would write `transfers` too).
        old = MetaData()
        old.reflect(connection, only=["conversation_facts", "live_chats", "live_chat_events"])
        connection.execute(old.tables["conversation_facts"].insert(), facts)
        for chat_id, conversation_id, queued, kinds in chats:
            at = datetime.fromisoformat(f"2026-11-22 {queued}")
            connection.execute(
                old.tables["live_chats"].insert(),
                {
                    "id": chat_id,
                    "conversation_id": conversation_id,
                    "channel": "webchat",
                    "skill_group": "mall",
                    "priority": 2,
                    "reason": "asked",
                    "status": "closed",
                    "queued_at": at,
                    "version": 3,
                },
            )
            connection.execute(
                old.tables["live_chat_events"].insert(),
                [
                    {"chat_id": chat_id, "at": at, "kind": kind}
                    for kind in ["queued", "accepted", *kinds, "closed"]
                ],
            )
    upgrade(engine)
    assert differences(url) == []
    with engine.connect() as connection:
        counted = connection.execute(text("SELECT key, transfers FROM conversation_facts")).all()
    assert sorted(counted) == sorted(zip((row["key"] for row in facts), (2, 1, 0, 0), strict=True))


def test_an_empty_sqlite_database_gets_the_models_schema(tmp_path):
    migrates_an_empty_database(f"sqlite:///{tmp_path / 'new.db'}")


def test_an_empty_postgresql_database_gets_the_models_schema(postgres_url):  # noqa: F811
    migrates_an_empty_database(postgres_url)


def test_an_older_sqlite_store_is_adopted_with_its_data(tmp_path):
    adopts_a_database_made_before_migrations(f"sqlite:///{tmp_path / 'old.db'}")


def test_an_older_postgresql_store_is_adopted_with_its_data(postgres_url):  # noqa: F811
    adopts_a_database_made_before_migrations(postgres_url)


def test_sqlite_facts_kept_before_transfers_were_counted_get_their_count(tmp_path):
    counts_the_transfers_of_facts_kept_before(f"sqlite:///{tmp_path / 'facts.db'}")


def test_postgresql_facts_kept_before_transfers_were_counted_get_their_count(postgres_url):  # noqa: F811
    counts_the_transfers_of_facts_kept_before(postgres_url)


def test_downgrade_to_nothing_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'round.db'}"
    upgrade(engine_for(url))
    downgrade(engine_for(url))
    assert inspect(engine_for(url)).get_table_names() == ["alembic_version"]
    upgrade(engine_for(url))
    assert differences(url) == []


def test_instances_starting_together_migrate_once(postgres_url):  # noqa: F811
    errors: list = []

    def start() -> None:
        try:
            upgrade(engine_for(postgres_url))
        except Exception as error:  # noqa: BLE001 - any failure is the finding
            errors.append(error)

    starting = [threading.Thread(target=start) for _ in range(4)]
    for thread in starting:
        thread.start()
    for thread in starting:
        thread.join()
    assert errors == [] and current(engine_for(postgres_url)) == latest()


def test_the_command_migrates_and_reports_the_revision(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["--revision"]) == 0
    assert "database: (none)" in capsys.readouterr().out
    assert main([]) == 0
    assert f"schema at revision {latest()}" in capsys.readouterr().out


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_every_table_of_the_models_is_in_a_migration(table, tmp_path):
    url = f"sqlite:///{tmp_path / 'all.db'}"
    upgrade(engine_for(url))
    assert table in inspect(engine_for(url)).get_table_names()
