"""SQLAlchemy models of the business store.

All times are stored as naive Asia/Shanghai wall-clock times: the business runs
in one time zone and every rule (return windows, service hours, fee bands) is
stated in it. Money is stored as integer fen and read back as `Decimal` yuan, so
SQLite and PostgreSQL give the same exact amounts.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, List, Optional

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import declarative_base, relationship

# SQLAlchemy 1.4 has no type information: the declarative base, and so every column, is Any.
Base: Any = declarative_base()

CENT = Decimal("0.01")


class Money(TypeDecorator):
    """Decimal yuan in Python, integer fen in the database."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Optional[Decimal], dialect: Any) -> Optional[int]:
        if value is None:
            return None
        return int((Decimal(str(value)) * 100).quantize(Decimal(1)))

    def process_result_value(self, value: Optional[int], dialect: Any) -> Optional[Decimal]:
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(CENT)


class Customer(Base):
    __tablename__ = "customers"

    id = Column(String(16), primary_key=True)
    name = Column(String(32), nullable=False)
    phone = Column(String(16), nullable=False, unique=True)
    id_card_last4 = Column(String(4), nullable=False)
    member_level = Column(String(16), nullable=False)
    points = Column(Integer, nullable=False, default=0)
    wallet_balance = Column(Money, nullable=False, default=Decimal("0.00"))
    wallet_frozen = Column(Boolean, nullable=False, default=False)
    wechat_openid = Column(String(64), unique=True)

    orders: List["Order"] = relationship("Order", back_populates="customer")


