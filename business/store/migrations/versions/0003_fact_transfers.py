"""Analytics: a conversation's facts count the transfers of its handoff (`conversation_facts.transfers`).

The column is NOT NULL with the store's default 0, so the facts already kept get 0, and then the number
the consumer would give them now: the `transferred` events of the live chats queued during the
conversation (from its start until the next conversation of the same sender starts), as
analytics/facts.py counts them. Like the revisions before it, it adds the column only when it is
missing (a store made with `create_all` by the models of this version has it, and facts built by it).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "conversation_facts"
COLUMN = "transfers"

# Written out, not imported from the business core or analytics, which move on.
COUNT_EXISTING = sa.text(
    """
    UPDATE conversation_facts SET transfers = (
        SELECT count(*)
        FROM live_chat_events JOIN live_chats ON live_chats.id = live_chat_events.chat_id
        WHERE live_chat_events.kind = 'transferred'
          AND live_chats.conversation_id = conversation_facts.conversation_id
          AND live_chats.queued_at >= conversation_facts.started_at
          AND NOT EXISTS (
              SELECT 1 FROM conversation_facts AS later
              WHERE later.conversation_id = conversation_facts.conversation_id
                AND later.started_at > conversation_facts.started_at
                AND later.started_at <= live_chats.queued_at
          )
    )
    WHERE handed_off
    """
)


def upgrade() -> None:
    present = sa.inspect(op.get_bind())
    if COLUMN in {column["name"] for column in present.get_columns(TABLE)}:
        return
    op.add_column(TABLE, sa.Column(COLUMN, sa.Integer(), nullable=False, server_default="0"))
    op.execute(COUNT_EXISTING)


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as table:  # SQLite drops a column by copying the table
        table.drop_column(COLUMN)
