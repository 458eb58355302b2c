"""Handing a conversation to a human agent: the live queue when someone can take it, a call back
otherwise (outside service hours, or when no agent of the customer's group is online)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Dict, List, Optional

from sqlalchemy.orm import Session

from business.services.live_chat import HandoffFacts, LiveChatService, route
from business.services.tickets import TicketService
from business.store.models import LiveChat, Ticket

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
    chat: Optional[LiveChat]  # the live chat waiting for an agent, when queued
    position: Optional[int]  # place in the group's queue when queued
    wait_minutes: Optional[int]  # the estimate given to the customer when queued
    callback_after: Optional[datetime]  # when an agent calls back otherwise
    in_hours: bool

    @property
    def queued(self) -> bool:
        return self.chat is not None


class HandoffService:
    def __init__(self, session: Session) -> None:
        self.tickets = TicketService(session)
        self.live = LiveChatService(session)

    def request(
        self,
        reason: str,
        now: datetime,
        *,
        facts: HandoffFacts,
        conversation_id: str,
        channel: str,
        customer_id: Optional[str] = None,
        context: Optional[List[Dict[str, Any]]] = None,
        order_id: Optional[str] = None,
    ) -> Handoff:
        """Files the handoff ticket and says what happens next."""
        routing = route(facts)
        ticket_fields: Dict[str, Any] = {
            "customer_id": customer_id,
            "conversation_id": conversation_id,
            "context": context,
            "order_id": order_id,
        }
        if in_service_hours(now) and self.live.can_queue(routing.skill_group, now):
            ticket = self.tickets.open(facts.category, reason, now, status="queued", **ticket_fields)
            place = self.live.enqueue(
                conversation_id, channel, routing, now, customer_id=customer_id, ticket=ticket
            )
            return Handoff(ticket, place.chat, place.position, place.wait_minutes, None, True)
        if in_service_hours(now):  # nobody of the group online: a call back within the promise
            due = now + CALLBACK_WITHIN
            ticket = self.tickets.open(facts.category, reason, now, sla_due=due, **ticket_fields)
            return Handoff(ticket, None, None, None, due, True)
        opening = next_opening(now)
        ticket = self.tickets.open(
            facts.category, reason, now, sla_due=opening + CALLBACK_WITHIN, **ticket_fields
        )
        return Handoff(ticket, None, None, None, opening, False)
