"""The customer's rights under PIPL (个人信息保护法): see everything held about them, have it erased;
and conversation data kept no longer than the retention period.

* `export`: profile, orders, refunds, wallet, bookings, tickets, live chats and ratings, and every
  conversation (as stored: masked), as one readable JSON document.
* `erase`: the conversations go from every store (tracker store, event broker, web chat transcript);
  what the figures count stays, without the person (tickets, live chats and ratings lose their
  customer and free text; the profile is anonymised; orders stay, for the accounts, on an id that
  now names nobody).
* `purge`: conversation data older than the retention period (default 180 days) goes the same way.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Optional, Set

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from business import clock
from business.services.agents import AgentError
from business.services.audit import AuditLog
from business.store.db import session_scope
from business.store.models import (
    AnalyticsEvent,
    CallbackNumber,
    ConversationFact,
    Customer,
    FaqQuestion,
    FlightBooking,
    LiveChat,
    Order,
    Refund,
    Ticket,
    WalletTransaction,
    WebchatMessage,
    WebchatRating,
)
from privacy.stores import Stores, events_table, scrub, secure

logger = logging.getLogger(__name__)

RETENTION_DAYS = 180
ERASED_NAME = "已注销用户"
ERASED_TEXT = "（已按客户要求删除）"
EXPIRED_TEXT = "（超过保存期限，已删除）"
CLOSED_TICKETS = ("resolved", "closed")


class NoSuchCustomer(AgentError):
    """No customer has that id (the workspace answers it as any refused request)."""


def plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def unlinked(conversation_id: Optional[str]) -> Optional[str]:
    """A stand-in for an erased conversation's id: still one per conversation (the reports count
    conversations), no longer the channel's id of the person (a visitor, an openid, a phone call)."""
    if not conversation_id:
        return conversation_id
    return "erased:" + hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:24]


def row(record: Any, *skip: str) -> Dict[str, Any]:
    return {c.name: plain(getattr(record, c.name)) for c in record.__table__.columns if c.name not in skip}


@dataclass
class Erased:
    customer_id: str
    conversations: List[str]
    tracker_events: int = 0
    broker_events: int = 0
    webchat_messages: int = 0
    tickets: int = 0
    live_chats: int = 0
    analytics_events: int = 0


@dataclass
class Purged:
    before: str
    tracker_events: int = 0
    broker_events: int = 0
    webchat_messages: int = 0
    ticket_contexts: int = 0
    callback_numbers: int = 0
    faq_links: int = 0
    analytics_events: int = 0
    conversation_facts: int = 0


