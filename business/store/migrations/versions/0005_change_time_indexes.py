"""Analytics: indexes on the times its refresh looks for changes by (analytics/store.py: changes_since).

Every few seconds the consumer asks which live chats were queued, accepted or closed, which were
transferred, and which tickets and web chat ratings were made since its last look; without these
indexes each question reads the whole table, which grows by the month. Like the revisions before it,
it creates an index only when it is missing (a store made with `create_all` by the models of this
version has them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (table, column), each indexed as SQLAlchemy names `index=True` columns: ix_<table>_<column>.
INDEXED = (
    ("live_chats", "queued_at"),
    ("live_chats", "accepted_at"),
    ("live_chats", "closed_at"),
    ("live_chat_events", "at"),
    ("tickets", "created_at"),
    ("webchat_ratings", "created_at"),
)


def upgrade() -> None:
    present = sa.inspect(op.get_bind())
    for table, column in INDEXED:
        name = f"ix_{table}_{column}"
        if name not in {index["name"] for index in present.get_indexes(table)}:
            op.create_index(name, table, [column])


def downgrade() -> None:
    for table, column in INDEXED:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
