"""Creates and upgrades the business database's schema with Alembic (business/store/migrations/).

`python -m business.store.migrate` (make run does it before seeding) brings any database to the
latest revision: an empty one is created, an older one is upgraded step by step, and one that an
earlier version of the product made without migrations (no `alembic_version` table) is adopted by
the first revision, which creates only the tables and nullable columns it lacks. Several processes starting at once on
PostgreSQL take turns (an advisory lock); SQLite serialises writers itself.

`python -m business.store.migrate --revision` prints the database's revision and the latest one.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from business.store.db import get_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any number, the same in every process: PostgreSQL's advisory lock for "migrating the schema".
LOCK_KEY = 7_420_261_206


def config(connection: Connection) -> Config:
    settings = Config()
    settings.set_main_option("script_location", str(MIGRATIONS))
    settings.attributes["connection"] = connection
    return settings


def latest() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current(engine: Optional[Engine] = None) -> Optional[str]:
    with (engine or get_engine()).connect() as connection:
        revision: Optional[str] = MigrationContext.configure(connection).get_current_revision()
        return revision


def upgrade(engine: Optional[Engine] = None, revision: str = "head") -> None:
    engine = engine or get_engine()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        command.upgrade(config(connection), revision)


def downgrade(engine: Optional[Engine] = None, revision: str = "base") -> None:
    with (engine or get_engine()).begin() as connection:
        command.downgrade(config(connection), revision)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Create or upgrade the business database's schema.")
    parser.add_argument("--revision", action="store_true", help="print the current and the latest revision")
    args = parser.parse_args(argv)
    if args.revision:
        print(f"database: {current() or '(none)'}  latest: {latest()}")
        return 0
    upgrade()
    print(f"schema at revision {current()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