class CustomerRecords:
    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    # ---- finding the customer's conversations ----

    def conversations(self, session: Session, customer: Customer) -> List[str]:
        """Every conversation id tied to the customer: their live chats and tickets, their web
        chat ratings, their WeChat openid, and every conversation the bot verified them in."""
        found: Set[str] = set()
        for column, owner in (
            (LiveChat.conversation_id, LiveChat.customer_id),
            (Ticket.conversation_id, Ticket.customer_id),
            (WebchatRating.conversation_id, WebchatRating.customer_id),
        ):
            found.update(
                c for c in session.execute(select(column).where(owner == customer.id)).scalars() if c
            )
        if customer.wechat_openid:
            found.add(customer.wechat_openid)
        found.update(self._verified_in(customer.id))
        return sorted(found)

    def _verified_in(self, customer_id: str) -> Set[str]:
        events = events_table(self.stores.tracker)
        if events is None:
            return set()
        assert self.stores.tracker is not None
        query = select(events.c.sender_id, events.c.data).where(
            events.c.type_name == "slot",
            events.c.data.like('%"verified_customer_id"%'),
            events.c.data.like(f'%"{customer_id}"%'),
        )
        with self.stores.tracker.connect() as connection:
            rows = connection.execute(query).all()
        return {
            sender
            for sender, data in rows
            if (event := json.loads(data)).get("name") == "verified_customer_id"
            and event.get("value") == customer_id
        }

    # ---- export ----

    def export(self, customer_id: str, by: str) -> Dict[str, Any]:
        with session_scope(self.stores.business) as session:
            customer = self._customer(session, customer_id)
            AuditLog(session).record(by, "export_customer", clock.now(), subject=customer_id)
            conversations = self.conversations(session, customer)
            orders = list(session.execute(select(Order).where(Order.customer_id == customer_id)).scalars())
            tickets = self._tickets(session, customer_id, conversations)
            chats = list(
                session.execute(
                    select(LiveChat).where(
                        or_(LiveChat.customer_id == customer_id, LiveChat.conversation_id.in_(conversations))
                    )
                ).scalars()
            )
            document: Dict[str, Any] = {
                "说明": "星河智能客服保存的您的个人信息（导出时间见 exported_at）。对话按保存的样子导出：手机号、证件号等已打码。",
                "exported_at": clock.now().isoformat(timespec="seconds"),
                "个人资料": row(customer),
                "订单": [
                    {**row(order), "商品": [row(item, "order_id") for item in order.items]}
                    for order in orders
                ],
                "退款": [
                    row(refund)
                    for refund in session.execute(
                        select(Refund).join(Order).where(Order.customer_id == customer_id)
                    ).scalars()
                ],
                "钱包流水": [
                    row(t)
                    for t in session.execute(
                        select(WalletTransaction).where(WalletTransaction.customer_id == customer_id)
                    ).scalars()
                ],
                "机票": [
                    row(b)
                    for b in session.execute(
                        select(FlightBooking).where(FlightBooking.customer_id == customer_id)
                    ).scalars()
                ],
                "工单": [
                    {**row(t, "context"), "处理记录": [row(e, "ticket_id") for e in t.events]}
                    for t in tickets
                ],
                "人工服务": [{**row(c), "经过": [row(e, "chat_id") for e in c.events]} for c in chats],
                "评价": [
                    row(r)
                    for r in session.execute(
                        select(WebchatRating).where(WebchatRating.conversation_id.in_(conversations))
                    ).scalars()
                ],
            }
        document["对话"] = {conversation: self._transcript(conversation) for conversation in conversations}
        return document

    def _transcript(self, conversation_id: str) -> List[Dict[str, Any]]:
        """What the customer and the bot (or an agent) said, with the time, as stored."""
        events = events_table(self.stores.tracker)
        if events is None:
            return []
        assert self.stores.tracker is not None
        query = (
            select(events.c.type_name, events.c.timestamp, events.c.data)
            .where(events.c.sender_id == conversation_id, events.c.type_name.in_(("user", "bot")))
            .order_by(events.c.id)
        )
        with self.stores.tracker.connect() as connection:
            rows = connection.execute(query).all()
        lines = []
        for kind, timestamp, data in rows:
            event = json.loads(data)
            if event.get("text"):
                by = (
                    "客户"
                    if kind == "user"
                    else ("坐席" if (event.get("metadata") or {}).get("agent_id") else "机器人")
                )
                at = datetime.fromtimestamp(timestamp).isoformat(timespec="seconds") if timestamp else None
                lines.append({"at": at, "by": by, "text": event["text"]})
        return lines

    # ---- erasure ----

    def erase(self, customer_id: str, by: str, reason: str = "") -> Erased:
        with session_scope(self.stores.business) as session:
            secure(session.connection())
            customer = self._customer(session, customer_id)
            conversations = self.conversations(session, customer)
            erased = Erased(customer_id, conversations)
            tickets = self._tickets(session, customer_id, conversations)
            for ticket in tickets:
                ticket.summary, ticket.context, ticket.customer_id = ERASED_TEXT, None, None
                ticket.conversation_id = unlinked(ticket.conversation_id)
                for event in ticket.events:
                    event.note = ERASED_TEXT
                session.execute(delete(CallbackNumber).where(CallbackNumber.ticket_id == ticket.id))
            erased.tickets = len(tickets)
            chats = list(
                session.execute(
                    select(LiveChat).where(
                        or_(LiveChat.customer_id == customer_id, LiveChat.conversation_id.in_(conversations))
                    )
                ).scalars()
            )
            for chat in chats:
                chat.customer_id, chat.conversation_id = None, unlinked(chat.conversation_id)
                for happening in chat.events:
                    happening.detail = None
            erased.live_chats = len(chats)
            session.execute(
                update(FaqQuestion)
                .where(FaqQuestion.conversation_id.in_(conversations))
                .values(conversation_id=None)
            )
            session.execute(
                update(Refund)
                .where(Refund.order_id.in_(select(Order.id).where(Order.customer_id == customer_id)))
                .values(reason_detail=None)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(FlightBooking)
                .where(FlightBooking.customer_id == customer_id)
                .values(passenger=ERASED_NAME)
            )
            customer.name, customer.phone = ERASED_NAME, f"erased:{customer.id}"[:16]
            customer.id_card_last4, customer.wechat_openid = "****", None
            AuditLog(session).record(
                by,
                "erase_customer",
                clock.now(),
                subject=customer_id,
                detail=f"{len(conversations)} 个对话；{reason}"[:500],
            )
        erased.tracker_events = self._delete_events(self.stores.tracker, conversations)
        erased.broker_events = self._delete_events(self.stores.broker, conversations)
        with session_scope(self.stores.business) as session:
            secure(session.connection())
            for rating in session.execute(
                select(WebchatRating).where(WebchatRating.conversation_id.in_(conversations))
            ).scalars():
                rating.customer_id, rating.comment = None, None
                rating.conversation_id = unlinked(rating.conversation_id)
            deleted = session.execute(
                delete(WebchatMessage)
                .where(WebchatMessage.conversation_id.in_(conversations))
                .execution_options(synchronize_session=False)
            )
            erased.webchat_messages = int(deleted.rowcount)
            erased.analytics_events = self._erase_analytics(session, conversations)
        self._scrub()
        logger.info("erased customer %s: %s", customer_id, asdict(erased))
        return erased

    @staticmethod
    def _delete_events(engine: Any, conversations: Iterable[str]) -> int:
        events = events_table(engine)
        ids = list(conversations)
        if events is None or not ids:
            return 0
        with engine.begin() as connection:
            secure(connection)
            return int(connection.execute(delete(events).where(events.c.sender_id.in_(ids))).rowcount)

    @staticmethod
    def _unlink(fact: ConversationFact) -> None:
        """A conversation's facts stay for the figures, under the stand-in id and without the customer."""
        fact.key = f"{unlinked(fact.conversation_id)}@{fact.key.rpartition('@')[2]}"
        fact.conversation_id, fact.customer_id = unlinked(fact.conversation_id), None

    def _erase_analytics(self, session: Session, conversations: List[str]) -> int:
        """The conversations' kept events go, their facts are unlinked; returns the events deleted."""
        for fact in session.execute(
            select(ConversationFact).where(ConversationFact.conversation_id.in_(conversations))
        ).scalars():
            self._unlink(fact)
        deleted = session.execute(
            delete(AnalyticsEvent)
            .where(AnalyticsEvent.conversation_id.in_(conversations))
            .execution_options(synchronize_session=False)
        )
        return int(deleted.rowcount)

    # ---- retention ----

    def purge(self, now: datetime, days: int = RETENTION_DAYS) -> Purged:
        """Removes conversation data older than `days` (business times are the business clock's)."""
        cutoff = now - timedelta(days=days)
        purged = Purged(before=cutoff.isoformat(timespec="seconds"))
        tracker = events_table(self.stores.tracker)
        if tracker is not None:
            assert self.stores.tracker is not None
            with self.stores.tracker.begin() as connection:
                secure(connection)
                purged.tracker_events = int(
                    connection.execute(
                        delete(tracker).where(tracker.c.timestamp < cutoff.timestamp())
                    ).rowcount
                )
        purged.broker_events = self._purge_broker(cutoff)
        with session_scope(self.stores.business) as session:
            secure(session.connection())
            purged.webchat_messages = int(
                session.execute(
                    delete(WebchatMessage)
                    .where(WebchatMessage.created_at < cutoff)
                    .execution_options(synchronize_session=False)
                ).rowcount
            )
            old = select(Ticket.id).where(Ticket.status.in_(CLOSED_TICKETS), Ticket.updated_at < cutoff)
            purged.ticket_contexts = int(
                session.execute(
                    update(Ticket)
                    .where(Ticket.id.in_(old), Ticket.context.is_not(None))
                    .values(context=None)
                    .execution_options(synchronize_session=False)
                ).rowcount
            )
            purged.callback_numbers = int(
                session.execute(
                    delete(CallbackNumber)
                    .where(CallbackNumber.ticket_id.in_(old))
                    .execution_options(synchronize_session=False)
                ).rowcount
            )
            purged.faq_links = int(
                session.execute(
                    update(FaqQuestion)
                    .where(FaqQuestion.asked_at < cutoff, FaqQuestion.conversation_id.is_not(None))
                    .values(conversation_id=None)
                ).rowcount
            )
            purged.analytics_events = int(
                session.execute(
                    delete(AnalyticsEvent)
                    .where(AnalyticsEvent.timestamp < cutoff.timestamp())
                    .execution_options(synchronize_session=False)
                ).rowcount
            )
            old_facts = select(ConversationFact).where(
                ConversationFact.ended_at < cutoff, ConversationFact.conversation_id.not_like("erased:%")
            )
            for fact in session.execute(old_facts).scalars():
                self._unlink(fact)
                purged.conversation_facts += 1
            AuditLog(session).record(
                "system", "purge", now, detail=json.dumps(asdict(purged), ensure_ascii=False)
            )
        self._scrub()
        logger.info("purged conversation data before %s: %s", purged.before, asdict(purged))
        return purged

    def _purge_broker(self, cutoff: datetime) -> int:
        """The broker's rows carry their time only inside the event's JSON."""
        events = events_table(self.stores.broker)
        if events is None:
            return 0
        assert self.stores.broker is not None
        limit = cutoff.timestamp()
        with self.stores.broker.begin() as connection:
            secure(connection)
            old = [
                event_id
                for event_id, data in connection.execute(select(events.c.id, events.c.data))
                if (json.loads(data).get("timestamp") or limit) < limit
            ]
            for start in range(0, len(old), 500):
                connection.execute(delete(events).where(events.c.id.in_(old[start : start + 500])))
        return len(old)

    # ---- helpers ----

    def _scrub(self) -> None:
        for engine in (self.stores.business, self.stores.tracker, self.stores.broker):
            scrub(engine)

    @staticmethod
    def _customer(session: Session, customer_id: str) -> Customer:
        customer: Optional[Customer] = session.get(Customer, customer_id)
        if customer is None:
            raise NoSuchCustomer(f"没有客户 {customer_id}")
        return customer

    @staticmethod
    def _tickets(session: Session, customer_id: str, conversations: List[str]) -> List[Ticket]:
        return list(
            session.execute(
                select(Ticket).where(
                    or_(Ticket.customer_id == customer_id, Ticket.conversation_id.in_(conversations))
                )
            ).scalars()
        )
