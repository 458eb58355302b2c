"""Analytics: the bot's reply a conversation ended on, unanswered (`conversation_facts.left_after`).

Facts kept before it have none: `python -m analytics rebuild` folds them again from the kept events.
Like the revisions before it, it adds the column only when it is missing (a store made with
`create_all` by the models of this version has it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "conversation_facts"
COLUMN = "left_after"


def upgrade() -> None:
    present = sa.inspect(op.get_bind())
    if COLUMN not in {column["name"] for column in present.get_columns(TABLE)}:
        op.add_column(TABLE, sa.Column(COLUMN, sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as table:  # SQLite drops a column by copying the table
        table.drop_column(COLUMN)
