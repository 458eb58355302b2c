"""Analytics: the events the consumer has read, its cursors, and one row of facts per conversation.

Like the baseline, it creates only the tables that are missing (a store made with `create_all` by the
models of this version has them already).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The tables of this revision, written out (not imported from the models, which move on).
SNAPSHOT = sa.MetaData()

sa.Table(
    "analytics_events",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("digest", sa.String(length=40), nullable=False),
    sa.Column("conversation_id", sa.String(length=128), nullable=False),
    sa.Column("timestamp", sa.Float(), nullable=False),
    sa.Column("kind", sa.String(length=32), nullable=False),
    sa.Column("data", sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("digest"),
    sa.Index("ix_analytics_events_conversation_id", "conversation_id"),
)
sa.Table(
    "analytics_cursors",
    SNAPSHOT,
    sa.Column("source", sa.String(length=64), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("source"),
)
sa.Table(
    "conversation_facts",
    SNAPSHOT,
    sa.Column("key", sa.String(length=160), nullable=False),
    sa.Column("conversation_id", sa.String(length=128), nullable=False),
    sa.Column("customer_id", sa.String(length=16), nullable=True),
    sa.Column("channel", sa.String(length=16), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=False),
    sa.Column("ended_at", sa.DateTime(), nullable=False),
    sa.Column("customer_messages", sa.Integer(), nullable=False),
    sa.Column("bot_messages", sa.Integer(), nullable=False),
    sa.Column("topic", sa.String(length=64), nullable=True),
    sa.Column("intents", sa.Text(), nullable=False),
    sa.Column("fallbacks", sa.Integer(), nullable=False),
    sa.Column("out_of_scope", sa.Integer(), nullable=False),
    sa.Column("forms_started", sa.Integer(), nullable=False),
    sa.Column("forms_completed", sa.Integer(), nullable=False),
    sa.Column("forms_abandoned", sa.Integer(), nullable=False),
    sa.Column("left_at_question", sa.String(length=64), nullable=True),
    sa.Column("kb_answered", sa.Integer(), nullable=False),
    sa.Column("kb_clarified", sa.Integer(), nullable=False),
    sa.Column("kb_not_sure", sa.Integer(), nullable=False),
    sa.Column("tickets", sa.Integer(), nullable=False),
    sa.Column("handed_off", sa.Boolean(), nullable=False),
    sa.Column("handoff_reason", sa.String(length=24), nullable=True),
    sa.Column("skill_group", sa.String(length=12), nullable=True),
    sa.Column("handoff_status", sa.String(length=12), nullable=True),
    sa.Column("agent_id", sa.String(length=16), nullable=True),
    sa.Column("queued_at", sa.DateTime(), nullable=True),
    sa.Column("wait_s", sa.Float(), nullable=True),
    sa.Column("first_response_s", sa.Float(), nullable=True),
    sa.Column("handle_s", sa.Float(), nullable=True),
    sa.Column("result", sa.String(length=12), nullable=True),
    sa.Column("rating", sa.Integer(), nullable=True),
    sa.Column("built_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("key"),
    *(
        sa.Index(f"ix_conversation_facts_{column}", column)
        for column in ("conversation_id", "customer_id", "channel", "started_at", "agent_id")
    ),
)


def upgrade() -> None:
    bind = op.get_bind()
    present = sa.inspect(bind)
    for table in SNAPSHOT.sorted_tables:
        if not present.has_table(table.name):
            table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(SNAPSHOT.sorted_tables):
        table.drop(bind, checkfirst=True)
