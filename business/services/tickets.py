"""Tickets (工单): what the bot cannot finish is filed, prioritised and tracked."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from business.store.models import Ticket, TicketEvent

# category -> (priority, hours until the SLA is due)
CATEGORIES: Dict[str, Tuple[str, int]] = {
    "refund": ("normal", 24),  # a refund waiting for review
    "refund_exception": ("normal", 24),  # a refund outside the rules, for a person to decide
    "logistics": ("normal", 24),
    "complaint": ("high", 24),  # the customer gets a call back within 24 hours
    "account_frozen": ("high", 4),
    "identity": ("high", 4),  # verification failed three times
    "handoff": ("normal", 2),
    "flight_change": ("normal", 24),  # the record of a completed rebooking (status resolved)
    "flight_refund": ("normal", 24),  # the record of a completed flight cancellation (status resolved)
}
CATEGORY_NAMES = {
    "refund": "退款申请",
    "refund_exception": "售后申请（需人工审核）",
    "logistics": "物流异常",
    "complaint": "投诉",
    "account_frozen": "账户解冻",
    "identity": "身份核验",
    "handoff": "人工服务",
    "flight_change": "机票改签",
    "flight_refund": "机票退票",
}
STATUS_NAMES = {
    "open": "待处理",
    "queued": "排队等待人工",
    "in_progress": "处理中",
    "resolved": "已解决",
    "closed": "已关闭",
}
OPEN_STATUSES = ("open", "queued", "in_progress")
# What an agent may set; "queued" belongs to the live queue.
AGENT_STATUSES = ("open", "in_progress", "resolved", "closed")
# The skill group whose agents work a ticket of each category.
GROUP_OF_CATEGORY: Dict[str, str] = {
    "refund": "mall",
    "refund_exception": "mall",
    "logistics": "mall",
    "handoff": "mall",
    "complaint": "complaint",
    "account_frozen": "wallet",
    "identity": "wallet",
    "flight_change": "travel",
    "flight_refund": "travel",
}


class TicketService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open(
        self,
        category: str,
        summary: str,
        now: datetime,
        *,
        customer_id: Optional[str] = None,
        order_id: Optional[str] = None,
        booking_ref: Optional[str] = None,
        conversation_id: Optional[str] = None,
        context: Optional[List[Dict[str, Any]]] = None,
        status: str = "open",
        sla_due: Optional[datetime] = None,
    ) -> Ticket:
        priority, hours = CATEGORIES[category]
        ticket = Ticket(
            category=category,
            priority=priority,
            status=status,
            sla_due=sla_due or now + timedelta(hours=hours),
            customer_id=customer_id,
            order_id=order_id,
            booking_ref=booking_ref,
            conversation_id=conversation_id,
            summary=summary,
            context=json.dumps(context or [], ensure_ascii=False),
            created_at=now,
            updated_at=now,
        )
        ticket.events.append(TicketEvent(at=now, status=status, note=f"创建工单：{summary}"))
        # Two processes may pick the same next number; the primary key settles it.
        for _ in range(5):
            ticket.id = self._next_id(now)
            try:
                with self.session.begin_nested():
                    self.session.add(ticket)
                return ticket
            except IntegrityError:
                continue
        raise RuntimeError("could not allocate a ticket id")

    def _next_id(self, now: datetime) -> str:
        prefix = f"TK{now:%Y%m%d}"
        last = self.session.execute(
            select(Ticket.id).where(Ticket.id.like(prefix + "%")).order_by(Ticket.id.desc()).limit(1)
        ).scalar_one_or_none()
        number = int(last[len(prefix) :]) + 1 if last else 1
        return f"{prefix}{number:03d}"

    def find(self, ticket_id: str) -> Optional[Ticket]:
        ticket: Optional[Ticket] = self.session.get(Ticket, ticket_id)
        return ticket

    def open_for(self, customer_id: str, category: str, order_id: Optional[str] = None) -> Optional[Ticket]:
        """The customer's still-open ticket of this kind, so one problem makes one ticket."""
        query = select(Ticket).where(
            Ticket.customer_id == customer_id,
            Ticket.category == category,
            Ticket.status.in_(OPEN_STATUSES),
        )
        if order_id:
            query = query.where(Ticket.order_id == order_id)
        ticket: Optional[Ticket] = self.session.execute(
            query.order_by(Ticket.created_at.desc()).limit(1)
        ).scalar_one_or_none()
        return ticket

    def set_status(
        self,
        ticket: Ticket,
        status: str,
        note: str,
        now: datetime,
        *,
        agent_id: Optional[str] = None,
        for_customer: bool = False,
    ) -> None:
        ticket.status = status
        ticket.updated_at = now
        ticket.events.append(
            TicketEvent(
                at=now, status=status, note=note, agent_id=agent_id, for_customer=for_customer or None
            )
        )

    # ---- the agents' side (the workspace) ----

    def worklist(
        self,
        now: datetime,
        *,
        statuses: Sequence[str] = OPEN_STATUSES,
        priority: Optional[str] = None,
        groups: Optional[Sequence[str]] = None,
        overdue_only: bool = False,
        assignee_id: Optional[str] = None,
        limit: int = 200,
    ) -> List[Ticket]:
        """Tickets to work on, the most urgent SLA first; `groups` limits them to those skill groups."""
        query = select(Ticket).where(Ticket.status.in_(list(statuses)))
        if priority:
            query = query.where(Ticket.priority == priority)
        if groups is not None:
            categories = [c for c, group in GROUP_OF_CATEGORY.items() if group in groups]
            query = query.where(Ticket.category.in_(categories))
        if overdue_only:  # only a ticket still to be worked on can be late
            query = query.where(Ticket.sla_due < now, Ticket.status.in_(OPEN_STATUSES))
        if assignee_id:
            query = query.where(Ticket.assignee_id == assignee_id)
        return list(self.session.execute(query.order_by(Ticket.sla_due, Ticket.id).limit(limit)).scalars())

    def assign(self, ticket: Ticket, agent_id: Optional[str], note: str, now: datetime, by: str) -> None:
        ticket.assignee_id = agent_id
        self.set_status(ticket, ticket.status, note, now, agent_id=by)

    @staticmethod
    def latest_note_for_customer(ticket: Ticket) -> Optional[str]:
        notes = [event.note for event in ticket.events if event.for_customer]
        return notes[-1] if notes else None
