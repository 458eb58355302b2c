"""Alembic's environment for the business database: the models' metadata, and the connection the
caller opened (business/store/migrate.py), so the same code migrates SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context

from business.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