class Order(Base):
    __tablename__ = "orders"

    id = Column(String(16), primary_key=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    # pending_payment / paid / shipped / delivered / refunding / refunded / cancelled
    status = Column(String(20), nullable=False)
    placed_at = Column(DateTime, nullable=False)
    paid_at = Column(DateTime)
    shipped_at = Column(DateTime)
    delivered_at = Column(DateTime)
    cancelled_at = Column(DateTime)
    eta = Column(Date)
    carrier = Column(String(32))
    tracking_no = Column(String(32))
    last_scan = Column(String(128))
    logistics_exception = Column(String(128))
    payment_method = Column(String(16))  # wallet / wechat / alipay / bank_card

    customer: Customer = relationship("Customer", back_populates="orders")
    items: List["OrderItem"] = relationship(
        "OrderItem", back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    refunds: List["Refund"] = relationship(
        "Refund", back_populates="order", cascade="all, delete-orphan", order_by="Refund.id"
    )

    @property
    def total(self) -> Decimal:
        return sum((item.price * item.qty for item in self.items), Decimal("0.00")).quantize(CENT)

    @property
    def item_summary(self) -> str:
        return "、".join(item.name if item.qty == 1 else f"{item.name}×{item.qty}" for item in self.items)

    @property
    def latest_refund(self) -> Optional["Refund"]:
        return self.refunds[-1] if self.refunds else None


class OrderItem(Base):
    __tablename__ = "order_items"

    id = Column(Integer, primary_key=True, autoincrement=True)
    order_id = Column(String(16), ForeignKey("orders.id"), nullable=False, index=True)
    name = Column(String(64), nullable=False)
    qty = Column(Integer, nullable=False)
    price = Column(Money, nullable=False)

    order: Order = relationship("Order", back_populates="items")


class Refund(Base):
    __tablename__ = "refunds"

    id = Column(Integer, primary_key=True, autoincrement=True)
    order_id = Column(String(16), ForeignKey("orders.id"), nullable=False, index=True)
    amount = Column(Money, nullable=False)
    reason = Column(String(16), nullable=False)  # no_reason / quality / wrong_item / cancel / other
    reason_detail = Column(Text)
    method = Column(String(16), nullable=False)  # where the money goes back to
    status = Column(String(16), nullable=False)  # processing / refunded / rejected
    requested_at = Column(DateTime, nullable=False)
    completed_at = Column(DateTime)
    ticket_id = Column(String(24), ForeignKey("tickets.id"))

    order: Order = relationship("Order", back_populates="refunds")


class WalletTransaction(Base):
    __tablename__ = "wallet_transactions"

    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    occurred_at = Column(DateTime, nullable=False)
    type = Column(String(8), nullable=False)  # 消费 / 充值 / 退款 / 提现
    amount = Column(Money, nullable=False)
    memo = Column(String(128))


class FlightSchedule(Base):
    __tablename__ = "flight_schedule"

    flight_no = Column(String(8), primary_key=True)
    origin = Column(String(16), nullable=False)
    destination = Column(String(16), nullable=False)
    departs_at = Column(String(5), nullable=False)  # "HH:MM", daily
    arrives_at = Column(String(5), nullable=False)


class FlightBooking(Base):
    __tablename__ = "flight_bookings"

    ref = Column(String(6), primary_key=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    passenger = Column(String(32), nullable=False)
    flight_no = Column(String(8), nullable=False)
    origin = Column(String(16), nullable=False)
    destination = Column(String(16), nullable=False)
    departs_at = Column(DateTime, nullable=False)
    cabin = Column(String(8), nullable=False)
    fare = Column(Money, nullable=False)
    status = Column(String(16), nullable=False)  # confirmed / flown / cancelled


class Ticket(Base):
    __tablename__ = "tickets"

    id = Column(String(24), primary_key=True)  # TK + yyyymmdd + sequence
    category = Column(String(24), nullable=False)
    priority = Column(String(8), nullable=False)  # urgent / high / normal / low
    status = Column(String(16), nullable=False)  # open / queued / in_progress / resolved / closed
    sla_due = Column(DateTime, nullable=False)
    customer_id = Column(String(16), ForeignKey("customers.id"), index=True)
    order_id = Column(String(16), ForeignKey("orders.id"))
    booking_ref = Column(String(6), ForeignKey("flight_bookings.ref"))
    conversation_id = Column(String(128), index=True)
    summary = Column(Text, nullable=False)
    context = Column(Text)  # JSON: the recent conversation turns
    created_at = Column(DateTime, nullable=False, index=True)
    updated_at = Column(DateTime, nullable=False)
    # The agent working on it, if any. No foreign key: older stores get the column by ALTER TABLE
    # (the baseline migration), which cannot add constraints on SQLite, and the two must be the same.
    assignee_id = Column(String(16))

    events: List["TicketEvent"] = relationship(
        "TicketEvent", back_populates="ticket", cascade="all, delete-orphan", order_by="TicketEvent.id"
    )


class CallbackNumber(Base):
    """The number to call a caller back on, for a ticket the phone channel opened: sealed
    (business/sealing.py), with the masked form the ticket's notes and the workspace show."""

    __tablename__ = "callback_numbers"

    ticket_id = Column(String(24), ForeignKey("tickets.id"), primary_key=True)
    masked = Column(String(24), nullable=False)
    sealed = Column(Text)  # None: no data key was configured, only the masked form is kept
    created_at = Column(DateTime, nullable=False)


class TicketEvent(Base):
    """One status change or note in a ticket's history."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    ticket_id = Column(String(24), ForeignKey("tickets.id"), nullable=False, index=True)
    at = Column(DateTime, nullable=False)
    status = Column(String(16), nullable=False)
    note = Column(Text, nullable=False)
    agent_id = Column(String(16))  # who wrote it in the workspace (None: the bot or the system)
    for_customer = Column(Boolean)  # the customer sees this note when asking for the ticket's progress

    ticket: Ticket = relationship("Ticket", back_populates="events")


class FaqQuestion(Base):
    """A policy question the assistant was asked, and whether the knowledge base answered it."""

    __tablename__ = "faq_questions"

    id = Column(Integer, primary_key=True, autoincrement=True)
    asked_at = Column(DateTime, nullable=False, index=True)
    conversation_id = Column(String(128))
    channel = Column(String(16))
    question = Column(Text, nullable=False)
    outcome = Column(String(16), nullable=False)  # answered / clarify / not_sure
    document_id = Column(String(64))
    score = Column(Float, nullable=False)


# ---- the human side: agents, the queue, live chats, canned replies, the audit log ----


class Agent(Base):
    """A human agent (坐席) or supervisor who logs in to the workspace."""

    __tablename__ = "agents"

    id = Column(String(16), primary_key=True)  # A001
    login = Column(String(32), unique=True, nullable=False)
    name = Column(String(32), nullable=False)
    password_hash = Column(String(128), nullable=False)  # argon2id
    role = Column(String(12), nullable=False)  # agent / supervisor
    status = Column(String(8), nullable=False, default="offline")  # online / busy / away / offline
    status_since = Column(DateTime)
    last_seen = Column(DateTime)  # the workspace's latest sign of life from this agent
    max_concurrent = Column(Integer, nullable=False, default=3)

    skills: List["AgentSkill"] = relationship(
        "AgentSkill", back_populates="agent", cascade="all, delete-orphan", order_by="AgentSkill.skill_group"
    )

    @property
    def skill_groups(self) -> List[str]:
        return [skill.skill_group for skill in self.skills]


class AgentSkill(Base):
    __tablename__ = "agent_skills"

    agent_id = Column(String(16), ForeignKey("agents.id"), primary_key=True)
    skill_group = Column(String(12), primary_key=True, index=True)  # mall / wallet / travel / complaint

    agent: Agent = relationship("Agent", back_populates="skills")


class LiveChat(Base):
    """One handoff of a conversation to the human side, from the queue to its close."""

    __tablename__ = "live_chats"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(128), nullable=False, index=True)  # the Rasa sender id
    channel = Column(String(16), nullable=False)  # webchat / wechat / phone / rest
    customer_id = Column(String(16), ForeignKey("customers.id"), index=True)
    ticket_id = Column(String(24), ForeignKey("tickets.id"))
    skill_group = Column(String(12), nullable=False, index=True)
    priority = Column(Integer, nullable=False)  # 0 first: complaints and frozen wallets
    reason = Column(String(24), nullable=False)  # asked / complaint / wallet_frozen / not_understood …
    intent = Column(String(64))  # what the customer last wanted from the bot
    # waiting / active / closed / cancelled (by the customer) / expired (nobody accepted in time)
    status = Column(String(12), nullable=False, index=True)
    agent_id = Column(String(16), ForeignKey("agents.id"), index=True)
    queued_at = Column(DateTime, nullable=False, index=True)
    accepted_at = Column(DateTime, index=True)
    closed_at = Column(DateTime, index=True)
    last_customer_at = Column(DateTime)
    last_agent_at = Column(DateTime)
    silence_prompted_at = Column(DateTime)  # the agent was told the customer has gone quiet
    escalated_at = Column(DateTime)  # nobody accepted within the group's SLA
    result = Column(String(12))  # resolved / unresolved / ticket
    rating = Column(Integer)  # 1–5, asked for when the chat closes
    version = Column(Integer, nullable=False, default=0)  # bumped by every change of hands

    agent: Optional[Agent] = relationship("Agent")
    events: List["LiveChatEvent"] = relationship(
        "LiveChatEvent", back_populates="chat", cascade="all, delete-orphan", order_by="LiveChatEvent.id"
    )


class LiveChatEvent(Base):
    """What happened to a live chat: queued, accepted, transferred (with the note), closed …"""

    __tablename__ = "live_chat_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    chat_id = Column(Integer, ForeignKey("live_chats.id"), nullable=False, index=True)
    at = Column(DateTime, nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    agent_id = Column(String(16), ForeignKey("agents.id"))
    detail = Column(Text)

    chat: LiveChat = relationship("LiveChat", back_populates="events")


class CannedReply(Base):
    """快捷回复: a reply an agent inserts with one click; supervisors edit them."""

    __tablename__ = "canned_replies"

    id = Column(Integer, primary_key=True, autoincrement=True)
    skill_group = Column(String(12))  # None: for every group
    title = Column(String(32), nullable=False)
    text = Column(Text, nullable=False)
    updated_by = Column(String(16), ForeignKey("agents.id"))
    updated_at = Column(DateTime, nullable=False)


class AuditEntry(Base):
    """Who saw or changed what: every view of a customer's data and every agent action."""

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime, nullable=False, index=True)
    agent_id = Column(String(16), nullable=False, index=True)  # or "-" for a failed login
    action = Column(String(32), nullable=False)
    subject = Column(String(128))  # a chat, ticket or customer id
    detail = Column(Text)


class AgentSession(Base):
    """A workspace login: the browser holds the token, the store only its SHA-256."""

    __tablename__ = "agent_sessions"
    # A browser's requests of one moment (or a logout) may each remove an expired session; whoever
    # comes second finds it gone, which is no error.
    __mapper_args__ = {"confirm_deleted_rows": False}

    token_hash = Column(String(64), primary_key=True)
    agent_id = Column(String(16), ForeignKey("agents.id"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    last_seen_at = Column(DateTime, nullable=False)

    agent: Agent = relationship("Agent")


# ---- the web chat's own tables (connectors/webchat/transcript.py writes them) ----


class WebchatMessage(Base):
    """One message as the web chat widget drew it (personal data masked), replayed on reload."""

    __tablename__ = "webchat_messages"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(80), nullable=False, index=True)
    message_id = Column(String(32), nullable=False, unique=True)
    role = Column(String(8), nullable=False)  # user | bot | event
    body = Column(Text, nullable=False)  # the widget message as JSON
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow)


class WebchatRating(Base):
    __tablename__ = "webchat_ratings"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(80), nullable=False, index=True)
    customer_id = Column(String(16))
    score = Column(Integer, nullable=False)
    comment = Column(Text)
    created_at = Column(DateTime, nullable=False, default=datetime.utcnow, index=True)


# ---- analytics (analytics/ writes them from the event broker's stream; docs/analytics.md) ----


class AnalyticsEvent(Base):
    """One event of a conversation as the event broker carried it (personal data already masked by
    the tracker store), kept once however often it arrives: a conversation's facts are rebuilt
    from its events, so replaying a stream builds the same facts."""

    __tablename__ = "analytics_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    digest = Column(String(40), nullable=False, unique=True)  # sha1 of the conversation and the event
    conversation_id = Column(String(128), nullable=False, index=True)
    timestamp = Column(Float, nullable=False)
    kind = Column(String(32), nullable=False)
    data = Column(Text, nullable=False)  # the event as JSON


class AnalyticsCursor(Base):
    """How far a consumer has read a source that has positions (the SQL event broker's row id)."""

    __tablename__ = "analytics_cursors"

    source = Column(String(64), primary_key=True)
    position = Column(Integer, nullable=False)


class ConversationFact(Base):
    """One conversation (a Rasa session) as the reports count it."""

    __tablename__ = "conversation_facts"

    key = Column(String(160), primary_key=True)  # conversation id + '@' + the session's first event time
    conversation_id = Column(String(128), nullable=False, index=True)
    customer_id = Column(String(16), index=True)  # when the customer verified
    channel = Column(String(16), nullable=False, index=True)
    started_at = Column(DateTime, nullable=False, index=True)
    ended_at = Column(DateTime, nullable=False)
    customer_messages = Column(Integer, nullable=False)
    bot_messages = Column(Integer, nullable=False)
    topic = Column(String(64))  # the first business intent: what the customer came for
    intents = Column(Text, nullable=False)  # JSON: intent -> messages, while the bot was answering
    fallbacks = Column(Integer, nullable=False)  # messages not understood (nlu_fallback)
    out_of_scope = Column(Integer, nullable=False)
    forms_started = Column(Integer, nullable=False)
    forms_completed = Column(Integer, nullable=False)
    forms_abandoned = Column(Integer, nullable=False)
    left_at_question = Column(String(64))  # the form question the customer left unanswered, if any
    # The bot's reply the conversation ended on, the customer not answering it (not while with an agent).
    left_after = Column(String(64))
    kb_answered = Column(Integer, nullable=False)
    kb_clarified = Column(Integer, nullable=False)
    kb_not_sure = Column(Integer, nullable=False)
    tickets = Column(Integer, nullable=False)
    handed_off = Column(Boolean, nullable=False)
    handoff_reason = Column(String(24))
    skill_group = Column(String(12))
    handoff_status = Column(String(12))  # the live chat's: waiting / active / closed / cancelled / expired
    agent_id = Column(String(16), index=True)
    queued_at = Column(DateTime)
    wait_s = Column(Float)  # queued until an agent accepted
    first_response_s = Column(Float)  # queued until the agent's first message
    handle_s = Column(Float)  # accepted until closed
    result = Column(String(12))  # resolved / unresolved / ticket
    # Times the handoff was transferred to another skill group or agent (its "transferred" live chat
    # events); the store's default 0 is for rows written without it (migration 0003 counts the old ones).
    transfers = Column(Integer, nullable=False, default=0, server_default="0")
    rating = Column(Integer)  # 1–5
    built_at = Column(DateTime, nullable=False)
