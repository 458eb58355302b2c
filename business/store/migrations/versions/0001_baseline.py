"""Baseline: the schema as the product had it when migrations began.

Databases the product made before then (with `create_all` at start-up) have some of these tables and
may lack the tables and nullable columns added later; this revision creates what is missing and
leaves what is there, so the same step starts an empty database and adopts an older one.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The tables of this revision, written out (not imported from the models, which move on).
SNAPSHOT = sa.MetaData()

sa.Table(
    "agents",
    SNAPSHOT,
    sa.Column("id", sa.String(length=16), nullable=False),
    sa.Column("login", sa.String(length=32), nullable=False),
    sa.Column("name", sa.String(length=32), nullable=False),
    sa.Column("password_hash", sa.String(length=128), nullable=False),
    sa.Column("role", sa.String(length=12), nullable=False),
    sa.Column("status", sa.String(length=8), nullable=False),
    sa.Column("status_since", sa.DateTime(), nullable=True),
    sa.Column("last_seen", sa.DateTime(), nullable=True),
    sa.Column("max_concurrent", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("login"),
)
sa.Table(
    "audit_log",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("agent_id", sa.String(length=16), nullable=False),
    sa.Column("action", sa.String(length=32), nullable=False),
    sa.Column("subject", sa.String(length=128), nullable=True),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_audit_log_agent_id", "agent_id", unique=False),
    sa.Index("ix_audit_log_at", "at", unique=False),
)
sa.Table(
    "customers",
    SNAPSHOT,
    sa.Column("id", sa.String(length=16), nullable=False),
    sa.Column("name", sa.String(length=32), nullable=False),
    sa.Column("phone", sa.String(length=16), nullable=False),
    sa.Column("id_card_last4", sa.String(length=4), nullable=False),
    sa.Column("member_level", sa.String(length=16), nullable=False),
    sa.Column("points", sa.Integer(), nullable=False),
    sa.Column("wallet_balance", sa.Integer(), nullable=False),
    sa.Column("wallet_frozen", sa.Boolean(), nullable=False),
    sa.Column("wechat_openid", sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("phone"),
    sa.UniqueConstraint("wechat_openid"),
)
sa.Table(
    "faq_questions",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("asked_at", sa.DateTime(), nullable=False),
    sa.Column("conversation_id", sa.String(length=128), nullable=True),
    sa.Column("channel", sa.String(length=16), nullable=True),
    sa.Column("question", sa.Text(), nullable=False),
    sa.Column("outcome", sa.String(length=16), nullable=False),
    sa.Column("document_id", sa.String(length=64), nullable=True),
    sa.Column("score", sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_faq_questions_asked_at", "asked_at", unique=False),
)
sa.Table(
    "flight_schedule",
    SNAPSHOT,
    sa.Column("flight_no", sa.String(length=8), nullable=False),
    sa.Column("origin", sa.String(length=16), nullable=False),
    sa.Column("destination", sa.String(length=16), nullable=False),
    sa.Column("departs_at", sa.String(length=5), nullable=False),
    sa.Column("arrives_at", sa.String(length=5), nullable=False),
    sa.PrimaryKeyConstraint("flight_no"),
)
sa.Table(
    "webchat_messages",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("conversation_id", sa.String(length=80), nullable=False),
    sa.Column("message_id", sa.String(length=32), nullable=False),
    sa.Column("role", sa.String(length=8), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("message_id"),
    sa.Index("ix_webchat_messages_conversation_id", "conversation_id", unique=False),
)
sa.Table(
    "webchat_ratings",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("conversation_id", sa.String(length=80), nullable=False),
    sa.Column("customer_id", sa.String(length=16), nullable=True),
    sa.Column("score", sa.Integer(), nullable=False),
    sa.Column("comment", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_webchat_ratings_conversation_id", "conversation_id", unique=False),
)
sa.Table(
    "agent_sessions",
    SNAPSHOT,
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("agent_id", sa.String(length=16), nullable=False),
    sa.Column("csrf_token", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["agent_id"],
        ["agents.id"],
    ),
    sa.PrimaryKeyConstraint("token_hash"),
    sa.Index("ix_agent_sessions_agent_id", "agent_id", unique=False),
)
sa.Table(
    "agent_skills",
    SNAPSHOT,
    sa.Column("agent_id", sa.String(length=16), nullable=False),
    sa.Column("skill_group", sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(
        ["agent_id"],
        ["agents.id"],
    ),
    sa.PrimaryKeyConstraint("agent_id", "skill_group"),
    sa.Index("ix_agent_skills_skill_group", "skill_group", unique=False),
)
sa.Table(
    "canned_replies",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("skill_group", sa.String(length=12), nullable=True),
    sa.Column("title", sa.String(length=32), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("updated_by", sa.String(length=16), nullable=True),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["updated_by"],
        ["agents.id"],
    ),
    sa.PrimaryKeyConstraint("id"),
)
sa.Table(
    "flight_bookings",
    SNAPSHOT,
    sa.Column("ref", sa.String(length=6), nullable=False),
    sa.Column("customer_id", sa.String(length=16), nullable=False),
    sa.Column("passenger", sa.String(length=32), nullable=False),
    sa.Column("flight_no", sa.String(length=8), nullable=False),
    sa.Column("origin", sa.String(length=16), nullable=False),
    sa.Column("destination", sa.String(length=16), nullable=False),
    sa.Column("departs_at", sa.DateTime(), nullable=False),
    sa.Column("cabin", sa.String(length=8), nullable=False),
    sa.Column("fare", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(
        ["customer_id"],
        ["customers.id"],
    ),
    sa.PrimaryKeyConstraint("ref"),
    sa.Index("ix_flight_bookings_customer_id", "customer_id", unique=False),
)
sa.Table(
    "orders",
    SNAPSHOT,
    sa.Column("id", sa.String(length=16), nullable=False),
    sa.Column("customer_id", sa.String(length=16), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("placed_at", sa.DateTime(), nullable=False),
    sa.Column("paid_at", sa.DateTime(), nullable=True),
    sa.Column("shipped_at", sa.DateTime(), nullable=True),
    sa.Column("delivered_at", sa.DateTime(), nullable=True),
    sa.Column("cancelled_at", sa.DateTime(), nullable=True),
    sa.Column("eta", sa.Date(), nullable=True),
    sa.Column("carrier", sa.String(length=32), nullable=True),
    sa.Column("tracking_no", sa.String(length=32), nullable=True),
    sa.Column("last_scan", sa.String(length=128), nullable=True),
    sa.Column("logistics_exception", sa.String(length=128), nullable=True),
    sa.Column("payment_method", sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(
        ["customer_id"],
        ["customers.id"],
    ),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_orders_customer_id", "customer_id", unique=False),
)
sa.Table(
    "wallet_transactions",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("customer_id", sa.String(length=16), nullable=False),
    sa.Column("occurred_at", sa.DateTime(), nullable=False),
    sa.Column("type", sa.String(length=8), nullable=False),
    sa.Column("amount", sa.Integer(), nullable=False),
    sa.Column("memo", sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(
        ["customer_id"],
        ["customers.id"],
    ),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_wallet_transactions_customer_id", "customer_id", unique=False),
)
sa.Table(
    "order_items",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("order_id", sa.String(length=16), nullable=False),
    sa.Column("name", sa.String(length=64), nullable=False),
    sa.Column("qty", sa.Integer(), nullable=False),
    sa.Column("price", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(
        ["order_id"],
        ["orders.id"],
    ),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_order_items_order_id", "order_id", unique=False),
)
sa.Table(
    "tickets",
    SNAPSHOT,
    sa.Column("id", sa.String(length=24), nullable=False),
    sa.Column("category", sa.String(length=24), nullable=False),
    sa.Column("priority", sa.String(length=8), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("sla_due", sa.DateTime(), nullable=False),
    sa.Column("customer_id", sa.String(length=16), nullable=True),
    sa.Column("order_id", sa.String(length=16), nullable=True),
    sa.Column("booking_ref", sa.String(length=6), nullable=True),
    sa.Column("conversation_id", sa.String(length=128), nullable=True),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Column("context", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("assignee_id", sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(
        ["booking_ref"],
        ["flight_bookings.ref"],
    ),
    sa.ForeignKeyConstraint(
        ["customer_id"],
        ["customers.id"],
    ),
    sa.ForeignKeyConstraint(
        ["order_id"],
        ["orders.id"],
    ),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_tickets_conversation_id", "conversation_id", unique=False),
    sa.Index("ix_tickets_customer_id", "customer_id", unique=False),
)
sa.Table(
    "callback_numbers",
    SNAPSHOT,
    sa.Column("ticket_id", sa.String(length=24), nullable=False),
    sa.Column("masked", sa.String(length=24), nullable=False),
    sa.Column("sealed", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["ticket_id"],
        ["tickets.id"],
    ),
    sa.PrimaryKeyConstraint("ticket_id"),
)
sa.Table(
    "live_chats",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("conversation_id", sa.String(length=128), nullable=False),
    sa.Column("channel", sa.String(length=16), nullable=False),
    sa.Column("customer_id", sa.String(length=16), nullable=True),
    sa.Column("ticket_id", sa.String(length=24), nullable=True),
    sa.Column("skill_group", sa.String(length=12), nullable=False),
    sa.Column("priority", sa.Integer(), nullable=False),
    sa.Column("reason", sa.String(length=24), nullable=False),
    sa.Column("intent", sa.String(length=64), nullable=True),
    sa.Column("status", sa.String(length=12), nullable=False),
    sa.Column("agent_id", sa.String(length=16), nullable=True),
    sa.Column("queued_at", sa.DateTime(), nullable=False),
    sa.Column("accepted_at", sa.DateTime(), nullable=True),
    sa.Column("closed_at", sa.DateTime(), nullable=True),
    sa.Column("last_customer_at", sa.DateTime(), nullable=True),
    sa.Column("last_agent_at", sa.DateTime(), nullable=True),
    sa.Column("silence_prompted_at", sa.DateTime(), nullable=True),
    sa.Column("escalated_at", sa.DateTime(), nullable=True),
    sa.Column("result", sa.String(length=12), nullable=True),
    sa.Column("rating", sa.Integer(), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(
        ["agent_id"],
        ["agents.id"],
    ),
    sa.ForeignKeyConstraint(
        ["customer_id"],
        ["customers.id"],
    ),
    sa.ForeignKeyConstraint(
        ["ticket_id"],
        ["tickets.id"],
    ),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_live_chats_agent_id", "agent_id", unique=False),
    sa.Index("ix_live_chats_conversation_id", "conversation_id", unique=False),
    sa.Index("ix_live_chats_customer_id", "customer_id", unique=False),
    sa.Index("ix_live_chats_skill_group", "skill_group", unique=False),
    sa.Index("ix_live_chats_status", "status", unique=False),
)
sa.Table(
    "refunds",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("order_id", sa.String(length=16), nullable=False),
    sa.Column("amount", sa.Integer(), nullable=False),
    sa.Column("reason", sa.String(length=16), nullable=False),
    sa.Column("reason_detail", sa.Text(), nullable=True),
    sa.Column("method", sa.String(length=16), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("requested_at", sa.DateTime(), nullable=False),
    sa.Column("completed_at", sa.DateTime(), nullable=True),
    sa.Column("ticket_id", sa.String(length=24), nullable=True),
    sa.ForeignKeyConstraint(
        ["order_id"],
        ["orders.id"],
    ),
    sa.ForeignKeyConstraint(
        ["ticket_id"],
        ["tickets.id"],
    ),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_refunds_order_id", "order_id", unique=False),
)
sa.Table(
    "ticket_events",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("ticket_id", sa.String(length=24), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("agent_id", sa.String(length=16), nullable=True),
    sa.Column("for_customer", sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(
        ["ticket_id"],
        ["tickets.id"],
    ),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_ticket_events_ticket_id", "ticket_id", unique=False),
)
sa.Table(
    "live_chat_events",
    SNAPSHOT,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("chat_id", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("agent_id", sa.String(length=16), nullable=True),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(
        ["agent_id"],
        ["agents.id"],
    ),
    sa.ForeignKeyConstraint(
        ["chat_id"],
        ["live_chats.id"],
    ),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_live_chat_events_chat_id", "chat_id", unique=False),
)


def upgrade() -> None:
    bind = op.get_bind()
    present = sa.inspect(bind)
    for table in SNAPSHOT.sorted_tables:
        if not present.has_table(table.name):
            table.create(bind)
            continue
        known = {column["name"] for column in present.get_columns(table.name)}
        for column in table.columns:
            if column.name not in known and column.nullable:
                op.add_column(table.name, column.copy())


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(SNAPSHOT.sorted_tables):
        table.drop(bind, checkfirst=True)
