"""Handing a conversation to a human agent: queue in service hours, call back outside them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Dict, List, Optional

from sqlalchemy.orm import Session

from business.services.tickets import TicketService
from business.store.models import Ticket

OPENS, CLOSES = time(9, 0), time(21, 0)
CALLBACK_WITHIN = timedelta(hours=2)


def in_service_hours(now: datetime) -> bool:
    return OPENS <= now.time() < CLOSES


def next_opening(now: datetime) -> datetime:
    day = now.date() if now.time() < OPENS else now.date() + timedelta(days=1)
    return datetime.combine(day, OPENS)


@dataclass(frozen=True)
class Handoff:
    ticket: Ticket
    queued: bool
    position: Optional[int]  # place in the agent queue when queued
    callback_after: Optional[datetime]  # when an agent calls back otherwise


class HandoffService:
    def __init__(self, session: Session) -> None:
        self.tickets = TicketService(session)

    def request(
        self,
        reason: str,
        now: datetime,
        *,
        customer_id: Optional[str] = None,
        conversation_id: Optional[str] = None,
        context: Optional[List[Dict[str, Any]]] = None,
        category: str = "handoff",
        order_id: Optional[str] = None,
    ) -> Handoff:
        """Files the handoff ticket and says what happens next."""
        if in_service_hours(now):
            ticket = self.tickets.open(
                category,
                reason,
                now,
                customer_id=customer_id,
                conversation_id=conversation_id,
                context=context,
                order_id=order_id,
                status="queued",
            )
            return Handoff(ticket, True, self.tickets.queue_position(ticket), None)
        opening = next_opening(now)
        ticket = self.tickets.open(
            category,
            reason,
            now,
            customer_id=customer_id,
            conversation_id=conversation_id,
            context=context,
            order_id=order_id,
            sla_due=opening + CALLBACK_WITHIN,
        )
        return Handoff(ticket, False, None, opening)
